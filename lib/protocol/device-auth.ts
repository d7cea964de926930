// Ed25519 device identity: id derivation, the signed connect payloads (v3, v2), signing and the
// server-side verification in the spec's order (gateway-protocol.md §4). Pure: node:crypto only, no I/O.
import crypto from 'node:crypto';

import { timingSafeEqualString } from '../common/constant-time.js';
import { base64UrlDecode, base64UrlEncode } from './base64url.js';
import { DEVICE_SIGNATURE_SKEW_MS } from './constants.js';
import { DeviceAuthReason, type DeviceAuthFailureCode } from './errors.js';

/** DER prefix that turns a raw 32-byte Ed25519 key into an SPKI structure. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_RAW_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

export interface DeviceIdentity {
  /** hex SHA-256 of the raw public key. */
  deviceId: string;
  /** base64url (no padding) of the raw 32-byte public key. */
  publicKey: string;
  publicKeyPem: string;
  privateKeyPem: string;
}

/** Fields that go into the signed payload. */
export interface DeviceAuthPayloadInput {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  /** Signed exactly as sent, in order. */
  scopes: readonly string[];
  signedAtMs: number;
  /** First non-empty of auth.token, auth.deviceToken, auth.bootstrapToken; else "". */
  token?: string | null;
  nonce: string;
  platform?: string | null;
  deviceFamily?: string | null;
}

/** Trims and lowercases ASCII A–Z only (non-ASCII letters are left alone, as upstream does). */
export function normalizeDeviceMetadata(value: string | null | undefined): string {
  return (value ?? '').trim().replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Fields v2 and v3 share, in signing order, after the version tag. */
function signedFields(input: DeviceAuthPayloadInput): string[] {
  return [
    input.deviceId,
    input.clientId,
    input.clientMode,
    input.role,
    input.scopes.join(','),
    String(input.signedAtMs),
    input.token ?? '',
    input.nonce,
  ];
}

/** v3 = v2's fields plus the normalised platform and device family. */
export function buildDeviceAuthPayloadV3(input: DeviceAuthPayloadInput): string {
  return [
    'v3',
    ...signedFields(input),
    normalizeDeviceMetadata(input.platform),
    normalizeDeviceMetadata(input.deviceFamily),
  ].join('|');
}

export function buildDeviceAuthPayloadV2(input: DeviceAuthPayloadInput): string {
  return ['v2', ...signedFields(input)].join('|');
}

/** The token that the payload signs: first non-empty of token, deviceToken, bootstrapToken. */
export function selectSignedToken(
  auth: { token?: string; deviceToken?: string; bootstrapToken?: string } | undefined,
): string {
  for (const candidate of [auth?.token, auth?.deviceToken, auth?.bootstrapToken]) {
    if (typeof candidate === 'string' && candidate.length > 0) return candidate;
  }
  return '';
}

/** Lowercase hex SHA-256 of the raw public key bytes. */
export function deriveDeviceId(rawPublicKey: Uint8Array): string {
  return crypto.createHash('sha256').update(rawPublicKey).digest('hex');
}

/**
 * The raw 32 key bytes of a wire `publicKey`: base64url of the raw key, or a PEM SPKI.
 * Undefined when it is neither (the id check then fails; the key check reports it).
 */
export function rawPublicKeyFromWire(publicKey: string): Buffer | undefined {
  if (publicKey.includes('-----BEGIN')) {
    try {
      const key = crypto.createPublicKey(publicKey);
      if (key.asymmetricKeyType !== 'ed25519') return undefined;
      const der = key.export({ format: 'der', type: 'spki' });
      return der.subarray(der.length - ED25519_RAW_KEY_BYTES);
    } catch {
      return undefined;
    }
  }
  return base64UrlDecode(publicKey);
}

/** A node:crypto KeyObject for raw Ed25519 key bytes; undefined if they are not a valid key. */
export function publicKeyFromRaw(raw: Uint8Array): crypto.KeyObject | undefined {
  if (raw.length !== ED25519_RAW_KEY_BYTES) return undefined;
  try {
    return crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

export function rawPublicKeyFromKeyObject(key: crypto.KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - ED25519_RAW_KEY_BYTES);
}

/** A fresh identity (key generation is CPU only; persisting it is the caller's job). */
export function generateDeviceIdentity(): DeviceIdentity {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return identityFromKeys(publicKey, privateKey);
}

/** Rebuilds the identity from a stored private key PEM (the public half is derived, never trusted from disk). */
export function deviceIdentityFromPrivateKeyPem(privateKeyPem: string): DeviceIdentity {
  const privateKey = crypto.createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('device private key is not Ed25519');
  return identityFromKeys(crypto.createPublicKey(privateKey), privateKey);
}

/** Identity from a 32-byte Ed25519 seed (RFC 8032 private key); used for test vectors. */
export function deviceIdentityFromSeed(seed: Uint8Array): DeviceIdentity {
  if (seed.length !== 32) throw new TypeError('Ed25519 seed must be 32 bytes');
  // PKCS#8 wrapper for an Ed25519 seed: fixed 16-byte header + the seed.
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const privateKey = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return identityFromKeys(crypto.createPublicKey(privateKey), privateKey);
}

function identityFromKeys(publicKey: crypto.KeyObject, privateKey: crypto.KeyObject): DeviceIdentity {
  const raw = rawPublicKeyFromKeyObject(publicKey);
  return {
    deviceId: deriveDeviceId(raw),
    publicKey: base64UrlEncode(raw),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** base64url Ed25519 signature of the UTF-8 payload. */
export function signDevicePayload(privateKeyPem: string | crypto.KeyObject, payload: string): string {
  const key = typeof privateKeyPem === 'string' ? crypto.createPrivateKey(privateKeyPem) : privateKeyPem;
  return base64UrlEncode(crypto.sign(null, Buffer.from(payload, 'utf8'), key));
}

export function verifyDevicePayload(publicKey: crypto.KeyObject, payload: string, signature: string): boolean {
  const sig = base64UrlDecode(signature);
  if (!sig || sig.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return crypto.verify(null, Buffer.from(payload, 'utf8'), publicKey, sig);
  } catch {
    return false;
  }
}

/** `connect.params.device`. */
export interface ConnectDevice {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce: string;
}

export interface SignConnectInput {
  identity: Pick<DeviceIdentity, 'deviceId' | 'publicKey' | 'privateKeyPem'>;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  token?: string | null;
  nonce: string;
  signedAtMs: number;
  platform?: string | null;
  deviceFamily?: string | null;
  /** Which payload to sign; v3 unless talking to an old gateway. */
  version?: 'v3' | 'v2';
}

/** Builds the `device` object of a connect request (client side). */
export function signConnectDevice(input: SignConnectInput): ConnectDevice {
  const payloadInput: DeviceAuthPayloadInput = { ...input, deviceId: input.identity.deviceId };
  const payload =
    input.version === 'v2' ? buildDeviceAuthPayloadV2(payloadInput) : buildDeviceAuthPayloadV3(payloadInput);
  return {
    id: input.identity.deviceId,
    publicKey: input.identity.publicKey,
    signature: signDevicePayload(input.identity.privateKeyPem, payload),
    signedAt: input.signedAtMs,
    nonce: input.nonce,
  };
}

export interface VerifyConnectDeviceInput {
  device: ConnectDevice;
  /** The nonce this connection's challenge carried. */
  expectedNonce: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  token: string;
  platform?: string | null;
  deviceFamily?: string | null;
  nowMs: number;
  skewMs?: number;
}

export type DeviceAuthVerdict =
  | { ok: true; deviceId: string; rawPublicKey: Buffer; payloadVersion: 'v3' | 'v2' }
  | { ok: false; code: DeviceAuthFailureCode; reason: string; message: string };

function fail(code: DeviceAuthFailureCode, message: string): DeviceAuthVerdict {
  return { ok: false, code, reason: DeviceAuthReason[code], message };
}

/**
 * Server-side device checks in the order of spec §4.3: id = sha256(key), signedAt skew, nonce present,
 * nonce = challenge, v3 then v2 signature, key validity. The first failure wins.
 */
export function verifyConnectDevice(input: VerifyConnectDeviceInput): DeviceAuthVerdict {
  const { device } = input;
  const raw = rawPublicKeyFromWire(device.publicKey);
  if (!raw || !timingSafeEqualString(deriveDeviceId(raw), device.id.toLowerCase())) {
    return fail('DEVICE_AUTH_DEVICE_ID_MISMATCH', 'device identity mismatch');
  }
  const skew = input.skewMs ?? DEVICE_SIGNATURE_SKEW_MS;
  if (!Number.isFinite(device.signedAt) || Math.abs(input.nowMs - device.signedAt) > skew) {
    return fail('DEVICE_AUTH_SIGNATURE_EXPIRED', 'device signature expired');
  }
  if (!device.nonce) return fail('DEVICE_AUTH_NONCE_REQUIRED', 'device nonce required');
  if (!timingSafeEqualString(device.nonce, input.expectedNonce)) {
    return fail('DEVICE_AUTH_NONCE_MISMATCH', 'device nonce mismatch');
  }
  const key = publicKeyFromRaw(raw);
  const payloadInput: DeviceAuthPayloadInput = {
    deviceId: device.id,
    clientId: input.clientId,
    clientMode: input.clientMode,
    role: input.role,
    scopes: input.scopes,
    signedAtMs: device.signedAt,
    token: input.token,
    nonce: device.nonce,
    platform: input.platform,
    deviceFamily: input.deviceFamily,
  };
  if (key) {
    if (verifyDevicePayload(key, buildDeviceAuthPayloadV3(payloadInput), device.signature)) {
      return { ok: true, deviceId: device.id.toLowerCase(), rawPublicKey: raw, payloadVersion: 'v3' };
    }
    if (verifyDevicePayload(key, buildDeviceAuthPayloadV2(payloadInput), device.signature)) {
      return { ok: true, deviceId: device.id.toLowerCase(), rawPublicKey: raw, payloadVersion: 'v2' };
    }
    return fail('DEVICE_AUTH_SIGNATURE_INVALID', 'device signature invalid');
  }
  return fail('DEVICE_AUTH_PUBLIC_KEY_INVALID', 'device public key invalid');
}

/** Re-exported for existing importers; the one implementation lives in lib/common/constant-time.ts. */
export { timingSafeEqualString };
