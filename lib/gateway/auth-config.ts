// Which auth mode the Gateway runs (none | token | password) and the shared secret it checks.
// Mode (resolved as OpenClaw resolves it): explicit option, else `gateway.auth.mode`, else "password"
// when a password is configured, else "token". Password: option, `gateway.auth.password`, then
// OPENCLAW_GATEWAY_PASSWORD (the gateway reads config first, as upstream does). Token: option,
// OPENCLAW_GATEWAY_TOKEN, `gateway.auth.token`, else a fresh token written there (0600, other keys kept).
import crypto from 'node:crypto';

import { IpcError } from '../common/errors.js';
import {
  configSection,
  readOpenclawConfig,
  resolveConfigPath,
  updateOpenclawConfig,
  type OpenclawConfig,
} from '../common/openclaw-config.js';
import { ensurePrivateDir } from '../common/state-dir.js';
import {
  GATEWAY_AUTH_MODES,
  GatewayAuthSectionSchema,
  MAX_CONFIG_SECRET_LENGTH,
  configString,
  gatewayAuthMode,
  gatewayAuthSection,
} from '../protocol/config-schemas.js';
import type { Static } from '../protocol/typebox.js';

export { GATEWAY_AUTH_MODES };
export type GatewayAuthMode = (typeof GATEWAY_AUTH_MODES)[number];

export type TokenSource = 'option' | 'env' | 'config' | 'generated';
export type PasswordSource = 'option' | 'env' | 'config';
/** Where the active mode's secret came from; 'none' in mode none. */
export type SecretSource = TokenSource | PasswordSource | 'none';
/** Why this mode: named explicitly (option, config) or derived (a password exists; the default). */
export type AuthModeSource = 'option' | 'config' | 'password' | 'default';

export interface GatewayAuthConfig {
  mode: GatewayAuthMode;
  modeSource: AuthModeSource;
  /** The shared token in mode token; '' in the other modes (no token is generated for them). */
  token: string;
  /** The password in mode password. */
  password?: string;
  source: SecretSource;
  /** openclaw.json, where config and generated secrets live. */
  configPath: string;
}

export interface LoadGatewayAuthOptions {
  token?: string;
  password?: string;
  mode?: string;
  env?: NodeJS.ProcessEnv;
  /** openclaw.json to use instead of $OPENCLAW_CONFIG_PATH or <stateDir>/openclaw.json. */
  configPath?: string;
  /**
   * Generate and store a token when mode token finds none (default true). A reload passes false: a token
   * that vanished from the file mid-run is an error (the old one stays), not a reason to lock everyone out.
   */
  generate?: boolean;
}

/** Upstream generates 24 random bytes as hex. */
export function generateGatewayToken(): string {
  return crypto.randomBytes(24).toString('hex');
}

/** The openclaw.json a Gateway on `stateDir` reads: $OPENCLAW_CONFIG_PATH, else <stateDir>/openclaw.json. */
export function configPathFor(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolveConfigPath({ stateDir, env });
}

/**
 * Resolves the auth mode and its secret. A malformed config file is an error (fail closed), never
 * overwritten; so is mode password without a password, or a mode we do not implement.
 */
export function loadGatewayAuth(stateDir: string, options: LoadGatewayAuthOptions = {}): GatewayAuthConfig {
  const env = options.env ?? process.env;
  ensurePrivateDir(stateDir);
  const { path: configPath, config: root } = readOpenclawConfig({ stateDir, env, configPath: options.configPath });
  const gateway = configSection(root, 'gateway', { file: configPath });
  const auth = checkedAuthSection(
    configSection(gateway ?? {}, 'auth', { file: configPath, path: 'gateway' }),
    configPath,
  );

  const password = resolvePassword(options.password, auth?.password, env);
  let mode: GatewayAuthMode;
  let modeSource: AuthModeSource;
  if (options.mode !== undefined) {
    mode = checkMode(options.mode, '--auth');
    modeSource = 'option';
  } else if (auth?.mode !== undefined) {
    mode = checkMode(auth.mode, `${configPath}: gateway.auth.mode`);
    modeSource = 'config';
  } else if (password.value !== undefined) {
    mode = 'password';
    modeSource = 'password';
  } else {
    if (password.unresolvedRef) throw unresolvedRef(configPath);
    mode = 'token';
    modeSource = 'default';
  }

  if (mode === 'none') return { mode, modeSource, token: '', source: 'none', configPath };
  if (mode === 'password') {
    if (password.value === undefined) {
      if (password.unresolvedRef) throw unresolvedRef(configPath);
      throw new IpcError(
        'ERR_GATEWAY_AUTH_CONFIG',
        'gateway auth mode is password, but no password was configured (set gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD)',
      );
    }
    return { mode, modeSource, token: '', password: password.value, source: password.source!, configPath };
  }
  return {
    mode,
    modeSource,
    ...resolveToken(options.token, auth, env, configPath, options.generate ?? true),
    configPath,
  };
}

/**
 * Identifies the effective shared secret (upstream's shared-session generation: sha256 of
 * "<mode>\0<secret>", base64url), so a connection can be matched to the secret it proved without
 * keeping the secret per connection. undefined in mode none.
 */
export function authGeneration(auth: Pick<GatewayAuthConfig, 'mode' | 'token' | 'password'>): string | undefined {
  const secret = auth.mode === 'token' ? auth.token : auth.mode === 'password' ? auth.password : undefined;
  if (secret === undefined || secret === '') return undefined;
  return crypto.createHash('sha256').update(`${auth.mode}\u0000${secret}`, 'utf8').digest('base64url');
}

/** Whether the secret lives in openclaw.json (and so follows its changes at run time). */
export function isFileBackedSecret(auth: Pick<GatewayAuthConfig, 'source'>): boolean {
  return auth.source === 'config' || auth.source === 'generated';
}

/** Where the active secret lives, for people (never the secret itself). */
export function describeAuthSecret(auth: Pick<GatewayAuthConfig, 'mode' | 'source' | 'configPath'>): string {
  if (auth.mode === 'none') return 'no secret: any direct-loopback client is admitted (gateway.auth.mode = none)';
  const env = auth.mode === 'password' ? '$OPENCLAW_GATEWAY_PASSWORD' : '$OPENCLAW_GATEWAY_TOKEN';
  const key = `gateway.auth.${auth.mode}`;
  switch (auth.source) {
    case 'env':
      return env;
    case 'option':
      return `--${auth.mode} (not stored)`;
    default:
      return `${auth.configPath} (${key})`;
  }
}

/** `gateway.auth` as read: its schema's fields, and `mode` (checkMode has its own error for it). */
type AuthSection = Static<typeof GatewayAuthSectionSchema> & { mode?: unknown };

/** gateway.auth through its schema: a wrong type or an oversize secret is ERR_CONFIG_MALFORMED naming the key. */
function checkedAuthSection(section: OpenclawConfig | undefined, configPath: string): AuthSection | undefined {
  if (section === undefined) return undefined;
  const problem = gatewayAuthSection.firstError(section);
  if (problem === undefined) return section as AuthSection;
  const key = problem.path.split('/')[1];
  const limit = configString.check(section[key]) ? ` of at most ${MAX_CONFIG_SECRET_LENGTH} characters` : '';
  throw new IpcError('ERR_CONFIG_MALFORMED', `${configPath}: gateway.auth.${key} must be a string${limit}`);
}

function resolveToken(
  option: string | undefined,
  auth: AuthSection | undefined,
  env: NodeJS.ProcessEnv,
  configPath: string,
  generate: boolean,
): { token: string; source: TokenSource } {
  if (option !== undefined)
    return { token: checkSecret(option, 'token option', 'ERR_INVALID_TOKEN'), source: 'option' };
  const fromEnv = env.OPENCLAW_GATEWAY_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'env' };
  const existing = auth?.token?.trim();
  if (existing) return { token: existing, source: 'config' };
  if (!generate) {
    throw new IpcError(
      'ERR_GATEWAY_AUTH_CONFIG',
      `${configPath}: gateway.auth.token is missing (set it, or OPENCLAW_GATEWAY_TOKEN and restart)`,
    );
  }
  const generated = generateGatewayToken();
  let token = generated;
  // Re-read under the write: a token another process stored meanwhile wins over ours.
  updateOpenclawConfig(
    (config) => {
      const where = { file: configPath };
      const gatewayNow = configSection(config, 'gateway', where) ?? {};
      const authNow = configSection(gatewayNow, 'auth', { file: configPath, path: 'gateway' }) ?? {};
      const stored = configString.check(authNow.token) ? authNow.token.trim() : '';
      if (stored !== '') {
        token = stored;
        return false;
      }
      config.gateway = { ...gatewayNow, auth: { ...authNow, token: generated } };
    },
    { configPath },
  );
  return { token, source: token === generated ? 'generated' : 'config' };
}

interface ResolvedPassword {
  value?: string;
  source?: PasswordSource;
  /** gateway.auth.password is a secret-provider reference object, which we cannot resolve. */
  unresolvedRef: boolean;
}

function resolvePassword(
  option: string | undefined,
  configured: AuthSection['password'],
  env: NodeJS.ProcessEnv,
): ResolvedPassword {
  if (option !== undefined)
    return {
      value: checkSecret(option, 'password option', 'ERR_INVALID_PASSWORD'),
      source: 'option',
      unresolvedRef: false,
    };
  // The schema admitted a string, a secret-provider reference object, null or nothing.
  const plain = configString.check(configured) ? configured.trim() : '';
  if (plain !== '') return { value: plain, source: 'config', unresolvedRef: false };
  const fromEnv = env.OPENCLAW_GATEWAY_PASSWORD?.trim();
  if (fromEnv) return { value: fromEnv, source: 'env', unresolvedRef: false };
  return { unresolvedRef: configured !== undefined && configured !== null && !configString.check(configured) };
}

function unresolvedRef(configPath: string): IpcError {
  return new IpcError(
    'ERR_GATEWAY_AUTH_CONFIG',
    `${configPath}: gateway.auth.password is a secret reference, which openclaw-ipc cannot resolve; ` +
      `set OPENCLAW_GATEWAY_PASSWORD (or a plain-string gateway.auth.password)`,
  );
}

function checkMode(value: unknown, where: string): GatewayAuthMode {
  if (gatewayAuthMode.check(value)) return value;
  if (value === 'trusted-proxy') {
    throw new IpcError(
      'ERR_GATEWAY_AUTH_UNSUPPORTED',
      `${where}: auth mode trusted-proxy is not supported by openclaw-ipc (use token or password)`,
    );
  }
  throw new IpcError(
    'ERR_CONFIG_MALFORMED',
    `${where} must be one of ${GATEWAY_AUTH_MODES.join('|')}, got ${JSON.stringify(value)}`,
  );
}

function checkSecret(secret: string, what: string, code: string): string {
  const trimmed = secret.trim();
  if (trimmed === '') throw new IpcError(code, `${what} is empty`);
  return trimmed;
}
