#!/usr/bin/env bash
# Compile-check every source the macOS build compiles, on Linux, with the shared maccheck tool
# (../shared/tools/maccheck): -fsyntax-only and a full --obj compile per file, for each macOS arch.
#
# Usage: scripts/maccheck.sh [FILE...]          (default: native/mac/* + native/posix/* + native/addon.cc)
# env:   MACCHECK_DIR   the maccheck tool folder (default: ../shared/tools/maccheck next to the repo)
#        MACCHECK_ARCHS archs to check (default: "arm64 x86_64", the two halves of a universal build)
#        NODE_HEADERS   Node's include dir (default: <node prefix>/include/node, as node-gyp would use)
# The deployment target is read from binding.gyp (MACOSX_DEPLOYMENT_TARGET), never hard-coded here.
# Prints one line per file and check, then "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="${MACCHECK_DIR:-$REPO/../shared/tools/maccheck}"
[ -f "$TOOL/check.sh" ] || TOOL=/work/shared/tools/maccheck
[ -f "$TOOL/check.sh" ] || { echo "maccheck.sh: maccheck tool not found (set MACCHECK_DIR)" >&2; exit 2; }

deploy="$(sed -n 's/.*"MACOSX_DEPLOYMENT_TARGET": *"\([0-9.]*\)".*/\1/p' "$REPO/binding.gyp" | head -1)"
[ -n "$deploy" ] || { echo "maccheck.sh: no MACOSX_DEPLOYMENT_TARGET in binding.gyp" >&2; exit 2; }

node_headers="${NODE_HEADERS:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node}"
[ -f "$node_headers/node_api.h" ] || { echo "maccheck.sh: node_api.h not found in $node_headers (set NODE_HEADERS)" >&2; exit 2; }
addon_api="$(cd "$REPO" && node -p "require('node-addon-api').include_dir")"
case "$addon_api" in /*) ;; *) addon_api="$REPO/$addon_api" ;; esac

# The same defines binding.gyp passes (node_addon_api_except adds NAPI_CPP_EXCEPTIONS).
flags=(-I "$addon_api" -I "$node_headers" -I "$REPO/native" -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS
       -DBUILDING_NODE_EXTENSION -fvisibility=hidden -fstack-protector-strong -Werror)

if [ $# -gt 0 ]; then files=("$@")
else
  shopt -s nullglob
  files=("$REPO"/native/mac/*.mm "$REPO"/native/mac/*.cc "$REPO"/native/posix/*.cc "$REPO"/native/addon.cc)
fi
[ ${#files[@]} -gt 0 ] || { echo "maccheck.sh: no files to check" >&2; exit 2; }

out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
pass=0; fail=0
echo "maccheck: tool $TOOL, deployment target $deploy, archs ${MACCHECK_ARCHS:-arm64 x86_64}"
for arch in ${MACCHECK_ARCHS:-arm64 x86_64}; do
  target="$arch-apple-macos$deploy"
  for f in "${files[@]}"; do
    rel="${f#"$REPO"/}"
    for mode in syntax obj; do
      args=("$f"); [ "$mode" = obj ] && args=(--obj "$out/$(basename "$f").$arch.o" "$f")
      if MACCHECK_TARGET="$target" bash "$TOOL/check.sh" "${args[@]}" "${flags[@]}" >"$out/log" 2>&1; then
        pass=$((pass+1)); echo "ok   : $target $mode $rel"
      else
        fail=$((fail+1)); echo "FAIL : $target $mode $rel"; sed 's/^/       /' "$out/log"
      fi
    done
    # Any warning is reported (the -Werror above already turns them into failures).
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
