// The child environment: built from an allowlist of inherited keys (sudo's env_reset model) plus
// the request's overrides. Overrides are judged in three tiers:
// - malformed (bad name, NUL, oversize) or a loader/interpreter injection key (LD_*, PATH, …): rejected
//   outright with upstream's INVALID_REQUEST wording, whatever the policy;
// - on OVERRIDE_ALLOWLIST with a value of the expected shape (locale, terminal size/colour, time zone):
//   passes like any part of an allowlisted command;
// - anything else (TAR_OPTIONS, GIT_*, PAGER, HOME, …): an allowlist miss naming the variable, so a human
//   decides (ask=on-miss) or it is denied. Many programs read options or helper commands from their
//   environment, so no blocklist can be complete; an allowlist can.
import { IpcError } from '../common/errors.js';

export class EnvOverrideError extends IpcError {
  readonly key: string;
  constructor(key: string, why: string) {
    super('INVALID_REQUEST', `SYSTEM_RUN_DENIED: environment override rejected (${key}: ${why})`);
    this.key = key;
  }
}

/** Inherited from the daemon when present; nothing else is. */
export const INHERITED_ENV_KEYS: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TERM',
  'TZ',
  'TMPDIR',
  'COLORTERM',
  'NO_COLOR',
  'LC_ALL',
  'LC_CTYPE',
  'LC_COLLATE',
  'LC_MESSAGES',
  'LC_MONETARY',
  'LC_NUMERIC',
  'LC_TIME',
  'LC_ADDRESS',
  'LC_IDENTIFICATION',
  'LC_MEASUREMENT',
  'LC_NAME',
  'LC_PAPER',
  'LC_TELEPHONE',
];

/** Keys that must never reach a child, inherited or overridden. */
export const BLOCKED_ENV_KEYS: ReadonlySet<string> = new Set([
  'PATH',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'GCONV_PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'BASH_ENV',
  'ENV',
  'IFS',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'RUBYOPT',
  'RUBYLIB',
  'GIT_SSH_COMMAND',
  'GIT_SSH',
  'GIT_EXEC_PATH',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'ZDOTDIR',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'LOCPATH',
  'NLSPATH',
  'MALLOC_CHECK_',
  'TMPDIR_OVERRIDE',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'OPENSSL_CONF',
  'SSLKEYLOGFILE',
]);
const BLOCKED_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_', 'OPENCLAW_', 'GIT_CONFIG_'];

/**
 * Request overrides that never need a human, and the value shape each must have. No value here can
 * name a file to load or a program to run: locale names and TERM have no `/`, TZ no absolute path or `..`.
 */
const matches =
  (re: RegExp) =>
  (value: string): boolean =>
    re.test(value);
const LOCALE_VALUE = matches(/^[A-Za-z0-9_.@+-]{0,64}$/);
const FLAG_VALUE = matches(/^[A-Za-z0-9_-]{0,16}$/);
const TZ_VALUE = (value: string): boolean => {
  const zone = value.replace(/^:/, '');
  return /^[A-Za-z0-9_+\-/.,<>:]{1,64}$/.test(zone) && !zone.startsWith('/') && !zone.split('/').includes('..');
};
export const OVERRIDE_ALLOWLIST: ReadonlyMap<string, (value: string) => boolean> = new Map([
  ['LANG', LOCALE_VALUE],
  ['LANGUAGE', matches(/^[A-Za-z0-9_.@+:-]{0,128}$/)],
  ...[
    'LC_ALL',
    'LC_CTYPE',
    'LC_COLLATE',
    'LC_MESSAGES',
    'LC_MONETARY',
    'LC_NUMERIC',
    'LC_TIME',
    'LC_ADDRESS',
    'LC_IDENTIFICATION',
    'LC_MEASUREMENT',
    'LC_NAME',
    'LC_PAPER',
    'LC_TELEPHONE',
  ].map((key): [string, (value: string) => boolean] => [key, LOCALE_VALUE]),
  ['TZ', TZ_VALUE],
  ['TERM', matches(/^[A-Za-z0-9._+-]{1,64}$/)],
  ['COLORTERM', matches(/^[A-Za-z0-9._+-]{0,32}$/)],
  ['NO_COLOR', FLAG_VALUE],
  ['FORCE_COLOR', FLAG_VALUE],
  ['CLICOLOR', FLAG_VALUE],
  ['CLICOLOR_FORCE', FLAG_VALUE],
  ['COLUMNS', matches(/^[0-9]{1,5}$/)],
  ['LINES', matches(/^[0-9]{1,5}$/)],
]);

/** An override the allowlist does not cover: the variable, and whether its name or only its value missed. */
export interface RefusedOverride {
  key: string;
  why: 'not-allowlisted' | 'value-not-allowed';
}

/** The overrides (already validated) that need a human, in request order. */
export function refusedOverrides(validated: Record<string, string>): RefusedOverride[] {
  const refused: RefusedOverride[] = [];
  for (const [key, value] of Object.entries(validated)) {
    const shape = OVERRIDE_ALLOWLIST.get(key);
    if (!shape) refused.push({ key, why: 'not-allowlisted' });
    else if (!shape(value)) refused.push({ key, why: 'value-not-allowed' });
  }
  return refused;
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_OVERRIDES = 256;
const MAX_VALUE_BYTES = 32 * 1024;

export function isBlockedEnvKey(key: string): boolean {
  const upper = key.toUpperCase();
  return BLOCKED_ENV_KEYS.has(upper) || BLOCKED_PREFIXES.some((prefix) => upper.startsWith(prefix));
}

/** Throws EnvOverrideError for a blocked, malformed or oversized override; returns the rest (allowlisted or not). */
export function validateEnvOverrides(overrides: unknown): Record<string, string> {
  if (overrides === undefined || overrides === null) return {};
  if (typeof overrides !== 'object' || Array.isArray(overrides))
    throw new EnvOverrideError('env', 'must be an object of strings');
  const entries = Object.entries(overrides as Record<string, unknown>);
  if (entries.length > MAX_OVERRIDES) throw new EnvOverrideError('env', `more than ${MAX_OVERRIDES} keys`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (!KEY_RE.test(key)) throw new EnvOverrideError(key, 'invalid name');
    if (isBlockedEnvKey(key)) throw new EnvOverrideError(key, 'blocked key');
    if (typeof value !== 'string') throw new EnvOverrideError(key, 'value must be a string');
    if (value.includes('\0')) throw new EnvOverrideError(key, 'NUL byte in value');
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw new EnvOverrideError(key, 'value too long');
    out[key] = value;
  }
  return out;
}

/**
 * The environment for a child: allowlisted keys from `base` (PATH is the daemon's own, minus
 * relative entries), then the validated `overrides` (whether they need a human is refusedOverrides').
 */
export function buildChildEnv(
  overrides: unknown,
  base: NodeJS.ProcessEnv = process.env,
  searchPath?: string,
): Record<string, string> {
  const validated = validateEnvOverrides(overrides);
  const env: Record<string, string> = {};
  // Look up the allowlisted keys only: enumerating process.env costs a native call per variable.
  for (const key of INHERITED_ENV_KEYS) {
    const value = base[key];
    if (value !== undefined && !value.includes('\0')) env[key] = value;
  }
  if (searchPath !== undefined) env.PATH = searchPath;
  return Object.assign(env, validated);
}
