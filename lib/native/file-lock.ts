// The one kernel lock primitive: flock(2) through the addon, never waiting in the kernel. Two uses:
//   * withFileLock: a short critical section (read-modify-write of a shared file) under `<file>.lock`,
//     retried with backoff for a bounded time, so the JS thread is never blocked indefinitely;
//   * acquireInstanceLock: one daemon per state dir, held for the daemon's life.
// The kernel releases a flock when its holder exits, however it exits: no stale-pid guessing.
import fs from 'node:fs';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { getBinding } from './binding.js';

/** OC_FLOCK_* in native/platform.h. */
const FLOCK_UNLOCK = 0;
const FLOCK_TRY_EXCLUSIVE = 1;

/** How long withFileLock waits for a busy lock by default. Holders keep it for one small file write. */
export const DEFAULT_LOCK_WAIT_MS = 5_000;

/** Tries to take an exclusive flock on `fd`; false when another open file holds it. Never waits. */
export function tryLockFd(fd: number): boolean {
  return getBinding().flock(fd, FLOCK_TRY_EXCLUSIVE);
}

export function unlockFd(fd: number): void {
  getBinding().flock(fd, FLOCK_UNLOCK);
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * Opens (creating 0600) a lock file without following a symlink, and checks it is a regular file owned
 * by us: a lock file someone else controls could be held forever by them.
 */
function openLockFile(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw unsafeLock(file);
    throw err;
  }
  const st = fs.fstatSync(fd);
  const uid = process.geteuid?.();
  if (!st.isFile() || (uid !== undefined && st.uid !== uid)) {
    fs.closeSync(fd);
    throw unsafeLock(file);
  }
  return fd;
}

function unsafeLock(file: string): IpcError {
  return new IpcError('ERR_LOCK_FILE_UNSAFE', `refusing lock file ${file}: not a regular file owned by us`);
}

/** Whether `fd` is still the file at `file` (not unlinked or replaced since it was opened). */
function stillLinked(fd: number, file: string): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.lstatSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

export interface FileLockOptions {
  /** Give up after this long with ERR_LOCK_TIMEOUT. Default DEFAULT_LOCK_WAIT_MS. */
  waitMs?: number;
}

/**
 * Runs `fn` while holding an exclusive flock on `<file>.lock` (kept between uses: deleting it would let
 * two processes lock two different inodes). Waits for a busy lock with backoff (1 ms doubling to 50 ms)
 * for at most `waitMs`, then throws ERR_LOCK_TIMEOUT. Synchronous, for synchronous read-modify-writes.
 */
export function withFileLock<T>(file: string, fn: () => T, options: FileLockOptions = {}): T {
  const lockFile = `${file}.lock`;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_LOCK_WAIT_MS);
  const fd = openLockFile(lockFile);
  try {
    for (let delay = 1; !tryLockFd(fd); delay = Math.min(delay * 2, 50)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new IpcError('ERR_LOCK_TIMEOUT', `timed out waiting for ${lockFile} (another process holds it)`);
      sleepSync(Math.min(delay, left));
    }
    return fn();
  } finally {
    // Closing the fd drops the lock.
    fs.closeSync(fd);
  }
}

export interface InstanceLock {
  file: string;
  release(): void;
}

interface LockContent {
  pid: number;
}

/** The pid written by the current holder, when readable (a holder writes it right after locking). */
function holderPid(fd: number): number | undefined {
  try {
    const text = fs.readFileSync(fd, 'utf8');
    const pid = (JSON.parse(text) as Partial<LockContent>).pid;
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes `<dir>/<name>` for this process's life: an exclusive flock on it, with our pid written in for
 * messages. Throws `onLocked(file, pid)` while another live process holds it; a lock file left by a
 * crashed holder is simply taken (the kernel released its flock). release() removes the file, then
 * unlocks; a process that opened the file just before the removal sees it unlinked and retries.
 */
export function acquireInstanceLock(
  dir: string,
  name: string,
  onLocked: (file: string, holderPid: number | undefined) => Error,
): InstanceLock {
  const file = path.join(dir, name);
  for (let attempt = 0; attempt < 5; attempt++) {
    const fd = openLockFile(file);
    if (!tryLockFd(fd)) {
      const pid = holderPid(fd);
      fs.closeSync(fd);
      throw onLocked(file, pid);
    }
    if (!stillLinked(fd, file)) {
      fs.closeSync(fd);
      continue;
    }
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, JSON.stringify({ pid: process.pid } satisfies LockContent), 0);
    let released = false;
    return {
      file,
      release: () => {
        if (released) return;
        released = true;
        if (stillLinked(fd, file)) fs.rmSync(file, { force: true });
        fs.closeSync(fd);
      },
    };
  }
  throw new IpcError('ERR_LOCK_CONTENDED', `could not take ${file}: contended`);
}

export type LockInspection =
  | { state: 'absent'; file: string }
  | { state: 'live' | 'stale'; file: string; pid?: number }
  | { state: 'unreadable'; file: string; reason: string };

/** The pids holding a flock on (dev, ino), from /proc/locks; undefined where that file does not exist. */
function flockHolders(dev: bigint, ino: bigint): number[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // Linux's dev_t split (MAJOR/MINOR of the new encoding), printed in hex as "maj:min:ino".
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const want = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
  const pids: number[] = [];
  // e.g. "1: FLOCK  ADVISORY  WRITE 15779 fe:00:2149516 0 EOF" (a "->" prefix marks a waiter).
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === 'FLOCK' && f[5] === want) pids.push(Number(f[4]));
  }
  return pids;
}

/** Whether another open file holds the flock, by trying it (never waits) and letting go at once. */
function heldByTryLock(file: string): boolean {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    if (!tryLockFd(fd)) return true;
    unlockFd(fd);
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What an instance lock file says, without taking it: absent; live (a process holds the flock; its pid
 * as written into the file); stale (left by a holder that died: the kernel dropped its flock); or
 * unreadable. Linux reads /proc/locks and so never touches the lock. Elsewhere the flock is tried for an
 * instant, so a daemon starting in that instant can see "locked" once (status and doctor only inform).
 */
export function inspectInstanceLock(file: string): LockInspection {
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(file, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent', file };
    return { state: 'unreadable', file, reason: (err as Error).message };
  }
  if (!st.isFile()) return { state: 'unreadable', file, reason: 'not a regular file' };
  let written: number | undefined;
  try {
    const pid = (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockContent>).pid;
    written = Number.isInteger(pid) && (pid as number) > 0 ? pid : undefined;
  } catch {
    written = undefined; // empty or torn: a holder between flock and its pid write, or a crash there
  }
  let live: boolean;
  try {
    const holders = flockHolders(st.dev, st.ino);
    live = holders !== undefined ? holders.length > 0 : heldByTryLock(file);
    // The kernel's word wins over the file's: /proc/locks names the process that took the flock.
    if (holders?.length && (written === undefined || !holders.includes(written))) written = holders[0];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent', file };
    return { state: 'unreadable', file, reason: (err as Error).message };
  }
  return { state: live ? 'live' : 'stale', file, ...(written !== undefined ? { pid: written } : {}) };
}
