// Persistent Ed25519 device identity (<state>/identity/device.json, 0600) and the per-role device
// tokens a Gateway issues in hello-ok (<state>/identity/device-auth.json, 0600). File shapes follow
// OpenClaw's TS client so a state dir stays meaningful to both.
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import {
  deviceIdentityFromPrivateKeyPem,
  generateDeviceIdentity,
  type DeviceIdentity,
} from '../protocol/device-auth.js';
import { ensurePrivateDir, readJsonFile, writeFileAtomic } from '../common/state-dir.js';

export class IdentityError extends IpcError {}

export interface StoredIdentity extends DeviceIdentity {
  createdAtMs: number;
}

interface DeviceFile {
  version: 1;
  deviceId: string;
  publicKeyPem: string;
  privateKeyPem: string;
  createdAtMs: number;
}

export interface StoredDeviceToken {
  token: string;
  role: string;
  scopes: string[];
  updatedAtMs: number;
}

interface DeviceAuthFile {
  version: 1;
  deviceId: string;
  tokens: Record<string, StoredDeviceToken>;
}

export function identityDir(stateDir: string): string {
  return path.join(stateDir, 'identity');
}

/**
 * Loads the device identity from the state dir, creating it (and the 0700 identity dir) on first
 * use. A file whose deviceId does not match its key is refused rather than silently replaced: the
 * id is what pairing is bound to.
 */
export function loadOrCreateIdentity(stateDir: string): StoredIdentity {
  const dir = identityDir(stateDir);
  ensurePrivateDir(stateDir);
  ensurePrivateDir(dir);
  const file = path.join(dir, 'device.json');
  const stored = readJsonFile<Partial<DeviceFile>>(file);
  if (stored !== undefined) {
    if (stored.version !== 1 || typeof stored.privateKeyPem !== 'string') {
      throw new IdentityError('ERR_IDENTITY_MALFORMED', `${file}: unsupported or malformed device identity`);
    }
    let identity: DeviceIdentity;
    try {
      identity = deviceIdentityFromPrivateKeyPem(stored.privateKeyPem);
    } catch (err) {
      throw new IdentityError('ERR_IDENTITY_MALFORMED', `${file}: unreadable Ed25519 private key`, { cause: err });
    }
    if (stored.deviceId !== identity.deviceId) {
      throw new IdentityError('ERR_IDENTITY_MISMATCH', `${file}: deviceId does not match the stored key`);
    }
    return { ...identity, createdAtMs: typeof stored.createdAtMs === 'number' ? stored.createdAtMs : 0 };
  }
  const identity = generateDeviceIdentity();
  const content: DeviceFile = {
    version: 1,
    deviceId: identity.deviceId,
    publicKeyPem: identity.publicKeyPem,
    privateKeyPem: identity.privateKeyPem,
    createdAtMs: Date.now(),
  };
  writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, 0o600);
  return { ...identity, createdAtMs: content.createdAtMs };
}

function deviceAuthFile(stateDir: string): string {
  return path.join(identityDir(stateDir), 'device-auth.json');
}

/** The device token stored for (this device, role), if any. Tokens of another device id are ignored. */
export function loadDeviceToken(stateDir: string, deviceId: string, role: string): StoredDeviceToken | undefined {
  const stored = readJsonFile<Partial<DeviceAuthFile>>(deviceAuthFile(stateDir));
  if (!stored || stored.deviceId !== deviceId || typeof stored.tokens !== 'object' || stored.tokens === null)
    return undefined;
  const entry = Object.hasOwn(stored.tokens, role) ? stored.tokens[role] : undefined;
  return entry && typeof entry.token === 'string' && entry.token !== '' ? entry : undefined;
}

export function storeDeviceToken(stateDir: string, deviceId: string, entry: StoredDeviceToken): void {
  ensurePrivateDir(identityDir(stateDir));
  const file = deviceAuthFile(stateDir);
  let stored: Partial<DeviceAuthFile> | undefined;
  try {
    stored = readJsonFile<Partial<DeviceAuthFile>>(file);
  } catch {
    stored = undefined; // a corrupt token cache is rebuilt: the token is re-issued on the next connect
  }
  const tokens =
    stored?.deviceId === deviceId && stored.tokens && typeof stored.tokens === 'object' ? { ...stored.tokens } : {};
  tokens[entry.role] = entry;
  const content: DeviceAuthFile = { version: 1, deviceId, tokens };
  writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, 0o600);
}
