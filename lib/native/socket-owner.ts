// Client-side checks that a Unix socket belongs to the expected uid, done before any secret is sent:
// the file (time of check) and then the kernel's credentials of the process that accepted (what
// actually answers). Callers map the outcome to their own typed errors.
import fs from 'node:fs';
import type net from 'node:net';

import { peerUid } from './peer.js';

export type SocketFileCheck =
  | { ok: true }
  | { ok: false; problem: 'missing'; error: NodeJS.ErrnoException }
  | { ok: false; problem: 'owner'; uid: number }
  | { ok: false; problem: 'not-socket'; symlink: boolean };

/**
 * Whether `socketPath` is a socket owned by `uid`. `followSymlinks: false` refuses a symbolic link
 * outright; `true` accepts one only if both the link and its target belong to `uid`.
 */
export function inspectSocketFile(socketPath: string, uid: number, opts: { followSymlinks: boolean }): SocketFileCheck {
  let link: fs.Stats;
  let target: fs.Stats;
  try {
    link = fs.lstatSync(socketPath);
    target = opts.followSymlinks && link.isSymbolicLink() ? fs.statSync(socketPath) : link;
  } catch (err) {
    return { ok: false, problem: 'missing', error: err as NodeJS.ErrnoException };
  }
  if (link.uid !== uid) return { ok: false, problem: 'owner', uid: link.uid };
  if (target.uid !== uid) return { ok: false, problem: 'owner', uid: target.uid };
  if (!target.isSocket()) return { ok: false, problem: 'not-socket', symlink: link.isSymbolicLink() };
  return { ok: true };
}

export type ServerUidCheck =
  { ok: true } | { ok: false; problem: 'unverifiable'; error: Error } | { ok: false; problem: 'uid'; uid: number };

/** Whether the process serving a connected socket runs as `uid` (SO_PEERCRED / LOCAL_PEERCRED). */
export function inspectServerUid(socket: net.Socket, uid: number): ServerUidCheck {
  let serverUid: number;
  try {
    serverUid = peerUid(socket);
  } catch (err) {
    return { ok: false, problem: 'unverifiable', error: err as Error };
  }
  return serverUid === uid ? { ok: true } : { ok: false, problem: 'uid', uid: serverUid };
}
