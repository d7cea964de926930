// Safe creation of the listening socket and the single-instance lock for one state directory.
// The socket lives in a private (0700, ours, not a symlink) directory, is born 0600 (umask around
// bind, no chmod window), and only a dead socket of ours is ever unlinked: a symlink, regular file or
// directory at the path, or a live server, makes startup fail instead.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir } from '../common/state-dir.js';

export class SocketSetupError extends IpcError {}
export class InstanceLockedError extends IpcError {
  constructor(readonly lockFile: string, readonly holderPid: number) {
    super('ERR_EXEC_HOST_LOCKED', `another exec host (pid ${holderPid}) is running for this state dir (lock ${lockFile})`);
  }
}

/** sun_path is 104 bytes on macOS/BSD and 108 on Linux, including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/** Connects to an existing socket: 'live' when something accepts, 'stale' when nothing listens. */
export function probeSocket(socketPath: string, timeoutMs = 1000): Promise<'live' | 'stale'> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (state: 'live' | 'stale'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    // A listener that does not accept in time is treated as live: never unlink what might be in use.
    const timer = setTimeout(() => done('live'), timeoutMs);
    socket.once('connect', () => done('live'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'stale' : 'live'));
  });
}

/**
 * Makes `socketPath` bindable: its directory private, the path free. Removes only a stale socket
 * owned by us. Throws SocketSetupError: ERR_SOCKET_PATH_TOO_LONG, ERR_SOCKET_PATH_NOT_SOCKET,
 * ERR_SOCKET_OWNER, ERR_SOCKET_IN_USE; StateDirError for an unsafe directory.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  if (!path.isAbsolute(socketPath)) throw new SocketSetupError('ERR_SOCKET_PATH_RELATIVE', `socket path must be absolute: ${socketPath}`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SocketSetupError('ERR_SOCKET_PATH_TOO_LONG', `socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes: ${socketPath}`);
  }
  ensurePrivateDir(path.dirname(socketPath));
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    const kind = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : 'not a socket';
    throw new SocketSetupError('ERR_SOCKET_PATH_NOT_SOCKET', `refusing to start: ${socketPath} is ${kind}; it was left untouched`);
  }
  if (st.uid !== process.geteuid?.()) {
    throw new SocketSetupError('ERR_SOCKET_OWNER', `refusing to start: ${socketPath} is owned by uid ${st.uid}`);
  }
  if ((await probeSocket(socketPath)) === 'live') {
    throw new SocketSetupError('ERR_SOCKET_IN_USE', `refusing to start: a server is already listening on ${socketPath}`);
  }
  // Re-check that it is still the same stale inode before removing it.
  const again = fs.lstatSync(socketPath);
  if (again.ino === st.ino && again.dev === st.dev && again.isSocket()) fs.unlinkSync(socketPath);
}

export interface BoundSocket {
  dev: number;
  ino: number;
}

/** listen() under umask 0177 so the socket is 0600 from birth; then verifies mode and owner. */
export async function listenPrivate(server: net.Server, socketPath: string, backlog = 511): Promise<BoundSocket> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(new SocketSetupError('ERR_SOCKET_BIND', `cannot listen on ${socketPath}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // bind() runs synchronously inside listen() for a path, so the umask covers exactly it.
    const previous = process.umask(0o177);
    try {
      server.listen({ path: socketPath, backlog });
    } finally {
      process.umask(previous);
    }
  });
  const st = fs.lstatSync(socketPath);
  if (!st.isSocket() || (st.mode & 0o077) !== 0 || st.uid !== process.geteuid?.()) {
    server.close();
    throw new SocketSetupError('ERR_SOCKET_MODE', `socket ${socketPath} came up with mode ${(st.mode & 0o777).toString(8)} / uid ${st.uid}`);
  }
  return { dev: st.dev, ino: st.ino };
}

/** Removes the socket only if it is still the inode we bound. */
export function unlinkIfOurs(socketPath: string, bound: BoundSocket): void {
  try {
    const st = fs.lstatSync(socketPath);
    if (st.isSocket() && st.dev === bound.dev && st.ino === bound.ino) fs.unlinkSync(socketPath);
  } catch {
    // Already gone.
  }
}

// ---- single-instance lock ----

interface LockContent { pid: number; start?: string }

/** Linux: the process start time (field 22 of /proc/<pid>/stat), to tell a reused pid from the holder. */
function processStart(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(lock: LockContent): boolean {
  try {
    process.kill(lock.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (lock.start !== undefined) {
    const start = processStart(lock.pid);
    if (start !== undefined && start !== lock.start) return false;
  }
  return true;
}

export interface InstanceLock {
  file: string;
  release(): void;
}

/**
 * Takes `<dir>/exec-approvals.lock` (O_EXCL, 0600, holding our pid and start time). A lock whose
 * holder is dead (or whose pid now belongs to another process) is taken over; a live one throws
 * InstanceLockedError.
 */
export function acquireInstanceLock(dir: string, name = 'exec-approvals.lock'): InstanceLock {
  const file = path.join(dir, name);
  const content: LockContent = { pid: process.pid, start: processStart(process.pid) };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = fs.lstatSync(file);
      if (!st.isFile() || st.uid !== process.geteuid?.()) {
        throw new SocketSetupError('ERR_LOCK_FILE_UNSAFE', `refusing lock file ${file}: not a regular file owned by us`);
      }
      let holder: LockContent | undefined;
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockContent;
      } catch {
        holder = undefined; // torn or empty: a holder died mid-write
      }
      if (holder && Number.isInteger(holder.pid) && isAlive(holder)) {
        throw new InstanceLockedError(file, holder.pid);
      }
      // Stale: remove that exact inode and retry the exclusive create.
      try {
        const again = fs.lstatSync(file);
        if (again.ino === st.ino) fs.unlinkSync(file);
      } catch {
        // Someone else removed it first.
      }
      continue;
    }
    try {
      fs.writeSync(fd, JSON.stringify(content));
    } finally {
      fs.closeSync(fd);
    }
    const ours = fs.lstatSync(file);
    return {
      file,
      release: () => {
        try {
          const st = fs.lstatSync(file);
          if (st.ino === ours.ino && st.dev === ours.dev) fs.unlinkSync(file);
        } catch {
          // Already gone.
        }
      },
    };
  }
  throw new SocketSetupError('ERR_LOCK_CONTENDED', `could not take ${file}: contended`);
}
