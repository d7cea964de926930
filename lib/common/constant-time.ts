// Constant-time equality for secrets (tokens, MACs, nonces) compared against attacker input.
import crypto from 'node:crypto';

/**
 * Constant-time string equality. Both sides are hashed to fixed-size SHA-256 digests over their
 * UTF-16 code units, then compared with crypto.timingSafeEqual, so neither the position of the
 * first difference nor the length of the secret leaks. UTF-16 (not UTF-8) keeps the encoding
 * lossless: UTF-8 maps every lone surrogate to U+FFFD, which would make distinct strings equal.
 * Case-sensitive and exact (no normalisation).
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  return crypto.timingSafeEqual(digest(a), digest(b));
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf16le').digest();
}
