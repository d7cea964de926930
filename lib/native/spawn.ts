// Process runner over the addon's posix_spawn (native/posix/spawn.cc). Unlike child_process (libuv forks
// the whole parent on Linux), posix_spawn costs the same whether this process is 50 MB or 1 GB. A native
// supervisor thread waits for output and exit, so neither the JS thread nor the libuv threadpool is held.
import { constants as osConstants } from 'node:os';

import { UnsupportedPlatformError } from '../common/errors.js';
import { getBinding, isNativeAvailable, type RawSpawnRequest } from './binding.js';

export type { RawSpawnRequest, RawSpawnResult } from './binding.js';

export interface NativeSpawnOptions {
  /** Executable: an absolute/relative path, or a bare name looked up in `env.PATH` (not this process's). */
  file: string;
  /**
   * Linux: run this open file descriptor (O_CLOEXEC, >= 3) instead of looking `file` up, like fexecve:
   * whatever is renamed over `file` after it was opened and checked does not run. `file` then only names
   * it in errors. Not for `#!` scripts (their interpreter would get /dev/fd/N, closed by the exec).
   * Rejected with ENOTSUP on macOS. See openPinnedExecutable in lib/exec-host/resolve-executable.ts.
   */
  execFd?: number;
  /** Full argv including argv[0]. Passed as-is: there is no shell. */
  argv: string[];
  /** Working directory of the child (posix_spawn_file_actions_addchdir_np). */
  cwd?: string;
  /** The child's complete environment: nothing is inherited. */
  env: Record<string, string>;
  /** Kill the process group with SIGTERM after this many ms (then SIGKILL after killGraceMs). 0 = none. */
  timeoutMs?: number;
  /** Delay between SIGTERM and SIGKILL after a timeout; also how long to keep draining pipes held open
   *  by leftover grandchildren after the child itself exited. Default 2000. */
  killGraceMs?: number;
  /** Per-stream cap; the TAIL is kept and `*Truncated` set. Default 1 MiB, max 64 MiB. */
  maxOutputBytes?: number;
  /** Bytes written to the child's stdin, which is then closed. Default: stdin is /dev/null. */
  stdin?: Uint8Array;
  /**
   * Aborting ends the run early, as a timeout does (SIGTERM to the group, SIGKILL after killGraceMs); the
   * promise still resolves, with `cancelled: true`. A request still queued never starts.
   */
  signal?: AbortSignal;
}

export interface NativeSpawnResult {
  pid: number;
  /** Exit status, or null when the child was killed by a signal; -1 if another waitpid(-1) in this
   *  process stole the status (never from this runner or libuv). */
  exitCode: number | null;
  /** Signal name (`SIGTERM`) that ended the child, or null. */
  signal: string | null;
  /** True when timeoutMs elapsed and the group was signalled. */
  timedOut: boolean;
  /** True when `signal` aborted before the run finished (the group was signalled, or it never started). */
  cancelled: boolean;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Wall time from spawn request to completion. */
  durationMs: number;
}

export const DEFAULT_KILL_GRACE_MS = 2000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const MAX_OUTPUT_BYTES_LIMIT = 64 * 1024 * 1024;
/** The largest delay a timer can take (2^31 - 1 ms); bigger values would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;
const MAX_ARGS = 65536;

/** True when this build of the addon has the posix_spawn runner (Linux and macOS builds). Never throws. */
export function isNativeSpawnAvailable(): boolean {
  if (!isNativeAvailable()) return false;
  return typeof getBinding().spawn === 'function';
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (value.includes('\0')) throw new TypeError(`${what} must not contain NUL bytes`);
  return value;
}

function checkMs(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new TypeError(`${what} must be an integer number of milliseconds in [0, ${MAX_TIMER_MS}]`);
  }
  return value;
}

/** Validates and flattens options for the addon. Exported for tests. */
export function toRawSpawnRequest(opts: NativeSpawnOptions): RawSpawnRequest {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  const file = checkString(opts.file, 'file');
  if (file === '') throw new TypeError('file must not be empty');
  if (!Array.isArray(opts.argv) || opts.argv.length === 0)
    throw new TypeError('argv must be a non-empty array of strings');
  if (opts.argv.length > MAX_ARGS) throw new TypeError(`argv has more than ${MAX_ARGS} entries`);
  const argv = opts.argv.map((a, i) => checkString(a, `argv[${i}]`));
  if (opts.env === null || typeof opts.env !== 'object') throw new TypeError('env must be an object of strings');
  const env: string[] = [];
  for (const [key, value] of Object.entries(opts.env)) {
    checkString(key, 'env name');
    if (key === '' || key.includes('=')) throw new TypeError(`env name ${JSON.stringify(key)} is invalid`);
    env.push(`${key}=${checkString(value, `env.${key}`)}`);
  }
  let execFd: number | null = null;
  if (opts.execFd !== undefined) {
    if (
      typeof opts.execFd !== 'number' ||
      !Number.isInteger(opts.execFd) ||
      opts.execFd < 3 ||
      opts.execFd > 0x7fffffff
    ) {
      throw new TypeError('execFd must be an integer file descriptor >= 3');
    }
    execFd = opts.execFd;
  }
  const cwd = opts.cwd === undefined ? null : checkString(opts.cwd, 'cwd');
  if (cwd === '') throw new TypeError('cwd must not be empty');
  let stdin: Uint8Array | null = null;
  if (opts.stdin !== undefined) {
    if (!(opts.stdin instanceof Uint8Array)) throw new TypeError('stdin must be a Uint8Array');
    stdin = opts.stdin;
  }
  const maxOutputBytes = checkMs(opts.maxOutputBytes, 'maxOutputBytes', DEFAULT_MAX_OUTPUT_BYTES);
  if (maxOutputBytes > MAX_OUTPUT_BYTES_LIMIT)
    throw new TypeError(`maxOutputBytes must be at most ${MAX_OUTPUT_BYTES_LIMIT}`);
  return {
    file,
    execFd,
    argv,
    env,
    cwd,
    stdin,
    timeoutMs: checkMs(opts.timeoutMs, 'timeoutMs', 0),
    killGraceMs: checkMs(opts.killGraceMs, 'killGraceMs', DEFAULT_KILL_GRACE_MS),
    maxOutputBytes,
  };
}

const signalNames = new Map<number, string>(
  Object.entries(osConstants.signals as Record<string, number>).map(([name, value]) => [value, name]),
);

function signalName(signo: number): string {
  return signalNames.get(signo) ?? `SIG${signo}`;
}

/**
 * Runs `file` with posix_spawn in a new process group, capturing stdout/stderr tails.
 * Rejects with SpawnError (code ENOENT, EACCES, … ) when the program cannot be executed, with
 * UnsupportedPlatformError where the addon has no runner; throws TypeError for bad options.
 * A non-zero exit, a signal or a timeout are results, not errors.
 */
export function nativeSpawn(opts: NativeSpawnOptions): Promise<NativeSpawnResult> {
  const request = toRawSpawnRequest(opts);
  const binding = getBinding();
  if (typeof binding.spawn !== 'function') {
    return Promise.reject(new UnsupportedPlatformError('nativeSpawn'));
  }
  const abortSignal = opts.signal;
  return new Promise((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const id = binding.spawn!(request, (err, raw) => {
      if (onAbort) abortSignal?.removeEventListener('abort', onAbort);
      if (err) {
        reject(err);
        return;
      }
      const r = raw!;
      resolve({
        pid: r.pid,
        exitCode: r.signal > 0 || r.pid < 0 ? null : r.exitCode,
        signal: r.signal > 0 ? signalName(r.signal) : null,
        timedOut: r.timedOut,
        cancelled: r.cancelled === true,
        stdout: r.stdout,
        stderr: r.stderr,
        stdoutTruncated: r.stdoutTruncated,
        stderrTruncated: r.stderrTruncated,
        durationMs: r.durationMs,
      });
    });
    if (abortSignal && typeof binding.spawnCancel === 'function') {
      onAbort = () => binding.spawnCancel!(id);
      if (abortSignal.aborted) onAbort();
      else abortSignal.addEventListener('abort', onAbort, { once: true });
    }
  });
}
