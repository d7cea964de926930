// The openclaw.json sections openclaw-ipc reads, one TypeBox schema each, compiled once (on first use).
// The file itself is parsed by lib/common/openclaw-config.ts (JSON5, nesting bounded at MAX_JSON_FILE_DEPTH);
// these bound and type the values we act on. Keys we do not read pass and are kept: OpenClaw owns the rest.
// Here, not in a role, because the Gateway (which enforces) and the client (which presents) read the same keys.
import { Type } from './typebox.js';
import { compileValidator } from './validator.js';

export const GATEWAY_AUTH_MODES = ['none', 'token', 'password'] as const;

/** Far above upstream's 48-hex-digit tokens and any password a person types. */
export const MAX_CONFIG_SECRET_LENGTH = 4096;
const Secret = Type.String({ maxLength: MAX_CONFIG_SECRET_LENGTH });

/**
 * `gateway.auth`: token a string; password a string, or a secret-provider reference object (which
 * openclaw-ipc cannot resolve; auth-config.ts says so), or null for "unset". `mode` is checked on its own
 * (gatewayAuthMode), because an unsupported mode has its own error.
 */
export const GatewayAuthSectionSchema = Type.Object({
  token: Type.Optional(Secret),
  password: Type.Optional(Type.Union([Secret, Type.Object({}), Type.Null()])),
});
export const gatewayAuthSection = compileValidator(GatewayAuthSectionSchema);
export const gatewayAuthMode = compileValidator(Type.Union(GATEWAY_AUTH_MODES.map((mode) => Type.Literal(mode))));

/** One secret value (gateway.auth.token, a plain gateway.auth.password). */
export const configSecret = compileValidator(Secret);
/** Any string: tells "too long" from "not a string" in a message. */
export const configString = compileValidator(Type.String());

export const MAX_ALLOWED_ORIGINS = 256;
/** `gateway.controlUi.allowedOrigins`: origins (or "*"); null is "unset". */
export const AllowedOriginsSchema = Type.Union([
  Type.Array(Type.String({ maxLength: 2048 }), { maxItems: MAX_ALLOWED_ORIGINS }),
  Type.Null(),
]);
export const allowedOriginsList = compileValidator(AllowedOriginsSchema);
