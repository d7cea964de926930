// HMAC-SHA256 authentication of `exec` lines (wire format of OpenClaw's exec host): keyed with the
// socket token *text*, over `nonce:ts:requestJson`, lowercase hex. Plus constant-time comparisons.
import crypto from 'node:crypto';

/** Lowercase hex HMAC-SHA256 of `${nonce}:${ts}:${requestJson}` keyed with the token string's UTF-8 bytes. */
export function signExecRequest(token: string, nonce: string, ts: number, requestJson: string): string {
  return crypto.createHmac('sha256', Buffer.from(token, 'utf8')).update(`${nonce}:${ts}:${requestJson}`, 'utf8').digest('hex');
}

/**
 * Constant-time equality of two strings. Unequal lengths are rejected without comparing contents
 * (the length of a hex MAC or token is public). Case-sensitive, so an uppercase MAC fails.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    // Still spend a comparison so the two paths cost about the same.
    crypto.timingSafeEqual(ab, ab);
    return false;
  }
  return crypto.timingSafeEqual(ab, bb);
}

export function verifyExecRequest(token: string, nonce: string, ts: number, requestJson: string, hmac: string): boolean {
  return constantTimeEqual(signExecRequest(token, nonce, ts, requestJson), hmac);
}

/** A client nonce: 16 random bytes as lowercase hex. */
export function newNonce(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** A socket token: 24 random bytes, base64url without padding (32 characters). */
export function newSocketToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}
