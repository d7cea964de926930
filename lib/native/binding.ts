// Lazy loader and private type of the raw addon (node-pty style): the public API lives in the
// sibling modules; nothing outside lib/native/ imports this file's RawBinding.
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import {
  CodeSignError,
  IpcError,
  NativeUnavailableError,
  PeerCredError,
  SpawnError,
  TccError,
  UnsupportedPlatformError,
} from '../common/errors.js';

export type NativeCallback<T> = (err: Error | null, result?: T) => void;

/** Raw shape the addon takes (validated here first). */
export interface RawSpawnRequest {
  file: string;
  execFd: number | null;
  argv: string[];
  env: string[];
  cwd: string | null;
  stdin: Uint8Array | null;
  timeoutMs: number;
  killGraceMs: number;
  maxOutputBytes: number;
}

export interface RawSpawnResult {
  pid: number;
  exitCode: number;
  signal: number;
  timedOut: boolean;
  cancelled: boolean;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
}

/** Target kinds of the portable C API (OC_TARGET_* in native/platform.h). */
export const TARGET_PEER = 1;
export const TARGET_PID = 2;
export const TARGET_PATH = 3;

export interface RawCodeIdentity {
  executable: string;
  signed: boolean;
  valid: boolean;
  adhoc: boolean;
  teamId: string | null;
  signingId: string | null;
  cdhash?: Buffer;
  sha256?: Buffer;
  pid: number;
  reason?: string;
  osStatus?: number;
}

export type RawTeamResult =
  { ok: true; teamId: string; signingId: string } | { ok: false; reason: string; osStatus?: number };

export interface RawTccResult {
  /** OC_TCC_* index (native/platform.h). */
  status: number;
  reason?: string;
  osStatus?: number;
}

/** The raw binding, as native/addon.cc registers it. TypeScript validates every argument first. */
export interface RawBinding {
  init(makeError: (kind: string, code: string, message: string, errno?: number, osStatus?: number) => Error): void;
  peerUid(fd: number): number;
  /** Fills out = [pid, uid, gid, pidfd, pidVersion]; returns whether token was filled with an audit token.
   *  keepPidfd: hand the pidfd (out[3], or -1) to the caller, who must closeFd it. */
  peerCred(fd: number, out: Int32Array, token: Uint8Array, keepPidfd: boolean): boolean;
  pidfdAlive(pidfd: number): boolean;
  processExecutable(pid: number, pidfd: number): string;
  /** macOS: is the process named by this 32-byte audit token (pid + pidversion) alive? ENOSYS on Linux. */
  tokenAlive(token: Uint8Array): boolean;
  /** macOS: executable of the audit token's process; ERR_PEERCRED_PROCESS_EXITED once it is gone. ENOSYS on Linux. */
  tokenExecutable(token: Uint8Array): string;
  closeFd(fd: number): void;
  /** flock(2) without waiting: op 1 tries LOCK_EX (false when held elsewhere), op 0 unlocks (true). */
  flock(fd: number, op: number): boolean;
  codeIdentity(kind: number, fdOrPid: number, path: string, done: NativeCallback<RawCodeIdentity>): void;
  verifyTeamId(
    kind: number,
    fdOrPid: number,
    path: string,
    teamIds: string[],
    signingId: string | null,
    done: NativeCallback<RawTeamResult>,
  ): void;
  teamRequirement(teamIds: string[], signingId: string | null): string;
  tccStatus(name: string, targetBundleId: string | null, timeoutMs: number, done: NativeCallback<RawTccResult>): void;
  tccRequest(name: string, targetBundleId: string | null, timeoutMs: number, done: NativeCallback<RawTccResult>): void;
  /** Whether the peer of a connected stream socket closed its end completely (not a half-close). */
  socketHungUp(fd: number): boolean;
  /** posix_spawn runner (absent where unsupported); calls done exactly once, from the JS thread. Returns the
   *  request's id for spawnCancel. */
  spawn?(request: RawSpawnRequest, done: (err: Error | null, result?: RawSpawnResult) => void): number;
  /** Ends a spawn request early (SIGTERM, then SIGKILL after the grace); done still runs, with cancelled set. */
  spawnCancel?(id: number): void;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let binding: RawBinding | undefined;
let loadError: unknown;

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]) => [value as number, name]),
);

/** Name of an errno value (`ENOTCONN`), or `E<number>` when Node does not know it. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

function makeError(kind: string, code: string, message: string, errno?: number, osStatus?: number): Error {
  const finalCode = code !== '' ? code : errno !== undefined ? errnoName(errno) : 'ERR_NATIVE';
  const options = { errno, osStatus };
  switch (kind) {
    case 'peercred':
      return new PeerCredError(finalCode, message, options);
    case 'codesign':
      return new CodeSignError(finalCode, message, options);
    case 'tcc':
      return new TccError(finalCode, message, options);
    case 'spawn':
      return new SpawnError(finalCode, message, options);
    default:
      return new IpcError(finalCode, message, options);
  }
}

/** Platforms the addon has sources for; elsewhere it is never loaded. */
export const SUPPORTED_PLATFORMS: readonly NodeJS.Platform[] = ['linux', 'darwin'];

let bindingPath: string | undefined;

/**
 * Loads the addon from `file` (a `.node` file) instead of searching prebuilds/ and build/ next to the
 * package: for Electron apps and bundlers, where the package directory is not on disk as published.
 * Call it before the first native call; the environment variable OPENCLAW_IPC_NATIVE_BINDING does the
 * same without code. Throws ERR_NATIVE_ALREADY_LOADED once the addon is loaded.
 */
export function setNativeBindingPath(file: string): void {
  if (binding)
    throw new IpcError('ERR_NATIVE_ALREADY_LOADED', 'the native addon is already loaded; set its path first');
  bindingPath = path.resolve(file);
  loadError = undefined;
}

/** Loads the addon on first use. Throws UnsupportedPlatformError on other OSes and
 *  NativeUnavailableError when no build loads (never at import time). */
export function getBinding(): RawBinding {
  if (binding) return binding;
  if (!SUPPORTED_PLATFORMS.includes(process.platform)) throw new UnsupportedPlatformError('openclaw-ipc native addon');
  if (loadError !== undefined) throw new NativeUnavailableError(loadError);
  try {
    const require = createRequire(import.meta.url);
    const explicit = bindingPath ?? (process.env.OPENCLAW_IPC_NATIVE_BINDING?.trim() || undefined);
    const loaded = explicit
      ? (require(path.resolve(explicit)) as RawBinding)
      : (require('node-gyp-build') as (dir: string) => RawBinding)(packageRoot);
    loaded.init(makeError);
    binding = loaded;
    return loaded;
  } catch (err) {
    loadError = err;
    throw new NativeUnavailableError(err);
  }
}

/** True when the addon is loadable here; never throws. */
export function isNativeAvailable(): boolean {
  try {
    getBinding();
    return true;
  } catch {
    return false;
  }
}
