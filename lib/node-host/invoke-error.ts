// A node command's failure as it goes on the wire: `node.invoke.result ok:false error:{code, message}`.
// Codes are the node error vocabulary (INVALID_REQUEST, UNAVAILABLE, TIMEOUT, SYSTEM_RUN_DENIED …).
import { IpcError } from '../common/errors.js';

export type NodeErrorCode =
  'INVALID_REQUEST' | 'UNAVAILABLE' | 'TIMEOUT' | 'NOT_PAIRED' | 'UNAUTHORIZED' | 'SYSTEM_RUN_DENIED';

export class NodeCommandError extends IpcError {
  constructor(code: NodeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * The message without a leading `<code>: `. Gateways show a node error as `<code>: <message>` (spec §10.1),
 * so a message that repeats its code would reach the operator as `SYSTEM_RUN_DENIED: SYSTEM_RUN_DENIED: …`.
 */
export function withoutCodePrefix(code: string, message: string): string {
  const prefix = `${code}: `;
  return message.startsWith(prefix) && message.length > prefix.length ? message.slice(prefix.length) : message;
}

/** The `error` object of a failed node.invoke.result, from any thrown value. */
export function toWireError(err: unknown): { code: string; message: string } {
  if (err instanceof NodeCommandError) return { code: err.code, message: withoutCodePrefix(err.code, err.message) };
  if (err instanceof IpcError && /^[A-Z_]+$/.test(err.code))
    return { code: err.code, message: withoutCodePrefix(err.code, err.message) };
  return { code: 'UNAVAILABLE', message: `command failed: ${(err as Error)?.message ?? String(err)}` };
}
