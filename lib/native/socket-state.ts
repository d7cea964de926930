// Whether the process at the other end of a connected Unix socket is gone. Node reports only EOF, which a
// client that half-closes after its request (socket.end(line), as OpenClaw's clients do) sends right away
// while still waiting for the answer; the kernel tells the two apart (native/posix/socket-state.cc).
import type net from 'node:net';

import { getBinding, isNativeAvailable } from './binding.js';
import { socketFd } from './socket-fd.js';

/**
 * True when the peer closed its end completely; false while it is there (also after a half-close).
 * Undefined when it cannot be told here (no addon, no fd): callers then rely on the socket's own events.
 */
export function socketPeerGone(socket: net.Socket): boolean | undefined {
  if (socket.destroyed) return true;
  if (!isNativeAvailable()) return undefined;
  let fd: number;
  try {
    fd = socketFd(socket);
  } catch {
    return undefined;
  }
  try {
    return getBinding().socketHungUp(fd);
  } catch {
    return undefined;
  }
}
