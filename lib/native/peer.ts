// Peer credentials of a connected Unix socket.
import type net from 'node:net';

import { getBinding } from './binding.js';
import { socketFd } from './socket-fd.js';

export interface PeerCredentials {
  /** Peer process id; undefined when the OS cannot tell. A pid alone is not an identity (reuse). */
  pid?: number;
  uid: number;
  gid: number;
  /** True when the pid is pinned to one process instance (Linux pidfd, macOS audit token). */
  pidReliable: boolean;
  /** macOS: audit-token pid version. */
  pidVersion?: number;
  /** macOS: the 32-byte audit token from LOCAL_PEERTOKEN. */
  auditToken?: Buffer;
}

const credOut = new Int32Array(5);
const tokenOut = new Uint8Array(32);

/** Effective uid of the peer: the cheapest check, for every accepted connection. */
export function peerUid(target: net.Socket | number): number {
  return getBinding().peerUid(socketFd(target));
}

/** {pid, uid, gid} of the peer plus the strongest identity the OS offers. */
export function peerCredentials(target: net.Socket | number): PeerCredentials {
  const binding = getBinding();
  const hasToken = binding.peerCred(socketFd(target), credOut, tokenOut);
  const [pid, uid, gid, pidfd, pidVersion] = credOut;
  const result: PeerCredentials = { uid, gid, pidReliable: pidfd >= 0 || hasToken };
  if (pid >= 0) result.pid = pid;
  if (pidVersion >= 0) result.pidVersion = pidVersion;
  if (hasToken) result.auditToken = Buffer.from(tokenOut);
  // The skeleton does not keep pidfds yet: close it so nothing leaks (the pidfd API replaces this).
  if (pidfd >= 0) closePidfd(pidfd);
  return result;
}

function closePidfd(fd: number): void {
  // Imported lazily to keep this module free of fs at load.
  void import('node:fs').then((fs) => fs.closeSync(fd));
}
