// The only place that reaches into Node's private net.Socket internals. Node has no public API
// for a socket's fd; test/native/socket-fd.test.ts fails loudly if this field moves.
import net from 'node:net';

import { PeerCredError } from '../common/errors.js';

interface HandleWithFd {
  fd?: unknown;
}

/** The OS file descriptor behind a connected net.Socket, or a validated raw fd. */
export function socketFd(target: net.Socket | number): number {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target > 0x7fffffff) {
      throw new TypeError(`fd must be a non-negative integer, got ${String(target)}`);
    }
    return target;
  }
  if (!(target instanceof net.Socket)) {
    throw new TypeError('expected a net.Socket or a file descriptor number');
  }
  const handle = (target as unknown as { _handle?: HandleWithFd | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new PeerCredError(
      'ERR_PEERCRED_NO_FD',
      'socket has no file descriptor (not connected, destroyed, or not a Unix socket handle)',
    );
  }
  return fd;
}
