{
  "targets": [
    {
      "target_name": "openclaw_ipc",
      "sources": ["native/addon.cc", "native/posix/requirement.cc", "native/posix/sha256.cc", "native/posix/flock.cc", "native/posix/socket-state.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-fvisibility=hidden", "-fstack-protector-strong", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fvisibility=hidden", "-fstack-protector-strong", "-std=c++17"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/linux/peercred.cc", "native/linux/codeident.cc", "native/linux/tcc.cc",
            "native/linux/procwatch.cc", "native/posix/spawn.cc"
          ],
          "defines": ["OC_HAVE_SPAWN=1"]
        }],
        ["OS=='mac'", {
          "sources": [
            "native/mac/peercred.mm", "native/mac/codesign.mm", "native/mac/tcc.mm",
            "native/mac/procwatch.cc", "native/posix/spawn.cc"
          ],
          "defines": ["OC_HAVE_SPAWN=1"],
          "xcode_settings": {
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "OTHER_CFLAGS": ["-fstack-protector-strong"]
          },
          "link_settings": {
            "libraries": [
              "-framework Security", "-framework CoreFoundation", "-framework Foundation",
              "-framework AVFoundation", "-framework Speech", "-framework UserNotifications",
              "-framework ApplicationServices", "-framework CoreGraphics", "-lbsm"
            ]
          }
        }]
      ]
    }
  ]
}
