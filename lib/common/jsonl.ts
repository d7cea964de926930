// JSON Lines over a stream socket with explicit limits: every read has a byte cap per line and a
// deadline, so a peer that never finishes its line (slowloris) or sends a huge one cannot pin memory
// or a connection. Used by the exec-approvals socket (one line per connection) and the bridge.
import type { Duplex } from 'node:stream';

import { parseBoundedJson } from './bounded-json.js';
import { IpcError } from './errors.js';

export class JsonlError extends IpcError {}

export interface ReadLineOptions {
  /** Maximum bytes of one line, excluding the `\n`. A longer line rejects with ERR_LINE_TOO_LONG. */
  maxLineBytes: number;
  /** Milliseconds until the read gives up with ERR_READ_TIMEOUT. */
  timeoutMs: number;
  /**
   * Called for each complete line; return true to accept it and stop reading. Without it the first
   * line is accepted. Lines it declines are dropped (a client waiting for its reply skips noise).
   */
  accept?: (line: string) => boolean;
  /** Reject a line that is not valid UTF-8 (ERR_INVALID_UTF8) instead of substituting U+FFFD. */
  strictUtf8?: boolean;
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `\n`-terminated UTF-8 lines from `stream` until one is accepted. Rejects with JsonlError:
 * ERR_LINE_TOO_LONG (the cap was reached before a `\n`, checked as bytes arrive, before buffering
 * more), ERR_READ_TIMEOUT, ERR_EOF (the stream ended first) or ERR_STREAM (a socket error).
 * It removes its listeners when done and never destroys the stream: the caller owns it.
 */
export function readLine(stream: Duplex, options: ReadLineOptions): Promise<string> {
  const { maxLineBytes, timeoutMs, accept, strictUtf8 } = options;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let buffered = 0;
    let done = false;

    const finish = (err: Error | null, line?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(line as string);
    };

    const onData = (chunk: Buffer | string): void => {
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      while (!done) {
        const nl = data.indexOf(0x0a);
        if (nl < 0) {
          if (buffered + data.length > maxLineBytes) {
            finish(new JsonlError('ERR_LINE_TOO_LONG', `line exceeds ${maxLineBytes} bytes`));
            return;
          }
          if (data.length > 0) {
            chunks.push(data);
            buffered += data.length;
          }
          return;
        }
        if (buffered + nl > maxLineBytes) {
          finish(new JsonlError('ERR_LINE_TOO_LONG', `line exceeds ${maxLineBytes} bytes`));
          return;
        }
        chunks.push(data.subarray(0, nl));
        const bytes = Buffer.concat(chunks);
        let line: string;
        if (strictUtf8) {
          try {
            line = strictDecoder.decode(bytes);
          } catch {
            finish(new JsonlError('ERR_INVALID_UTF8', 'line is not valid UTF-8'));
            return;
          }
        } else {
          line = bytes.toString('utf8');
        }
        chunks.length = 0;
        buffered = 0;
        data = data.subarray(nl + 1);
        if (!accept || accept(line)) {
          finish(null, line);
          return;
        }
      }
    };
    const onEnd = (): void => finish(new JsonlError('ERR_EOF', 'stream ended before a complete line'));
    const onError = (err: Error): void =>
      finish(new JsonlError('ERR_STREAM', `stream error: ${err.message}`, { cause: err }));
    const timer = setTimeout(
      () => finish(new JsonlError('ERR_READ_TIMEOUT', `no complete line within ${timeoutMs} ms`)),
      timeoutMs,
    );

    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.on('error', onError);
  });
}

/** Serialises one message as a JSON line. */
export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

export { findDuplicateKey, jsonNestingDepth } from './bounded-json.js';

/**
 * Parses untrusted JSON (parseBoundedJson): rejects texts nested deeper than `maxDepth` or with duplicate
 * keys, and drops `__proto__` / `constructor` / `prototype` keys so a payload cannot pollute prototypes
 * downstream. Throws ERR_JSON_INVALID / ERR_JSON_TOO_DEEP / ERR_JSON_DUPLICATE_KEY.
 */
export function parseUntrustedJson(text: string, maxDepth = 32): unknown {
  return parseBoundedJson(text, { maxDepth, dropPrototypeKeys: true });
}
