// Error codes carried in `res.error` and the typed error that maps onto them (spec §3.5, §4.3, §9, §11).
import { IpcError } from '../common/errors.js';

/** Top-level `error.code` values (OpenClaw's error codes, plus what nodes report). */
export const ErrorCode = {
  NOT_LINKED: 'NOT_LINKED',
  NOT_PAIRED: 'NOT_PAIRED',
  AGENT_TIMEOUT: 'AGENT_TIMEOUT',
  INVALID_REQUEST: 'INVALID_REQUEST',
  APPROVAL_NOT_FOUND: 'APPROVAL_NOT_FOUND',
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Finer reasons, sent as `error.details.code`. */
export const DetailCode = {
  DEVICE_IDENTITY_REQUIRED: 'DEVICE_IDENTITY_REQUIRED',
  DEVICE_AUTH_DEVICE_ID_MISMATCH: 'DEVICE_AUTH_DEVICE_ID_MISMATCH',
  DEVICE_AUTH_SIGNATURE_EXPIRED: 'DEVICE_AUTH_SIGNATURE_EXPIRED',
  DEVICE_AUTH_NONCE_REQUIRED: 'DEVICE_AUTH_NONCE_REQUIRED',
  DEVICE_AUTH_NONCE_MISMATCH: 'DEVICE_AUTH_NONCE_MISMATCH',
  DEVICE_AUTH_SIGNATURE_INVALID: 'DEVICE_AUTH_SIGNATURE_INVALID',
  DEVICE_AUTH_PUBLIC_KEY_INVALID: 'DEVICE_AUTH_PUBLIC_KEY_INVALID',
  AUTH_TOKEN_MISMATCH: 'AUTH_TOKEN_MISMATCH',
  AUTH_TOKEN_MISSING: 'AUTH_TOKEN_MISSING',
  AUTH_DEVICE_TOKEN_MISMATCH: 'AUTH_DEVICE_TOKEN_MISMATCH',
  AUTH_PASSWORD_MISSING: 'AUTH_PASSWORD_MISSING',
  AUTH_PASSWORD_MISMATCH: 'AUTH_PASSWORD_MISMATCH',
  AUTH_RATE_LIMITED: 'AUTH_RATE_LIMITED',
  PAIRING_REQUIRED: 'PAIRING_REQUIRED',
  PAIRING_CHANGED: 'PAIRING_CHANGED',
  NOT_CONNECTED: 'NOT_CONNECTED',
  RAW_COMMAND_MISMATCH: 'RAW_COMMAND_MISMATCH',
  MISSING_RUN_ID: 'MISSING_RUN_ID',
  UNKNOWN_APPROVAL_ID: 'UNKNOWN_APPROVAL_ID',
  APPROVAL_EXPIRED: 'APPROVAL_EXPIRED',
  APPROVAL_NODE_MISMATCH: 'APPROVAL_NODE_MISMATCH',
  APPROVAL_DEVICE_MISMATCH: 'APPROVAL_DEVICE_MISMATCH',
  APPROVAL_CLIENT_MISMATCH: 'APPROVAL_CLIENT_MISMATCH',
  APPROVAL_REQUIRED: 'APPROVAL_REQUIRED',
} as const;
export type DetailCodeValue = (typeof DetailCode)[keyof typeof DetailCode];

/** `reason` strings of the device-signature checks (§4.3), keyed by their detail code. */
export const DeviceAuthReason = {
  DEVICE_AUTH_DEVICE_ID_MISMATCH: 'device-id-mismatch',
  DEVICE_AUTH_SIGNATURE_EXPIRED: 'device-signature-stale',
  DEVICE_AUTH_NONCE_REQUIRED: 'device-nonce-missing',
  DEVICE_AUTH_NONCE_MISMATCH: 'device-nonce-mismatch',
  DEVICE_AUTH_SIGNATURE_INVALID: 'device-signature',
  DEVICE_AUTH_PUBLIC_KEY_INVALID: 'device-public-key',
} as const;
export type DeviceAuthFailureCode = keyof typeof DeviceAuthReason;

/** The `error` object of a `res` frame. */
export interface ErrorShape {
  code: string;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

/**
 * A protocol-level failure: `code` is the wire `error.code` (INVALID_REQUEST, UNAVAILABLE …), `details`
 * goes out as-is. Thrown by request handlers and by clients that receive an error response.
 */
export class GatewayProtocolError extends IpcError {
  readonly details?: unknown;
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;

  constructor(
    code: string,
    message: string,
    extra: { details?: unknown; retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(code, message, { cause: extra.cause });
    if (extra.details !== undefined) this.details = extra.details;
    if (extra.retryable !== undefined) this.retryable = extra.retryable;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
  }

  toErrorShape(): ErrorShape {
    return errorShape(this.code, this.message, this);
  }

  static fromErrorShape(error: ErrorShape): GatewayProtocolError {
    return new GatewayProtocolError(error.code, error.message, error);
  }
}

export function errorShape(
  code: string,
  message: string,
  extra: { details?: unknown; retryable?: boolean; retryAfterMs?: number } = {},
): ErrorShape {
  const shape: ErrorShape = { code, message };
  if (extra.details !== undefined) shape.details = extra.details;
  if (extra.retryable !== undefined) shape.retryable = extra.retryable;
  if (extra.retryAfterMs !== undefined) shape.retryAfterMs = extra.retryAfterMs;
  return shape;
}

/** Cuts a close reason to the byte budget without splitting a UTF-8 sequence. */
export function truncateCloseReason(reason: string, maxBytes = 120): string {
  const buf = Buffer.from(reason, 'utf8');
  if (buf.length <= maxBytes) return reason;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}
