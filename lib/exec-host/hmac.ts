// HMAC-SHA256 authentication of `exec` lines (wire format of OpenClaw's exec host): keyed with the
// socket token *text*, over `nonce:ts:requestJson`, lowercase hex.
import crypto from 'node:crypto';

import { timingSafeEqualString } from '../common/constant-time.js';

/** Lowercase hex HMAC-SHA256 of `${nonce}:${ts}:${requestJson}` keyed with the token string's UTF-8 bytes. */
export function signExecRequest(token: string, nonce: string, ts: number, requestJson: string): string {
  return crypto
    .createHmac('sha256', Buffer.from(token, 'utf8'))
    .update(`${nonce}:${ts}:${requestJson}`, 'utf8')
    .digest('hex');
}

export function verifyExecRequest(
  token: string,
  nonce: string,
  ts: number,
  requestJson: string,
  hmac: string,
): boolean {
  return timingSafeEqualString(signExecRequest(token, nonce, ts, requestJson), hmac);
}

/** A client nonce: 16 random bytes as lowercase hex. */
export function newNonce(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** A socket token: 24 random bytes, base64url without padding (32 characters). */
export function newSocketToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}
