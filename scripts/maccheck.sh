#!/usr/bin/env bash
# Compile-check every source the macOS build compiles, on Linux, with the shared maccheck tool
# (../shared/tools/maccheck): for each macOS arch, a -fsyntax-only check and a full --obj compile per
# file, then a symbol check across the objects (every platform.h function the addon calls is defined by
# exactly one object: the closest thing to a link step that is possible without a Mac).
#
# Usage: scripts/maccheck.sh [FILE...]   (default: the sources binding.gyp builds on OS=='mac')
# env:   MACCHECK_DIR   the maccheck tool folder (default: ../shared/tools/maccheck next to the repo)
#        MACCHECK_ARCHS archs to check (default: "arm64 x86_64", the two halves of a universal build)
#        NODE_HEADERS   Node's include dir (default: <node prefix>/include/node, as node-gyp would use)
#        MACCHECK_GYP   the gyp file to read (default: binding.gyp; tests point it at a variant)
# The file list, defines and deployment target are read from binding.gyp, never duplicated here.
# Prints one line per check, then "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="${MACCHECK_DIR:-$REPO/../shared/tools/maccheck}"
[ -f "$TOOL/check.sh" ] || { echo "maccheck.sh: maccheck tool not found (set MACCHECK_DIR)" >&2; exit 2; }
NM="${MACCHECK_NM:-llvm-nm-16}"
GYP="${MACCHECK_GYP:-$REPO/binding.gyp}"

# binding.gyp is a Python literal: read the mac view of it (common + OS=='mac' sources and defines).
gyp_mac() {
  python3 - "$GYP" "$1" <<'EOF'
import ast, sys
gyp = ast.literal_eval(open(sys.argv[1]).read())
t = gyp["targets"][0]
mac = [c[1] for c in t.get("conditions", []) if c[0].replace('"', "'") == "OS=='mac'"]
want = sys.argv[2]
if want == "sources":
    print("\n".join(t.get("sources", []) + [s for m in mac for s in m.get("sources", [])]))
elif want == "defines":
    print("\n".join(t.get("defines", []) + [d for m in mac for d in m.get("defines", [])]))
elif want == "deploy":
    print(next((m["xcode_settings"]["MACOSX_DEPLOYMENT_TARGET"] for m in mac
                if "MACOSX_DEPLOYMENT_TARGET" in m.get("xcode_settings", {})), ""))
EOF
}

deploy="$(gyp_mac deploy)"
[ -n "$deploy" ] || { echo "maccheck.sh: no MACOSX_DEPLOYMENT_TARGET in binding.gyp" >&2; exit 2; }
node_headers="${NODE_HEADERS:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node}"
[ -f "$node_headers/node_api.h" ] || { echo "maccheck.sh: node_api.h not found in $node_headers (set NODE_HEADERS)" >&2; exit 2; }
addon_api="$(cd "$REPO" && node -p "require('node-addon-api').include_dir")"
case "$addon_api" in /*) ;; *) addon_api="$REPO/$addon_api" ;; esac

# node_addon_api_except (binding.gyp's dependency) adds NAPI_CPP_EXCEPTIONS; node-gyp adds BUILDING_NODE_EXTENSION.
# No -I native/: node-gyp and cmake-js do not add it, so every #include "..." must resolve from its own file.
flags=(-I "$addon_api" -I "$node_headers" -DNAPI_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION
       -fvisibility=hidden -fstack-protector-strong -Wextra -Wno-unused-parameter
       -Wno-unused-command-line-argument -Werror)
while IFS= read -r d; do [ -n "$d" ] && flags+=("-D$d"); done < <(gyp_mac defines)

files=()
if [ $# -gt 0 ]; then files=("$@")
else while IFS= read -r s; do [ -n "$s" ] && files+=("$REPO/$s"); done < <(gyp_mac sources)
fi
[ ${#files[@]} -gt 0 ] || { echo "maccheck.sh: no files to check" >&2; exit 2; }

out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   : $*"; }
bad() { fail=$((fail+1)); echo "FAIL : $*"; }
echo "maccheck: tool $TOOL; binding.gyp deployment target $deploy; archs ${MACCHECK_ARCHS:-arm64 x86_64}"
echo "maccheck: flags ${flags[*]}"
for arch in ${MACCHECK_ARCHS:-arm64 x86_64}; do
  target="$arch-apple-macos$deploy"
  objs=()
  for f in "${files[@]}"; do
    rel="${f#"$REPO"/}"
    [ -f "$f" ] || { bad "$target missing $rel (listed in binding.gyp)"; continue; }
    if MACCHECK_TARGET="$target" bash "$TOOL/check.sh" "$f" "${flags[@]}" >"$out/log" 2>&1; then ok "$target syntax $rel"
    else bad "$target syntax $rel"; sed 's/^/       /' "$out/log"; fi
    obj="$out/$arch.$(basename "$f").o"
    if MACCHECK_TARGET="$target" bash "$TOOL/check.sh" --obj "$obj" "$f" "${flags[@]}" >"$out/log" 2>&1 &&
       file "$obj" | grep -q "Mach-O"; then ok "$target obj    $rel ($(file -b "$obj" | cut -d, -f1))"; objs+=("$obj")
    else bad "$target obj    $rel"; sed 's/^/       /' "$out/log"; fi
  done
  # Symbol check: every oc_* function some object needs is defined by exactly one object.
  if [ $# -eq 0 ] && [ ${#objs[@]} -eq ${#files[@]} ] && command -v "$NM" >/dev/null; then
    # POSIX format "name type value size": U = undefined, upper-case T/D/S = defined with external linkage.
    "$NM" -P "${objs[@]}" 2>/dev/null | awk '$1 ~ /^_oc_/ && $2 ~ /^[TDS]$/ {print $1}' | sort > "$out/def"
    "$NM" -P "${objs[@]}" 2>/dev/null | awk '$1 ~ /^_oc_/ && $2 == "U" {print $1}' | sort -u > "$out/undef"
    missing="$(comm -23 "$out/undef" <(sort -u "$out/def") | tr '\n' ' ')"
    dups="$(uniq -d "$out/def" | tr '\n' ' ')"
    if [ -z "$missing" ] && [ -z "$dups" ]; then ok "$target symbols: $(wc -l < "$out/undef") oc_* functions referenced, all defined once ($(wc -l < "$out/def") defined)"
    else bad "$target symbols: undefined [${missing}] duplicated [${dups}]"; fi
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
