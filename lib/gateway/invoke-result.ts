// The node.invoke answer built from a node's outcome, and the form it takes in the idempotency cache.
import { parseBoundedJson } from '../common/bounded-json.js';
import { MAX_FRAME_JSON_DEPTH } from '../protocol/constants.js';
import { DetailCode, ErrorCode, GatewayProtocolError } from '../protocol/errors.js';
import type { InvokeOutcome } from './node-registry.js';

export interface InvokeResultPayload {
  ok: true;
  nodeId: string;
  command: string;
  payload: unknown;
  payloadJSON: string | null;
}

export type CachedInvoke = { ok: true; value: InvokeResultPayload } | { ok: false; error: unknown };

/** The `node.invoke` payload for a successful outcome; throws the protocol error for a failed one. */
export function outcomeToResult(nodeId: string, command: string, outcome: InvokeOutcome): InvokeResultPayload {
  if (outcome.ok) {
    let payload: unknown = outcome.payload ?? null;
    let payloadJSON: string | null = null;
    if (typeof outcome.payloadJSON === 'string') {
      payloadJSON = outcome.payloadJSON;
      try {
        payload = parseBoundedJson(outcome.payloadJSON, { maxDepth: MAX_FRAME_JSON_DEPTH, rejectDuplicateKeys: false });
      } catch {
        // Unparseable (or nested past the bound): the raw text, as upstream does for unparseable JSON.
        payload = { payloadJSON: outcome.payloadJSON };
      }
    }
    return { ok: true, nodeId, command, payload, payloadJSON };
  }
  const { error } = outcome;
  if (outcome.kind === 'disconnected' && error.code === 'NOT_CONNECTED') {
    throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, error.message, {
      details: { code: DetailCode.NOT_CONNECTED, nodeId },
    });
  }
  if (outcome.kind === 'cancelled') {
    throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, `node invoke cancelled: ${error.message}`, {
      details: { code: 'CANCELLED', nodeCommandDispatched: true },
      retryable: false,
    });
  }
  if (outcome.kind === 'disconnected' || outcome.kind === 'send-failed') {
    throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, error.message, {
      details: { nodeCommandDispatched: outcome.kind === 'disconnected' },
      retryable: false,
    });
  }
  // `<code>: <message>` (spec §10.1), without repeating a code the node already put in front of its message.
  const message = error.message.startsWith(`${error.code}: `) ? error.message : `${error.code}: ${error.message}`;
  throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, message, {
    details: { nodeError: { code: error.code, message: error.message }, nodeCommandDispatched: true },
    retryable: false,
  });
}

/** outcomeToResult as a value: success or the error to answer with. */
export function toCachedInvoke(nodeId: string, command: string, outcome: InvokeOutcome): CachedInvoke {
  try {
    return { ok: true, value: outcomeToResult(nodeId, command, outcome) };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Bytes an outcome costs in the idempotency cache: its JSON text as UTF-16. A node may send the result
 * as a value instead of payloadJSON; that value is measured by its JSON text too, else the cache's byte
 * bound would not hold for it.
 */
export function cachedInvokeBytes(outcome: InvokeOutcome): number {
  if (!outcome.ok) return 256;
  const text = outcome.payloadJSON ?? (outcome.payload === undefined ? undefined : JSON.stringify(outcome.payload));
  return (text?.length ?? 256) * 2;
}
