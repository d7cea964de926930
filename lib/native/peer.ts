// Peer credentials of a connected Unix socket, and a handle pinned to the peer process instance
// (Linux: a pidfd; macOS: the audit token, whose pid + pidversion the kernel re-checks on every use).
import type net from 'node:net';

import { PeerCredError } from '../common/errors.js';
import { getBinding } from './binding.js';
import { socketFd } from './socket-fd.js';

export interface PeerCredentials {
  /** Peer process id; undefined when the OS cannot tell. A pid alone is not an identity (reuse). */
  pid?: number;
  uid: number;
  gid: number;
  /** True when the OS can pin this peer to one process instance: macOS includes the audit token;
   *  Linux has SO_PEERPIDFD, so openPeerProcess() holds a pidfd. A bare `pid` is never pinned. */
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

// Set once a pidfd was obtained: the kernel supports SO_PEERPIDFD, so peerCredentials() stops paying
// for creating and closing one (~10 µs) just to learn that.
let peerPidfdSeen = false;

function readCredentials(target: net.Socket | number, keepPidfd: boolean): { cred: PeerCredentials; pidfd: number } {
  const binding = getBinding();
  const hasToken = binding.peerCred(socketFd(target), credOut, tokenOut, keepPidfd);
  const [pid, uid, gid, pidfd, pidVersion] = credOut;
  if (pidfd >= 0) peerPidfdSeen = true;
  const cred: PeerCredentials = { uid, gid, pidReliable: pidfd >= 0 || hasToken || (!keepPidfd && peerPidfdSeen) };
  if (pid >= 0) cred.pid = pid;
  if (pidVersion >= 0) cred.pidVersion = pidVersion;
  if (hasToken) cred.auditToken = Buffer.from(tokenOut);
  return { cred, pidfd };
}

/** {pid, uid, gid} of the peer plus the strongest identity the OS offers. Holds no fds afterwards. */
export function peerCredentials(target: net.Socket | number): PeerCredentials {
  const { cred, pidfd } = readCredentials(target, !peerPidfdSeen);
  if (pidfd >= 0) getBinding().closeFd(pidfd);
  return cred;
}

// Safety net for handles that are dropped without close(); close() unregisters, so a number is never
// closed twice (which could hit an fd reused by someone else).
const leakedPidfds = new FinalizationRegistry<number>((fd) => {
  try {
    getBinding().closeFd(fd);
  } catch {
    /* already gone */
  }
});

/**
 * The peer process pinned to one process instance: by its pidfd (Linux SO_PEERPIDFD) or by its audit
 * token (macOS LOCAL_PEERTOKEN: pid + pidversion, compared with the live process by the kernel on each
 * call). executable() re-checks liveness after reading, so a recycled pid is never described.
 * Call close() when done (it releases the pidfd; on macOS it only ends the handle).
 */
export class PeerProcess {
  readonly pid: number | undefined;
  readonly uid: number;
  readonly gid: number;
  readonly pidReliable: boolean;
  #pidfd: number;
  /** macOS audit token (a private copy); undefined on Linux or once closed. */
  #auditToken: Uint8Array | undefined;
  readonly #token = {};

  /** @internal use openPeerProcess() */
  constructor(cred: PeerCredentials, pidfd: number) {
    this.pid = cred.pid;
    this.uid = cred.uid;
    this.gid = cred.gid;
    this.pidReliable = cred.pidReliable;
    this.#pidfd = pidfd;
    this.#auditToken = cred.auditToken ? new Uint8Array(cred.auditToken) : undefined;
    if (pidfd >= 0) leakedPidfds.register(this, pidfd, this.#token);
  }

  #checkOpen(): void {
    if (this.#pidfd === -2) throw new PeerCredError('ERR_PEERCRED_CLOSED', 'PeerProcess is closed');
  }

  #noHandle(): never {
    throw new PeerCredError(
      'ERR_PEERCRED_NO_PIDFD',
      'no pidfd or audit token for this peer (Linux kernel without SO_PEERPIDFD)',
    );
  }

  /** True while the very process that connected is alive (false once it exited, even if its pid is reused). */
  isAlive(): boolean {
    this.#checkOpen();
    if (this.#pidfd >= 0) return getBinding().pidfdAlive(this.#pidfd);
    if (this.#auditToken) return getBinding().tokenAlive(this.#auditToken);
    return this.#noHandle();
  }

  /** Path of the peer's executable; throws PeerCredError ERR_PEERCRED_PROCESS_EXITED once it exited. */
  executable(): string {
    this.#checkOpen();
    if (this.#pidfd >= 0) {
      if (this.pid === undefined) throw new PeerCredError('ERR_PEERCRED_NO_PID', 'the OS did not report a peer pid');
      return getBinding().processExecutable(this.pid, this.#pidfd);
    }
    if (this.#auditToken) return getBinding().tokenExecutable(this.#auditToken);
    return this.#noHandle();
  }

  /** Releases the pidfd (Linux) / drops the token (macOS). Idempotent. */
  close(): void {
    this.#auditToken = undefined;
    if (this.#pidfd >= 0) {
      leakedPidfds.unregister(this.#token);
      const fd = this.#pidfd;
      this.#pidfd = -2;
      getBinding().closeFd(fd);
    } else {
      this.#pidfd = -2;
    }
  }
}

/** Opens a handle on the peer of a connected Unix socket: it holds a pidfd (Linux) or the audit token (macOS). */
export function openPeerProcess(target: net.Socket | number): PeerProcess {
  const { cred, pidfd } = readCredentials(target, true);
  return new PeerProcess(cred, pidfd);
}
