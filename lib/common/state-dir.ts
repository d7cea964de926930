// The state directory (OPENCLAW_STATE_DIR or ~/.openclaw) and safe handling of private files in it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parseBoundedJson } from './bounded-json.js';
import { IpcError } from './errors.js';

export class StateDirError extends IpcError {}

/** `$OPENCLAW_STATE_DIR`, else `~/.openclaw`. Always absolute. */
export function resolveStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.OPENCLAW_STATE_DIR?.trim();
  if (fromEnv) return path.resolve(expandHome(fromEnv));
  return path.join(os.homedir(), '.openclaw');
}

export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return p;
}

/**
 * Creates `dir` (mode 0700) if missing, or checks an existing one: it must be a real directory
 * (not a symlink) owned by us. Mode bits wider than 0700 are tightened. Throws StateDirError with
 * ERR_STATE_DIR_SYMLINK | ERR_STATE_DIR_NOT_DIR | ERR_STATE_DIR_OWNER.
 */
export function ensurePrivateDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (mkErr) {
      if ((mkErr as NodeJS.ErrnoException).code !== 'EEXIST') throw mkErr;
    }
    st = fs.lstatSync(dir);
  }
  if (st.isSymbolicLink()) {
    throw new StateDirError('ERR_STATE_DIR_SYMLINK', `refusing to use ${dir}: it is a symbolic link`);
  }
  if (!st.isDirectory()) {
    throw new StateDirError('ERR_STATE_DIR_NOT_DIR', `refusing to use ${dir}: it is not a directory`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new StateDirError('ERR_STATE_DIR_OWNER', `refusing to use ${dir}: owned by uid ${st.uid}, not ${uid}`);
  }
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/**
 * Writes `data` to `file` atomically with the given mode: a temp file in the same directory, fsync,
 * rename, fsync of the directory (so the rename itself survives a crash). Readers see the old or the new
 * content, never a torn file. On any failure (ENOSPC, EFBIG, EIO …) the temp file is removed and the
 * error is thrown; `file` is untouched.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    try {
      fs.writeFileSync(fd, data);
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** fsync of a directory, for a rename or create in it to be durable. File systems that cannot are skipped. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch {
    return; // not readable (e.g. a 0300 dir): the rename stands, durability is the file system's
  }
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EBADF') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/** Nesting allowed in a state or config file (a stored node payload sits a few levels below the top). */
export const MAX_JSON_FILE_DEPTH = 128;

/** Far above any config or state file we keep; a bigger one is refused rather than read into memory. */
export const MAX_JSON_FILE_BYTES = 16 * 1024 * 1024;

export interface BoundedReadOptions {
  /** Default MAX_JSON_FILE_BYTES. */
  maxBytes?: number;
  /** Refuse a symbolic link at the last component (O_NOFOLLOW) instead of following it. */
  noFollow?: boolean;
  /** Builds the error for a non-regular file or one over the cap; default StateDirError ERR_CONFIG_*. */
  refuse?: (problem: 'not-file' | 'too-large', message: string) => Error;
}

/**
 * Reads a UTF-8 file of at most `maxBytes`; undefined when it does not exist. Only a regular file is read,
 * checked on the opened fd (O_NONBLOCK: a FIFO swapped in cannot block the JS thread).
 */
export function readTextFileBounded(file: string, options: BoundedReadOptions = {}): string | undefined {
  const maxBytes = options.maxBytes ?? MAX_JSON_FILE_BYTES;
  const refuse =
    options.refuse ??
    ((problem, message) =>
      new StateDirError(problem === 'not-file' ? 'ERR_CONFIG_NOT_FILE' : 'ERR_CONFIG_TOO_LARGE', message));
  let fd: number;
  try {
    const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (options.noFollow ? fs.constants.O_NOFOLLOW : 0);
    fd = fs.openSync(file, flags);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw refuse('not-file', `${file} is not a regular file`);
    if (st.size > maxBytes) throw refuse('too-large', `${file} is ${st.size} bytes, over the ${maxBytes}-byte limit`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a JSON file; undefined when it does not exist. A malformed file is an error, never silently replaced.
 * Bounded as readTextFileBounded.
 */
export function readJsonFile<T = unknown>(file: string): T | undefined {
  const text = readTextFileBounded(file);
  if (text === undefined) return undefined;
  try {
    // Depth-bounded like every untrusted JSON (bounded-json.ts); duplicates keep JSON's last-wins here,
    // as a hand-edited config may have them.
    return parseBoundedJson(text, { maxDepth: MAX_JSON_FILE_DEPTH, rejectDuplicateKeys: false }) as T;
  } catch (err) {
    throw new StateDirError('ERR_CONFIG_MALFORMED', `${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
