// The Gateway's TLS settings as openclaw.json holds them (`gateway.tls`), and the fingerprint of the
// certificate a local Gateway serves: read by the Gateway (lib/gateway/tls.ts, which loads or generates the
// material) and by clients on the same host (lib/client/operator.ts, which pins it).
import path from 'node:path';

import { IpcError } from './errors.js';
import { configSection, type OpenclawConfig } from './openclaw-config.js';
import { expandHome, readTextFileBounded } from './state-dir.js';
import { certificateFingerprint } from './tls-fingerprint.js';

/** What a caller may set instead of (or over) `gateway.tls`. */
export interface GatewayTlsOptions {
  enabled?: boolean;
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  autoGenerate?: boolean;
}

export const MAX_PEM_BYTES = 64 * 1024;

export function defaultTlsPaths(stateDir: string): { certPath: string; keyPath: string } {
  const dir = path.join(stateDir, 'gateway', 'tls');
  return { certPath: path.join(dir, 'gateway-cert.pem'), keyPath: path.join(dir, 'gateway-key.pem') };
}

/** `gateway.tls` merged with `override`; every key type-checked (ERR_CONFIG_MALFORMED names the key). */
export function readTlsSettings(
  root: OpenclawConfig,
  file: string,
  override: GatewayTlsOptions = {},
): GatewayTlsOptions {
  const gateway = configSection(root, 'gateway', { file }) ?? {};
  const tls = configSection(gateway, 'tls', { file, path: 'gateway' }) ?? {};
  const pick = <T>(key: keyof GatewayTlsOptions, type: 'boolean' | 'string'): T | undefined => {
    const value = override[key] ?? tls[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== type || (type === 'string' && (value as string).trim() === ''))
      throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: gateway.tls.${key} must be a ${type}`);
    return (type === 'string' ? (value as string).trim() : value) as T;
  };
  return {
    enabled: pick<boolean>('enabled', 'boolean'),
    autoGenerate: pick<boolean>('autoGenerate', 'boolean'),
    certPath: pick<string>('certPath', 'string'),
    keyPath: pick<string>('keyPath', 'string'),
    caPath: pick<string>('caPath', 'string'),
  };
}

/** The fingerprint of the certificate a local Gateway serves (for clients on the same host); undefined when none. */
export function localGatewayFingerprint(stateDir: string, settings: GatewayTlsOptions): string | undefined {
  const certPath = path.resolve(expandHome(settings.certPath ?? defaultTlsPaths(stateDir).certPath));
  try {
    const cert = readTextFileBounded(certPath, { maxBytes: MAX_PEM_BYTES });
    return cert === undefined ? undefined : certificateFingerprint(cert) || undefined;
  } catch {
    return undefined; // unreadable or not a certificate: no implicit pin (the connect then fails verification)
  }
}
