#!/usr/bin/env bash
# Rebuild and restart openclaw-ipc on Linux for one state dir, idempotently and one run at a time.
#   scripts/restart-linux.sh [--role up|gateway|node|app] [--no-build] [--no-service]
# Steps, under an exclusive flock(1) on <state dir>/restart.lock (a second run waits for the first):
#   1. stop: the systemd user unit if installed, then whatever still holds this state dir's lock files,
#      by the pid in them (`openclaw-ipc stop`; never by process name);
#   2. build (npm run build) and package (dist/ and the addon in build/Release);
#   3. (re)write and (re)start: `openclaw-ipc service install --role R` (a systemd user unit), or with
#      --no-service (no user manager, e.g. in a container) start `openclaw-ipc <role>` detached, logging to
#      <state dir>/logs/, and wait until it holds the state-dir lock.
# Environment: OPENCLAW_STATE_DIR (default ~/.openclaw), NODE (default node on PATH). Exit 0 when running.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
role=up build=1 service=1
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role=${2:?--role needs a value}; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-service) service=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "restart-linux.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$role" in up|gateway|node|app) ;; *) echo "restart-linux.sh: --role must be up|gateway|node|app" >&2; exit 2 ;; esac

state_dir=${OPENCLAW_STATE_DIR:-$HOME/.openclaw}
export OPENCLAW_STATE_DIR=$state_dir
node_bin=${NODE:-node}
cli=("$node_bin" "$repo/dist/cli/main.js")
mkdir -p "$state_dir" && chmod 700 "$state_dir"

# One restart at a time per state dir: take the lock, or wait for the run that holds it. fd 9 is closed
# for the instance started below, so the lock ends with this script.
exec 9>>"$state_dir/restart.lock"
flock --exclusive 9

log() { printf '[restart-linux %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
unit=$(case "$role" in up) echo openclaw-ipc ;; gateway) echo openclaw-gateway ;; node) echo openclaw-node ;; app) echo openclaw-ipc-app ;; esac)
unit_file="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$unit.service"

# 1. stop
if [ -f "$unit_file" ] && systemctl --user show "$unit.service" >/dev/null 2>&1; then
  log "stopping $unit.service"
  systemctl --user stop "$unit.service" || true
fi
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
[ -f "$repo/dist/cli/main.js" ] || { echo "restart-linux.sh: $repo/dist/cli/main.js is missing (build first)" >&2; exit 1; }

# 3. (re)write and (re)start
if [ "$service" = 1 ]; then
  log "installing and starting the $role service"
  "${cli[@]}" service install --role "$role"
  exit 0
fi
mkdir -p "$state_dir/logs"
# The same log files the service writes (openclaw-ipc logs reads them): up → ipc.log, app → mac.log.
logname=$(case "$role" in up) echo ipc ;; app) echo mac ;; *) echo "$role" ;; esac)
args=("$role")
case "$role" in gateway|node) args+=(run) ;; esac
log "starting openclaw-ipc ${args[*]} in the background"
setsid "${cli[@]}" "${args[@]}" </dev/null >>"$state_dir/logs/$logname.log" 2>>"$state_dir/logs/$logname.err.log" 9>&- &
pid=$!
# Ready when it holds its lock files (up: both; the exec host's is taken after the Gateway's).
locks=()
case "$role" in
  up) locks=("$state_dir/gateway.lock" "$state_dir/exec-approvals.lock") ;;
  gateway) locks=("$state_dir/gateway.lock") ;;
  app) locks=("$state_dir/exec-approvals.lock") ;;
  node) log "node host started (pid $pid)"; exit 0 ;;
esac
holds_all() { for f in "${locks[@]}"; do grep -q "\"pid\":$pid[,}]" "$f" 2>/dev/null || return 1; done; }
for _ in $(seq 1 300); do
  if holds_all; then log "running (pid $pid)"; exit 0; fi
  kill -0 "$pid" 2>/dev/null || { echo "restart-linux.sh: openclaw-ipc $role exited; see $state_dir/logs/$logname.err.log" >&2; exit 1; }
  sleep 0.1
done
echo "restart-linux.sh: openclaw-ipc $role (pid $pid) did not take ${locks[*]} within 30 s" >&2
exit 1
