// The PeekabooBridge payloads this package decodes, one TypeBox schema each, compiled once (on first use):
// the handshake request (host side), the handshake reply and the error envelope (client side). Strings and
// lists are bounded far above anything Peekaboo sends; nesting is bounded before a value gets here, by the
// parser (envelope.ts parseSafeJson: 64 levels). Unknown fields pass, as Swift's Codable ignores them.
import { Type, type Static } from '../protocol/typebox.js';
import { compileValidator } from '../protocol/validator.js';
import { BRIDGE_PERMISSIONS } from './protocol.js';

/** Any non-null, non-array object (a Swift keyed container); its keys are the caller's to read. */
export const jsonObject = compileValidator(Type.Object({}));

const MAX_TEXT = 64 * 1024;
const MAX_OPERATIONS = 4096;

const Int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const Name = Type.String({ maxLength: 1024 });

/** `{major, minor}`: UInt16-range integers on the request side (the host compares them). */
export const BridgeVersionSchema = Type.Object({ major: Int(0, 0xffff), minor: Int(0, 0xffff) });
export const bridgeVersion = compileValidator(BridgeVersionSchema);

/** A claimed identity string: Swift's `String?`, so null is "absent". */
const Claim = Type.Optional(Type.Union([Name, Type.Null()]));

/** `PeekabooBridgeClientInfo`: pid (Int32) plus claims the host checks against its allowlists. */
export const BridgeClientInfoSchema = Type.Object({
  processIdentifier: Int(-0x80000000, 0x7fffffff),
  bundleIdentifier: Claim,
  teamIdentifier: Claim,
  hostname: Claim,
});
export const bridgeClientInfo = compileValidator(BridgeClientInfoSchema);

/** `PeekabooBridgeHandshake` (the `_0` of a handshake request). */
export const BridgeHandshakeRequestSchema = Type.Object({
  protocolVersion: BridgeVersionSchema,
  client: BridgeClientInfoSchema,
});
export type BridgeHandshakeRequestWire = Static<typeof BridgeHandshakeRequestSchema>;
export const bridgeHandshakeRequest = compileValidator(BridgeHandshakeRequestSchema);

const Operations = Type.Array(Name, { maxItems: MAX_OPERATIONS });

/**
 * `PeekabooBridgeHandshakeResponse` as a client reads it. Only negotiatedVersion is required; the other
 * fields default when absent (hostKind/build "unknown", no operations, no permissions) but must have their
 * type when present. Unknown operation names from newer hosts pass: they are names, not cases.
 */
export const BridgeHandshakeResponseSchema = Type.Object({
  negotiatedVersion: Type.Object({ major: Type.Integer(), minor: Type.Integer() }),
  hostKind: Type.Optional(Name),
  build: Type.Optional(Name),
  supportedOperations: Type.Optional(Operations),
  enabledOperations: Type.Optional(Operations),
  permissions: Type.Optional(
    Type.Object(Object.fromEntries(BRIDGE_PERMISSIONS.map((p) => [p, Type.Optional(Type.Boolean())]))),
  ),
  permissionTags: Type.Optional(
    Type.Record(Type.String(), Type.Array(Name, { maxItems: 64 }), {
      maxProperties: MAX_OPERATIONS,
    }),
  ),
});
export type BridgeHandshakeResponseWire = Static<typeof BridgeHandshakeResponseSchema>;
export const bridgeHandshakeResponse = compileValidator(BridgeHandshakeResponseSchema);

/**
 * `PeekabooBridgeErrorEnvelope`: a message is required. The code is read when known (protocol.ts
 * isBridgeErrorCode), details and permission when they have their type; anything else there is dropped.
 */
export const BridgeErrorEnvelopeSchema = Type.Object({ message: Type.String({ maxLength: MAX_TEXT }) });
export const bridgeErrorEnvelope = compileValidator(BridgeErrorEnvelopeSchema);
export const bridgeErrorDetails = compileValidator(Type.String({ maxLength: MAX_TEXT }));
export const bridgePermission = compileValidator(Type.Union(BRIDGE_PERMISSIONS.map((p) => Type.Literal(p))));
