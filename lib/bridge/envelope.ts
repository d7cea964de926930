// Swift synthesized enum coding (SE-0295) for bridge messages: an object with exactly one key, the case
// name; `{"<case>":{"_0":<payload>}}` with a payload, `{"<case>":{}}` without. Decoding is strict for
// requests (a host must not be crashed or polluted by input) and tolerant of unknown fields in responses.
import { BridgeError, type BridgeErrorEnvelope } from './errors.js';
import { isBridgeErrorCode, isKnownOperation, operationHasNoPayload } from './protocol.js';

/** The one case whose operation name differs from its wire case name. */
const CASE_TO_OP: Readonly<Record<string, string>> = { appleScriptProbe: '_appleScriptProbe' };
const OP_TO_CASE: Readonly<Record<string, string>> = { _appleScriptProbe: 'appleScriptProbe' };

export const MAX_JSON_DEPTH = 64;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface DecodedRequest {
  /** Operation name (`handshake` or a pb-1.7 operation; `_appleScriptProbe` for the probe). */
  op: string;
  /** The `_0` payload; undefined for payload-less cases. */
  payload?: JsonValue;
}

export type RequestDecodeResult = { ok: true; request: DecodedRequest } | { ok: false; error: BridgeErrorEnvelope };

export interface DecodedResponse {
  /** Response case name (`handshake`, `ok`, `snapshotId`, …). */
  case: string;
  /** The `_0` value; undefined when the case has none (or an optional is nil). */
  value?: unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses UTF-8 JSON, rejecting invalid UTF-8, excessive nesting and prototype-polluting keys. */
export function parseSafeJson(bytes: Uint8Array): JsonValue {
  const text = utf8.decode(bytes);
  const value = JSON.parse(text) as JsonValue;
  checkShape(value, 0);
  return value;
}

function checkShape(value: JsonValue, depth: number): void {
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_JSON_DEPTH) throw new Error(`nesting deeper than ${MAX_JSON_DEPTH}`);
  if (Array.isArray(value)) {
    for (const item of value) checkShape(item, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new Error(`forbidden key ${key}`);
    checkShape(value[key], depth + 1);
  }
}

function isPlainObject(value: unknown): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const DECODING_FAILED: BridgeErrorEnvelope = Object.freeze({
  code: 'decodingFailed',
  message: 'Failed to decode request',
});

function decodingFailed(details: string): RequestDecodeResult {
  return { ok: false, error: { ...DECODING_FAILED, details } };
}

/** Host side: one request message → operation + payload, or a `decodingFailed` envelope. */
export function decodeRequest(bytes: Uint8Array): RequestDecodeResult {
  let root: JsonValue;
  try {
    root = parseSafeJson(bytes);
  } catch (err) {
    return decodingFailed((err as Error).message);
  }
  if (!isPlainObject(root)) return decodingFailed('request must be a JSON object');
  const keys = Object.keys(root);
  if (keys.length !== 1) return decodingFailed(`request must have exactly one case key, found ${keys.length}`);
  const caseName = keys[0];
  const op = CASE_TO_OP[caseName] ?? caseName;
  if (op !== 'handshake' && (!isKnownOperation(op) || caseName.startsWith('_'))) {
    return decodingFailed(`unknown request case ${JSON.stringify(caseName.slice(0, 64))}`);
  }
  const body = root[caseName];
  if (!isPlainObject(body)) return decodingFailed(`case ${caseName} must be an object`);
  if (op !== 'handshake' && operationHasNoPayload(op)) return { ok: true, request: { op } };
  if (!Object.hasOwn(body, '_0') || body._0 === null) return decodingFailed(`case ${caseName} needs a _0 payload`);
  return { ok: true, request: { op, payload: body._0 } };
}

/** Client side: the request bytes for `op` (payload undefined → `{"<case>":{}}`). */
export function encodeRequest(op: string, payload?: unknown): Buffer {
  return encodeCase(OP_TO_CASE[op] ?? op, payload);
}

/** Either side: `{"<case>":{"_0":value}}`, or `{"<case>":{}}` when value is undefined. */
export function encodeCase(caseName: string, value?: unknown): Buffer {
  const body = value === undefined ? {} : { _0: value };
  return Buffer.from(JSON.stringify({ [caseName]: body }), 'utf8');
}

export function encodeError(envelope: BridgeErrorEnvelope): Buffer {
  return encodeCase('error', envelope);
}

/**
 * Client side: one response message → case and value. An empty message is `internalError`
 * "Bridge host returned no response"; an undecodable one `decodingFailed`; an `error` case throws its envelope.
 */
export function decodeResponse(bytes: Uint8Array): DecodedResponse {
  if (bytes.length === 0) {
    throw new BridgeError({ code: 'internalError', message: 'Bridge host returned no response' });
  }
  let root: JsonValue;
  try {
    root = parseSafeJson(bytes);
  } catch (err) {
    throw new BridgeError({
      code: 'decodingFailed',
      message: 'Failed to decode bridge response',
      details: (err as Error).message,
    });
  }
  const keys = isPlainObject(root) ? Object.keys(root) : [];
  if (!isPlainObject(root) || keys.length !== 1 || !isPlainObject(root[keys[0]])) {
    throw new BridgeError({
      code: 'decodingFailed',
      message: 'Failed to decode bridge response',
      details: 'not a single-case envelope',
    });
  }
  const caseName = keys[0];
  const body = root[caseName] as Record<string, JsonValue>;
  const value = Object.hasOwn(body, '_0') && body._0 !== null ? body._0 : undefined;
  if (caseName === 'error') throw errorFromEnvelopeValue(value);
  return value === undefined ? { case: caseName } : { case: caseName, value };
}

function errorFromEnvelopeValue(value: unknown): BridgeError {
  if (!isPlainObject(value) || typeof value.message !== 'string') {
    return new BridgeError({ code: 'decodingFailed', message: 'Failed to decode bridge error envelope' });
  }
  // An unknown code from a newer host is still an error; keep its text, classify it as internalError.
  const code = isBridgeErrorCode(value.code) ? value.code : 'internalError';
  const envelope: BridgeErrorEnvelope = { code, message: value.message };
  if (typeof value.details === 'string') envelope.details = value.details;
  if (typeof value.permission === 'string') envelope.permission = value.permission as BridgeErrorEnvelope['permission'];
  return new BridgeError(envelope);
}
