// The shared gateway token: OPENCLAW_GATEWAY_TOKEN, else `gateway.auth.token` in <state>/openclaw.json,
// else a fresh token written there (0600, other keys preserved).
import crypto from 'node:crypto';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir, readJsonFile, writeFileAtomic } from '../common/state-dir.js';

export type TokenSource = 'option' | 'env' | 'config' | 'generated';

export interface GatewayAuthConfig {
  token: string;
  source: TokenSource;
  /** Where the token lives on disk (config and generated sources). */
  configPath: string;
}

/** Upstream generates 24 random bytes as hex. */
export function generateGatewayToken(): string {
  return crypto.randomBytes(24).toString('hex');
}

export function configPathFor(stateDir: string): string {
  return path.join(stateDir, 'openclaw.json');
}

/**
 * Resolves the shared token. Precedence: explicit option, env, config file, generated.
 * A malformed config file is an error (fail closed), never overwritten.
 */
export function loadGatewayAuth(stateDir: string, options: { token?: string; env?: NodeJS.ProcessEnv } = {}): GatewayAuthConfig {
  const configPath = configPathFor(stateDir);
  if (options.token !== undefined) return { token: checkToken(options.token, 'token option'), source: 'option', configPath };
  const fromEnv = (options.env ?? process.env).OPENCLAW_GATEWAY_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'env', configPath };

  ensurePrivateDir(stateDir);
  const config = readJsonFile<unknown>(configPath);
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${configPath}: top level must be an object`);
  }
  const root = (config ?? {}) as Record<string, unknown>;
  const gateway = objectAt(root, 'gateway', configPath);
  const auth = objectAt(gateway ?? {}, 'auth', configPath);
  const existing = auth?.token;
  if (typeof existing === 'string' && existing.trim() !== '') return { token: existing.trim(), source: 'config', configPath };
  if (existing !== undefined && typeof existing !== 'string') {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${configPath}: gateway.auth.token must be a string`);
  }

  const token = generateGatewayToken();
  const next = { ...root, gateway: { ...(gateway ?? {}), auth: { ...(auth ?? {}), token } } };
  writeFileAtomic(configPath, `${JSON.stringify(next, null, 2)}\n`, 0o600);
  return { token, source: 'generated', configPath };
}

function objectAt(parent: Record<string, unknown>, key: string, file: string): Record<string, unknown> | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: "${key}" must be an object`);
  }
  return value as Record<string, unknown>;
}

function checkToken(token: string, what: string): string {
  const trimmed = token.trim();
  if (trimmed === '') throw new IpcError('ERR_INVALID_TOKEN', `${what} is empty`);
  return trimmed;
}
