// One bridge exchange on a fresh connection: check the socket file, connect with a deadline, check the
// server's uid, write the request and half-close, read the reply to EOF under a cap and a deadline.
import net from 'node:net';

import { inspectServerUid, inspectSocketFile } from '../native/socket-owner.js';
import { BridgeTransportError } from './errors.js';
import { readToEnd } from './framing.js';
import { assertSocketPathFits } from './paths.js';
import { BRIDGE_MAX_MESSAGE_BYTES, BRIDGE_READ_TIMEOUT_MS } from './protocol.js';

export interface ExchangeOptions {
  /** Deadline for the reply after sending (pb-1.7: 10 s). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  maxResponseBytes?: number;
  /** The uid the socket file and the serving process must have; default our own. */
  expectedUid?: number;
}

function fail(
  code: string,
  message: string,
  socketPath: string,
  cause?: unknown,
  errno?: number,
): BridgeTransportError {
  const err = new BridgeTransportError(code, message, { cause, errno });
  err.socketPath = socketPath;
  return err;
}

/**
 * Refuses sockets we do not own. `net.connect` follows symlinks (the spec's legacy aliases are symlinks),
 * so both the link itself and its target must belong to `uid`, and the target must be a socket.
 */
export function verifySocketFile(socketPath: string, uid: number): void {
  const check = inspectSocketFile(socketPath, uid, { followSymlinks: true });
  if (check.ok) return;
  switch (check.problem) {
    case 'missing':
      throw fail(
        'ERR_BRIDGE_CONNECT',
        `bridge socket ${socketPath} unavailable: ${check.error.code ?? 'EIO'}`,
        socketPath,
        check.error,
        check.error.errno,
      );
    case 'owner':
      throw fail(
        'ERR_BRIDGE_SOCKET_NOT_OURS',
        `refusing ${socketPath}: owned by uid ${check.uid}, not ${uid}`,
        socketPath,
      );
    case 'not-socket':
      throw fail('ERR_BRIDGE_NOT_A_SOCKET', `refusing ${socketPath}: not a socket`, socketPath);
  }
}

function connect(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ path: socketPath, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(fail('ERR_BRIDGE_TIMEOUT', `connecting to ${socketPath} timed out after ${timeoutMs} ms`, socketPath));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(
        fail(
          'ERR_BRIDGE_CONNECT',
          `cannot connect to ${socketPath}: ${err.code ?? err.message}`,
          socketPath,
          err,
          err.errno,
        ),
      );
    };
    socket.once('error', onError);
  });
}

/** Sends `request` and returns the raw reply bytes (possibly empty: the caller maps that to "no response"). */
export async function exchangeBridgeMessage(
  socketPath: string,
  request: Uint8Array,
  opts: ExchangeOptions = {},
): Promise<Buffer> {
  const uid = opts.expectedUid ?? process.getuid?.() ?? -1;
  assertSocketPathFits(socketPath);
  verifySocketFile(socketPath, uid);
  const socket = await connect(socketPath, opts.connectTimeoutMs ?? 2000);
  try {
    // The file check above is time-of-check; the kernel's peer uid is what actually answers.
    const server = inspectServerUid(socket, uid);
    if (!server.ok && server.problem === 'unverifiable') {
      throw fail(
        'ERR_BRIDGE_PEER_UNVERIFIED',
        `cannot verify the process serving ${socketPath}: ${server.error.message}`,
        socketPath,
        server.error,
      );
    }
    if (!server.ok && server.problem === 'uid') {
      throw fail(
        'ERR_BRIDGE_SOCKET_NOT_OURS',
        `refusing ${socketPath}: served by uid ${server.uid}, not ${uid}`,
        socketPath,
      );
    }
    socket.on('error', () => {
      /* surfaced by readToEnd */
    });
    const reply = readToEnd(socket, {
      maxBytes: opts.maxResponseBytes ?? BRIDGE_MAX_MESSAGE_BYTES,
      timeoutMs: opts.timeoutMs ?? BRIDGE_READ_TIMEOUT_MS,
    });
    socket.end(request);
    try {
      return await reply;
    } catch (err) {
      if (err instanceof BridgeTransportError) err.socketPath = socketPath;
      throw err;
    }
  } finally {
    socket.destroy();
  }
}
