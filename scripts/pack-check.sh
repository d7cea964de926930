#!/usr/bin/env bash
# Proves the published package works without a compiler: build the prebuild, `npm pack`, install the
# tarball into an empty folder with PREBUILDS_ONLY=1 and a PATH that has node/npm but no cc, c++, make or
# python, then import the package and call the native API on a real socket. Exits non-zero on any failure.
#   SKIP_PREBUILDIFY=1  reuse prebuilds/ as it is (CI that built it already)
#   KEEP_PACK_DIR=1     leave the temp folder for inspection
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$(mktemp -d "${TMPDIR:-/tmp}/ocipc-pack-XXXXXX")"
cleanup() { if [ "${KEEP_PACK_DIR:-0}" != 1 ]; then rm -rf "$work"; else echo "pack-check: kept $work"; fi; }
trap cleanup EXIT
fail() { echo "pack-check: FAIL: $*" >&2; exit 1; }

if [ "${SKIP_PREBUILDIFY:-0}" != 1 ]; then
  npm run --silent prebuildify >"$work/prebuildify.log" 2>&1 || { cat "$work/prebuildify.log" >&2; fail "prebuildify"; }
fi
prebuild="prebuilds/linux-x64/openclaw-ipc.node"
[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ] || [ -f "$prebuild" ] || fail "missing $prebuild"

tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$work/$tarball" ] || fail "npm pack produced no tarball"
listing="$(tar -tzf "$work/$tarball")"
for required in package/dist/index.js package/dist/index.d.ts package/binding.gyp package/native/addon.cc "package/$prebuild" \
  package/dist/control-ui/index.html; do
  grep -qx "$required" <<<"$listing" || fail "tarball lacks $required"
done
grep -qE '^package/dist/control-ui/assets/app-[0-9a-f]+\.js$' <<<"$listing" || fail "tarball lacks the control page script"
if grep -q '^package/build/' <<<"$listing"; then fail "tarball ships a local build/ directory"; fi
# A from-source build on any OS (e.g. macOS, where no prebuild ships) needs every source binding.gyp
# names under any condition, plus the headers they include.
gyp_sources="$(python3 -c '
import ast, sys
t = ast.literal_eval(open("binding.gyp").read())["targets"][0]
print("\n".join(t.get("sources", []) + [s for c in t.get("conditions", []) for s in c[1].get("sources", [])]))')"
while IFS= read -r src; do
  [ -n "$src" ] && { grep -qx "package/$src" <<<"$listing" || fail "tarball lacks $src (listed in binding.gyp)"; }
done <<<"$gyp_sources"
for header in native/platform.h native/posix/spawn.h native/posix/sha256.h; do
  grep -qx "package/$header" <<<"$listing" || fail "tarball lacks $header"
done

# A PATH with only node, npm and sh: any attempt to compile fails instead of silently succeeding.
bin="$work/bin"
mkdir -p "$bin"
ln -s "$(command -v node)" "$bin/node"
ln -s "$(command -v sh)" "$bin/sh"  # npm runs lifecycle scripts with sh
ln -s "$(readlink -f "$(command -v npm)")" "$bin/npm"
for tool in cc gcc g++ c++ clang make python python3; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then fail "$tool is still reachable on the restricted PATH"; fi
done

app="$work/app"
mkdir -p "$app"
cd "$app"
printf '{ "name": "pack-check-app", "version": "1.0.0", "private": true, "type": "module" }\n' >package.json
env -i HOME="$work/home" PATH="$bin" PREBUILDS_ONLY=1 npm_config_cache="${npm_config_cache:-$HOME/.npm}" \
  npm install --no-audit --no-fund --prefer-offline "$work/$tarball" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "npm install of the tarball (no compiler on PATH)"; }
[ ! -d node_modules/openclaw-ipc/build ] || fail "install compiled from source instead of using the prebuild"

cat >check.mjs <<'JS'
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ipc from 'openclaw-ipc';

const must = (cond, what) => { if (!cond) { console.error(`pack-check: ${what}`); process.exit(1); } };
must(ipc.isNativeAvailable(), 'native addon did not load from prebuilds/');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-packchk-'));
const sockPath = path.join(dir, 's.sock');
const server = net.createServer();
await new Promise((resolve) => server.listen(sockPath, resolve));
const accepted = new Promise((resolve) => server.once('connection', resolve));
const client = net.connect(sockPath);
const conn = await accepted;
const cred = ipc.peerCredentials(conn);
must(cred.pid === process.pid && cred.uid === process.getuid() && cred.gid === process.getgid(),
  `peerCredentials ${JSON.stringify(cred)}`);
must(ipc.peerUid(conn) === process.getuid(), 'peerUid');
const id = await ipc.codeIdentity(conn);
must(id.executable === fs.realpathSync(process.execPath) && /^[0-9a-f]{64}$/.test(id.sha256 ?? ''),
  `codeIdentity ${JSON.stringify(id)}`);
const team = await ipc.verifyTeamId(conn, ['ABCDE12345']);
must(team.ok === false, 'verifyTeamId must fail closed on Linux');
must(await ipc.permissions.status('camera') === 'not-applicable', 'permissions');
const run = await ipc.nativeSpawn({ file: '/bin/echo', argv: ['echo', 'packed'], env: {} });
must(run.exitCode === 0 && run.stdout.toString() === 'packed\n', 'nativeSpawn');
client.destroy(); conn.destroy(); server.close();
// The control page ships built: the installed package's Gateway serves it.
const gateway = await ipc.startGateway({ port: 0, stateDir: path.join(dir, 'state'), env: {}, watchConfig: false });
const page = await fetch(`http://127.0.0.1:${gateway.port}/`);
const html = await page.text();
const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
must(page.status === 200 && script, `control page: HTTP ${page.status}`);
must((await fetch(`http://127.0.0.1:${gateway.port}${script}`)).status === 200, 'control page script');
await gateway.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(`pack-check: ok (pid ${cred.pid}, uid ${cred.uid}, exe ${id.executable})`);
JS
env -i HOME="$work/home" PATH="$bin" PREBUILDS_ONLY=1 node check.mjs || fail "API check in the installed package"

# Importing must not load (or throw on) the addon: the loader is lazy.
env -i HOME="$work/home" PATH="$bin" node --input-type=module \
  -e "import('openclaw-ipc').then(() => console.log('pack-check: import is lazy'))" || fail "import threw"
