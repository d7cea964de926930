// Bridge framing is "the whole stream until EOF": one JSON message per direction, no length prefix,
// no newline. This reader enforces the byte cap and an absolute deadline on that read.
import type net from 'node:net';
import { constants as osConstants } from 'node:os';

import { BridgeTransportError } from './errors.js';

export interface ReadToEndOptions {
  maxBytes: number;
  timeoutMs: number;
}

/**
 * Collects `socket` until its peer half-closes. Rejects with ERR_BRIDGE_MESSAGE_TOO_LARGE as soon as the
 * cap is crossed (without buffering the excess) or ERR_BRIDGE_TIMEOUT when the deadline passes; in both
 * cases the socket is destroyed so nothing more is read or written.
 */
export function readToEnd(socket: net.Socket, { maxBytes, timeoutMs }: ReadToEndOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;

    const finish = (err: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(value ?? Buffer.alloc(0));
      }
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        finish(
          new BridgeTransportError('ERR_BRIDGE_MESSAGE_TOO_LARGE', `bridge message exceeds ${maxBytes} bytes`, {
            errno: osConstants.errno.EMSGSIZE,
          }),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined, Buffer.concat(chunks, total));
    const onError = (err: Error): void => {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      finish(
        new BridgeTransportError('ERR_BRIDGE_CONNECT', `bridge socket error while reading: ${code}`, { cause: err }),
      );
    };
    // 'close' without 'end' means the stream was torn down (reset) before EOF.
    const onClose = (): void =>
      finish(new BridgeTransportError('ERR_BRIDGE_CONNECT', 'bridge socket closed before end of message'));
    const timer = setTimeout(() => {
      finish(new BridgeTransportError('ERR_BRIDGE_TIMEOUT', `no complete bridge message within ${timeoutMs} ms`));
    }, timeoutMs);

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
