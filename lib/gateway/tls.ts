// The Gateway's TLS material (`gateway.tls` in openclaw.json, upstream's keys): `enabled` (default false),
// `certPath`/`keyPath` (default <state>/gateway/tls/gateway-cert.pem and gateway-key.pem), `caPath`, and
// `autoGenerate` (default true: when BOTH files are missing a self-signed certificate is generated and
// stored 0600; one file without the other is an error, never overwritten). The same certificate is reused
// on every start, so its fingerprint stays what nodes pinned.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { MAX_PEM_BYTES, defaultTlsPaths, type GatewayTlsOptions } from '../common/gateway-tls-settings.js';
import { ensurePrivateDir, expandHome, readTextFileBounded, writeFileAtomic } from '../common/state-dir.js';
import { certificateFingerprint } from '../common/tls-fingerprint.js';
import { generateSelfSignedCertificate } from './self-signed-cert.js';

export { defaultTlsPaths, readTlsSettings, type GatewayTlsOptions } from '../common/gateway-tls-settings.js';

export interface GatewayTlsMaterial {
  cert: string;
  key: string;
  ca?: string;
  certPath: string;
  keyPath: string;
  /** 64 lower-case hex digits: what clients pin (`--tls-fingerprint`) and Bonjour advertises. */
  fingerprintSha256: string;
  /** True when this start generated the pair. */
  generated: boolean;
}

function tlsError(message: string, cause?: unknown): IpcError {
  return new IpcError('ERR_GATEWAY_TLS_CONFIG', message, cause === undefined ? {} : { cause });
}

function readPem(file: string, what: string): string | undefined {
  try {
    return readTextFileBounded(file, {
      maxBytes: MAX_PEM_BYTES,
      refuse: (_problem, message) => tlsError(`gateway tls: ${what}: ${message}`),
    });
  } catch (err) {
    if (err instanceof IpcError) throw err;
    throw tlsError(`gateway tls: cannot read the ${what} ${file}: ${(err as Error).message}`, err);
  }
}

/**
 * Loads (or first generates) the certificate and key. ERR_GATEWAY_TLS_CONFIG when a file is missing,
 * unreadable, not PEM, or the key does not belong to the certificate.
 */
export function loadGatewayTls(
  stateDir: string,
  settings: GatewayTlsOptions,
  altNames: { ipAddresses?: string[] } = {},
): GatewayTlsMaterial {
  const defaults = defaultTlsPaths(stateDir);
  const certPath = path.resolve(expandHome(settings.certPath ?? defaults.certPath));
  const keyPath = path.resolve(expandHome(settings.keyPath ?? defaults.keyPath));
  let cert = readPem(certPath, 'certificate');
  let key = readPem(keyPath, 'private key');
  let generated = false;
  if (cert === undefined && key === undefined && settings.autoGenerate !== false) {
    const pair = generateSelfSignedCertificate({
      ipAddresses: [...new Set(['127.0.0.1', '::1', ...(altNames.ipAddresses ?? [])])],
    });
    for (const file of [certPath, keyPath]) {
      if (path.dirname(file) === path.dirname(defaults.certPath)) ensurePrivateDir(path.dirname(file));
      else fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    }
    writeFileAtomic(keyPath, pair.keyPem, 0o600);
    writeFileAtomic(certPath, pair.certPem, 0o600);
    ({ certPem: cert, keyPem: key } = pair);
    generated = true;
  }
  if (cert === undefined || key === undefined) {
    const missing = cert === undefined ? certPath : keyPath;
    const why =
      settings.autoGenerate === false
        ? ' (gateway.tls.autoGenerate is false)'
        : ' (a certificate is generated only when both files are missing)';
    throw tlsError(`gateway tls: ${missing} is missing${why}`);
  }
  let fingerprintSha256: string;
  try {
    const x509 = new crypto.X509Certificate(cert);
    if (!x509.checkPrivateKey(crypto.createPrivateKey(key)))
      throw tlsError(`gateway tls: ${keyPath} is not the key of ${certPath}`);
    fingerprintSha256 = certificateFingerprint(cert);
  } catch (err) {
    if (err instanceof IpcError) throw err;
    throw tlsError(`gateway tls: ${certPath} / ${keyPath}: ${(err as Error).message}`, err);
  }
  const ca = settings.caPath ? readPem(path.resolve(expandHome(settings.caPath)), 'CA bundle') : undefined;
  if (settings.caPath && ca === undefined) throw tlsError(`gateway tls: ${settings.caPath} is missing`);
  return { cert, key, ...(ca ? { ca } : {}), certPath, keyPath, fingerprintSha256, generated };
}
