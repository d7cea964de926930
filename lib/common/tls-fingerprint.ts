// SHA-256 certificate fingerprints as OpenClaw writes and accepts them: the canonical form is 64 lower-case
// hex digits (what the Gateway prints, Bonjour's `gatewayTlsSha256` and node.json's
// `gateway.tlsFingerprint` carry). Input may also be upper case, colon-separated pairs (`AB:CD:…`, as
// openssl and Node's `fingerprint256` print it) and may start with `sha256:`.
import crypto from 'node:crypto';

import { timingSafeEqualString } from './constant-time.js';
import { IpcError } from './errors.js';

const HEX_64 = /^[0-9a-f]{64}$/i;
const COLON_PAIRS = /^(?:[0-9a-f]{2}:){31}[0-9a-f]{2}$/i;

/** The canonical form, or '' when `value` is not a SHA-256 fingerprint in any accepted spelling. */
export function normalizeTlsFingerprint(value: string | undefined | null): string {
  const text = (value ?? '').trim().replace(/^sha256:/i, '');
  if (HEX_64.test(text)) return text.toLowerCase();
  if (COLON_PAIRS.test(text)) return text.replaceAll(':', '').toLowerCase();
  return '';
}

/** The canonical form; ERR_TLS_FINGERPRINT_INVALID (naming `from`) when it is not one. */
export function requireTlsFingerprint(value: string, from = '--tls-fingerprint'): string {
  const normalized = normalizeTlsFingerprint(value);
  if (!normalized) {
    throw new IpcError(
      'ERR_TLS_FINGERPRINT_INVALID',
      `${from} must be a SHA-256 certificate fingerprint (64 hex digits, colons allowed), got ${JSON.stringify(value.slice(0, 120))}`,
    );
  }
  return normalized;
}

/** The canonical fingerprint of a certificate (PEM text or DER bytes). */
export function certificateFingerprint(cert: string | Buffer): string {
  return normalizeTlsFingerprint(new crypto.X509Certificate(cert).fingerprint256);
}

/** Constant-time equality of two canonical fingerprints (both must be non-empty). */
export function fingerprintsEqual(a: string, b: string): boolean {
  return a !== '' && b !== '' && timingSafeEqualString(a, b);
}
