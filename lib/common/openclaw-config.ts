// openclaw.json, the one config file OpenClaw and openclaw-ipc share, read and written in one place.
// Format: JSON5 (comments, trailing commas, unquoted keys), as OpenClaw reads it. Location: the path in
// $OPENCLAW_CONFIG_PATH (a leading `~` is the home dir; relative paths are resolved against the working
// dir), else <state dir>/openclaw.json; the same rule as OpenClaw's own resolveConfigPath.
// Writes keep every key, ours or not, but are plain JSON: JSON5 comments and formatting do not survive a
// rewrite. openclaw-ipc rewrites the file only to store a token it generated.
import fs from 'node:fs';
import path from 'node:path';

import JSON5 from 'json5';

import { valueNestedDeeperThan } from './bounded-json.js';
import { IpcError } from './errors.js';
import { isRecord } from './records.js';
import { MAX_JSON_FILE_DEPTH, expandHome, readTextFileBounded, resolveStateDir, writeFileAtomic } from './state-dir.js';

export const CONFIG_FILE_NAME = 'openclaw.json';

/** The parsed top level: always an object. Unknown keys are kept as they were. */
export type OpenclawConfig = Record<string, unknown>;

export interface ConfigLocation {
  /** An explicit file; wins over everything else (a library caller's choice). */
  configPath?: string;
  /** The state dir whose openclaw.json is meant when $OPENCLAW_CONFIG_PATH is unset. */
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where openclaw.json is: `configPath`, else $OPENCLAW_CONFIG_PATH, else <stateDir>/openclaw.json. */
export function resolveConfigPath(location: ConfigLocation = {}): string {
  if (location.configPath !== undefined) return path.resolve(expandHome(location.configPath));
  const env = location.env ?? process.env;
  const override = env.OPENCLAW_CONFIG_PATH?.trim();
  if (override) return path.resolve(expandHome(override));
  return path.join(location.stateDir ?? resolveStateDir(env), CONFIG_FILE_NAME);
}

/** Parses JSON5 text; the top level must be an object. Errors name the file, line and column. */
export function parseOpenclawConfig(text: string, file: string): OpenclawConfig {
  let value: unknown;
  try {
    value = JSON5.parse(text);
  } catch (err) {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file} is not valid JSON5: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isRecord(value)) throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: top level must be an object`);
  // Bounded like every JSON we read (bounded-json.ts): a value this deep would overflow whoever serialises it.
  if (valueNestedDeeperThan(value, MAX_JSON_FILE_DEPTH))
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: nested deeper than ${MAX_JSON_FILE_DEPTH} levels`);
  return value;
}

export interface ReadConfigResult {
  path: string;
  exists: boolean;
  config: OpenclawConfig;
}

/** Reads openclaw.json; a missing file is an empty config. A malformed one throws ERR_CONFIG_MALFORMED. */
export function readOpenclawConfig(location: ConfigLocation = {}): ReadConfigResult {
  const file = resolveConfigPath(location);
  const text = readTextFileBounded(file);
  if (text === undefined) return { path: file, exists: false, config: {} };
  return { path: file, exists: true, config: parseOpenclawConfig(text, file) };
}

/**
 * Read → change → atomic write (0600) on the freshest content. `mutate` changes the object in place and
 * returns false to skip the write. Unknown keys are kept; comments are not (the file is written as JSON).
 * A malformed file is an error and is never replaced.
 */
export function updateOpenclawConfig(
  mutate: (config: OpenclawConfig) => boolean | void,
  location: ConfigLocation = {},
): OpenclawConfig {
  const { path: file, config } = readOpenclawConfig(location);
  if (mutate(config) === false) return config;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return config;
}

/**
 * The object at `key` of `parent`; undefined when absent. Anything else there is ERR_CONFIG_MALFORMED,
 * naming the file and the dotted path.
 */
export function configSection(
  parent: OpenclawConfig,
  key: string,
  where: { file: string; path?: string },
): OpenclawConfig | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    const dotted = where.path ? `${where.path}.${key}` : key;
    throw new IpcError('ERR_CONFIG_MALFORMED', `${where.file}: "${dotted}" must be an object`);
  }
  return value;
}

/** `gateway.port`, when it is a valid TCP port (0-65535); undefined otherwise. */
export function configuredGatewayPort(config: OpenclawConfig): number | undefined {
  const gateway = config.gateway;
  const port = isRecord(gateway) ? gateway.port : undefined;
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined;
}

/** The value at a dotted path ("gateway.remote.url"), or undefined. */
export function configValue(config: OpenclawConfig, dotted: string): unknown {
  let current: unknown = config;
  for (const key of dotted.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** A non-empty trimmed string at `dotted`, else undefined (a wrong type is "not configured"). */
export function configString(config: OpenclawConfig, dotted: string): string | undefined {
  const value = configValue(config, dotted);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export const MDNS_MODES = ['off', 'minimal', 'full'] as const;
export type MdnsMode = (typeof MDNS_MODES)[number];

/**
 * The Bonjour mode: upstream's `discovery.mdns.mode`, else `gateway.mdns.mode` (the name our issue tracker
 * used), else "minimal" as upstream. An unknown value is "minimal" too (never more than the default).
 */
export function configuredMdnsMode(config: OpenclawConfig): { mode: MdnsMode; source: string } {
  for (const key of ['discovery.mdns.mode', 'gateway.mdns.mode']) {
    const value = configString(config, key);
    if (value !== undefined && (MDNS_MODES as readonly string[]).includes(value))
      return { mode: value as MdnsMode, source: key };
  }
  return { mode: 'minimal', source: 'default' };
}
