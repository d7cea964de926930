// Peers that run as another uid (65534). Such a peer can only use files it can reach, and a checkout in
// a private (0700) folder, such as a home directory, is not reachable: neither its sources, its
// node_modules (tap's own hooks in NODE_OPTIONS live there), its addon, nor a node binary kept inside it.
// Everything a peer runs is therefore staged in a per-test 0755 directory under os.tmpdir(), removed
// at teardown, and peers start in `/` with tap's NODE_OPTIONS removed.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { buildSync } from 'esbuild';

export const OTHER_UID = 65534;
export const otherUidAvailable = process.getuid?.() === 0;
export const skipOtherUid = otherUidAvailable ? false : 'needs root to run a peer as uid 65534';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** node-gyp-build's own lookup of the addon this checkout loads (prebuilds/ or build/). */
const addonPath = (createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string }).path;

interface Teardown {
  teardown(fn: () => void): void;
}

/** A fresh 0755 directory under os.tmpdir() that another uid can enter; removed at teardown. */
export function reachableDir(t: Teardown, prefix = 'ocipc-peer-'): string {
  // Not t.testdir(): another uid must enter it, which a private (0700) checkout would not let it do.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Whether a user with no special rights can execute `file`: o+x on it and on every directory above it. */
export function reachableByOthers(file: string): boolean {
  let current = path.resolve(file);
  try {
    if ((fs.statSync(current).mode & 0o001) === 0) return false;
    while (current !== path.dirname(current)) {
      current = path.dirname(current);
      if ((fs.statSync(current).mode & 0o001) === 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Hard-links `file` into `dir` (same file system, the original's mode), else copies it as 0755. */
function stage(file: string, dir: string, name = path.basename(file)): string {
  const target = path.join(dir, name);
  try {
    fs.linkSync(file, target);
  } catch {
    fs.copyFileSync(file, target);
    fs.chmodSync(target, 0o755);
  }
  return target;
}

const stagedNode = new WeakMap<object, string>();

/** A node binary another uid can run: this one when reachable, else a staged link or copy of it. */
export function peerNode(t: Teardown): string {
  const node = fs.realpathSync(process.execPath);
  if (reachableByOthers(node)) return node;
  let staged = stagedNode.get(t);
  if (!staged) {
    staged = stage(node, reachableDir(t, 'ocipc-node-'), 'node');
    stagedNode.set(t, staged);
  }
  return staged;
}

/**
 * Spawns `node <args>` as `uid` (default 65534): cwd `/` unless given, tap's NODE_OPTIONS removed (tap
 * re-adds it to every spawn's env, hence `env -u`).
 */
export function spawnNodeAs(t: Teardown, args: string[], options: SpawnOptions = {}): ChildProcess {
  const uid = options.uid ?? OTHER_UID;
  return spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', peerNode(t), ...args], {
    cwd: '/',
    ...options,
    uid,
    gid: options.gid ?? uid,
  });
}

export interface StagedCli {
  node: string;
  /** The openclaw-ipc CLI as one ES module. */
  main: string;
  /** Environment that makes the staged CLI load the staged addon. */
  env: NodeJS.ProcessEnv;
  dir: string;
}

/**
 * The openclaw-ipc CLI staged for another uid: lib/cli/main.ts bundled (esbuild, from the current
 * sources) into one module, with a copy of the built addon loaded through OPENCLAW_IPC_NATIVE_BINDING.
 */
export function stageCli(t: Teardown): StagedCli {
  const dir = reachableDir(t, 'ocipc-cli-');
  const main = path.join(dir, 'openclaw-ipc.mjs');
  buildSync({
    entryPoints: [path.join(repo, 'lib', 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: main,
    logLevel: 'error',
    // CommonJS dependencies (ws) call require(); give the bundle a real one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  fs.chmodSync(main, 0o644);
  const addon = stage(addonPath(repo), dir, 'openclaw_ipc.node');
  return { node: peerNode(t), main, env: { OPENCLAW_IPC_NATIVE_BINDING: addon }, dir };
}
