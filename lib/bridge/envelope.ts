// Swift synthesized enum coding (SE-0295) for bridge messages: `{"<case>":{"_0":<payload>}}` with a payload,
// `{"<case>":{}}` without. Decoding follows what Swift's synthesized init(from:) does with JSONDecoder, in
// both directions (host: requests; client: responses):
//  - it takes `container.allKeys` and requires exactly one: "Invalid number of keys found, expected one."
//    (SE-0295, swiftlang/swift-evolution proposals/0295-…md, "init(from:) implementation");
//  - JSONDecoder's `allKeys` is `dictionary.keys.compactMap { K(stringValue: $0) }`
//    (swiftlang/swift-foundation Sources/FoundationEssentials/JSON/JSONDecoder.swift, KeyedContainer), so
//    keys that name no case are dropped before counting: `{"permissionsStatus":{},"x":1}` decodes, `{"x":1}`
//    and two case keys do not;
//  - the case's value is read with nestedContainer(keyedBy:), so it must be an object, and unknown keys in it
//    are ignored too; `_0` is decoded with decode(_:forKey:), so a payload case needs a non-null `_0`.
// Two deliberate differences, both refusals or drops of input no Swift encoder produces: duplicate keys are
// refused (swift-foundation keeps the first, NSJSONSerialization-based decoders the last: no single Swift
// answer), and `__proto__`/`constructor`/`prototype` keys are dropped (Swift would ignore them as unknown
// struct fields; dropping keeps them out of JS objects). Nesting is bounded at 64 (swift-foundation: 512).
import { BoundedJsonError, parseBoundedJson } from '../common/bounded-json.js';
import { BridgeError, type BridgeErrorEnvelope } from './errors.js';
import { BRIDGE_RESPONSE_CASES, isBridgeErrorCode, isKnownOperation, operationHasNoPayload } from './protocol.js';
import { bridgeErrorDetails, bridgeErrorEnvelope, bridgePermission, jsonObject } from './wire-schemas.js';

/** The one case whose operation name differs from its wire case name. */
const CASE_TO_OP: Readonly<Record<string, string>> = { appleScriptProbe: '_appleScriptProbe' };
const OP_TO_CASE: Readonly<Record<string, string>> = { _appleScriptProbe: 'appleScriptProbe' };

export const MAX_JSON_DEPTH = 64;

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

/** Parses UTF-8 JSON (bounded-json.ts): invalid UTF-8, nesting past 64 and duplicate keys are refused. */
export function parseSafeJson(bytes: Uint8Array): JsonValue {
  const text = utf8.decode(bytes);
  return parseBoundedJson(text, { maxDepth: MAX_JSON_DEPTH, dropPrototypeKeys: true }) as JsonValue;
}

/** The keys of `root` that name a case (Swift's `allKeys`: the others are not CodingKeys and are dropped). */
function caseKeys(root: Record<string, JsonValue>, isCase: (key: string) => boolean): string[] {
  return Object.keys(root).filter(isCase);
}

/** Request CodingKeys: `handshake` and every operation's wire case (the probe is `appleScriptProbe`). */
function isRequestCase(key: string): boolean {
  if (key === 'handshake') return true;
  if (key.startsWith('_')) return false;
  return isKnownOperation(CASE_TO_OP[key] ?? key);
}

const RESPONSE_CASES: ReadonlySet<string> = new Set(BRIDGE_RESPONSE_CASES);
const isResponseCase = (key: string): boolean => RESPONSE_CASES.has(key);

const isPlainObject = (value: unknown): value is Record<string, JsonValue> => jsonObject.check(value);

function parseProblem(err: unknown): string {
  return err instanceof BoundedJsonError || err instanceof TypeError ? err.message : String(err);
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
    return decodingFailed(parseProblem(err));
  }
  if (!isPlainObject(root)) return decodingFailed('request must be a JSON object');
  const keys = caseKeys(root, isRequestCase);
  if (keys.length !== 1) return decodingFailed(`request must have exactly one case key, found ${keys.length}`);
  const caseName = keys[0];
  const op = CASE_TO_OP[caseName] ?? caseName;
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
      details: parseProblem(err),
    });
  }
  const keys = isPlainObject(root) ? caseKeys(root, isResponseCase) : [];
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
  if (!bridgeErrorEnvelope.check(value)) {
    return new BridgeError({ code: 'decodingFailed', message: 'Failed to decode bridge error envelope' });
  }
  const fields = value as { code?: unknown; message: string; details?: unknown; permission?: unknown };
  // An unknown code from a newer host is still an error; keep its text, classify it as internalError.
  const code = isBridgeErrorCode(fields.code) ? fields.code : 'internalError';
  const envelope: BridgeErrorEnvelope = { code, message: fields.message };
  if (bridgeErrorDetails.check(fields.details)) envelope.details = fields.details;
  if (bridgePermission.check(fields.permission)) envelope.permission = fields.permission;
  return new BridgeError(envelope);
}
