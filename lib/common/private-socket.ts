// A private Unix-socket listener: the socket lives in a private (0700, ours, not a symlink) directory,
// is born 0600 (umask around bind, no chmod window) and is verified after bind; only a dead socket of
// ours is ever unlinked: a symlink, regular file or directory at the path, a socket of another uid, or
// a live server makes startup fail instead. Used by the exec host and the bridge host.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { IpcError } from './errors.js';
import { ensurePrivateDir } from './state-dir.js';

/**
 * Codes: ERR_SOCKET_PATH_RELATIVE, ERR_SOCKET_PATH_TOO_LONG, ERR_SOCKET_PATH_NOT_SOCKET, ERR_SOCKET_OWNER,
 * ERR_SOCKET_IN_USE, ERR_SOCKET_BIND, ERR_SOCKET_MODE (and ERR_LOCK_* from the exec host's instance lock).
 */
export class SocketSetupError extends IpcError {}
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
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'stale' : 'live'),
    );
  });
}

/**
 * Makes `socketPath` bindable: its directory private, the path free. Removes only a stale socket
 * owned by us. Throws SocketSetupError: ERR_SOCKET_PATH_TOO_LONG, ERR_SOCKET_PATH_NOT_SOCKET,
 * ERR_SOCKET_OWNER, ERR_SOCKET_IN_USE; StateDirError for an unsafe directory.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  if (!path.isAbsolute(socketPath))
    throw new SocketSetupError('ERR_SOCKET_PATH_RELATIVE', `socket path must be absolute: ${socketPath}`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SocketSetupError(
      'ERR_SOCKET_PATH_TOO_LONG',
      `socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes: ${socketPath}`,
    );
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
    const kind = st.isSymbolicLink()
      ? 'a symbolic link'
      : st.isDirectory()
        ? 'a directory'
        : st.isFile()
          ? 'a regular file'
          : 'not a socket';
    throw new SocketSetupError(
      'ERR_SOCKET_PATH_NOT_SOCKET',
      `refusing to start: ${socketPath} is ${kind}; it was left untouched`,
    );
  }
  if (st.uid !== process.geteuid?.()) {
    throw new SocketSetupError('ERR_SOCKET_OWNER', `refusing to start: ${socketPath} is owned by uid ${st.uid}`);
  }
  if ((await probeSocket(socketPath)) === 'live') {
    throw new SocketSetupError(
      'ERR_SOCKET_IN_USE',
      `refusing to start: a server is already listening on ${socketPath}`,
    );
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
    throw new SocketSetupError(
      'ERR_SOCKET_MODE',
      `socket ${socketPath} came up with mode ${(st.mode & 0o777).toString(8)} / uid ${st.uid}`,
    );
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
