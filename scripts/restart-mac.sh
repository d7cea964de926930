#!/usr/bin/env bash
# Rebuild, sign and restart openclaw-ipc as a LaunchAgent on macOS, idempotently and one run at a time.
#   SIGN_IDENTITY="Developer ID Application: …" scripts/restart-mac.sh [--role up|gateway|node|app] [--no-build]
# Steps, holding an exclusive lockf(1) lock on <state dir>/restart.lock (a second run waits for the first):
#   1. stop: `launchctl bootout gui/<uid>/<label>` (KeepAlive would restart a killed process), then whatever
#      still holds this state dir's lock files, by the pid in them (`openclaw-ipc stop`; never by name);
#   2. build (npm run build) and package: codesign the addon and every helper executable in build/Release
#      with $SIGN_IDENTITY (hardened runtime, timestamp) and verify the signatures; without SIGN_IDENTITY
#      they keep the linker's ad-hoc signature (no TeamID: peers that pin a TeamID will refuse them);
#   3. (re)write the plist and (re)start it: `openclaw-ipc service install --role R` (bootout, enable,
#      bootstrap gui/<uid>, kickstart -k). The plist's program path is the same on every run, so TCC grants
#      made to it persist.
# Environment: OPENCLAW_STATE_DIR (default ~/.openclaw), NODE (default node on PATH), SIGN_IDENTITY.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
role=up build=1
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role=${2:?--role needs a value}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "restart-mac.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$role" in
  up) label=ai.openclaw.ipc ;;
  gateway) label=ai.openclaw.gateway ;;
  node) label=ai.openclaw.node ;;
  app) label=ai.openclaw.mac ;;
  *) echo "restart-mac.sh: --role must be up|gateway|node|app" >&2; exit 2 ;;
esac

state_dir=${OPENCLAW_STATE_DIR:-$HOME/.openclaw}
export OPENCLAW_STATE_DIR=$state_dir
node_bin=${NODE:-node}
cli=("$node_bin" "$repo/dist/cli/main.js")
mkdir -p "$state_dir" && chmod 700 "$state_dir"

# One restart at a time per state dir (macOS has lockf(1), not flock(1)).
if [ "${OPENCLAW_RESTART_LOCKED:-}" != "$state_dir" ]; then
  exec env OPENCLAW_RESTART_LOCKED="$state_dir" lockf -k "$state_dir/restart.lock" "$0" ${args[@]+"${args[@]}"}
fi

log() { printf '[restart-mac %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
domain="gui/$(id -u)"

# 1. stop
log "booting out $domain/$label (if loaded)"
launchctl bootout "$domain/$label" 2>/dev/null || true
if [ -f "$repo/dist/cli/main.js" ]; then
  "${cli[@]}" stop --timeout 20000
else
  log "no dist/ yet: nothing from this checkout can be running"
fi

# 2. build and package
if [ "$build" = 1 ]; then
  log "building"
  (cd "$repo" && npm run --silent build)
fi
[ -f "$repo/dist/cli/main.js" ] || { echo "restart-mac.sh: $repo/dist/cli/main.js is missing (build first)" >&2; exit 1; }
if [ -n "${SIGN_IDENTITY:-}" ]; then
  signed=0
  while IFS= read -r -d '' file; do
    log "signing $file"
    codesign --force --timestamp --options runtime --sign "$SIGN_IDENTITY" "$file"
    codesign --verify --strict --verbose=1 "$file"
    signed=$((signed + 1))
  done < <(find "$repo/build/Release" -maxdepth 1 -type f \( -name '*.node' -o -perm -u+x \) -print0)
  [ "$signed" -gt 0 ] || { echo "restart-mac.sh: nothing to sign in $repo/build/Release" >&2; exit 1; }
else
  log "SIGN_IDENTITY is not set: the addon keeps its ad-hoc signature (no TeamID)"
fi

# 3. (re)write and (re)start
log "installing and starting $label"
"${cli[@]}" service install --role "$role"
