// What a service is, independent of the service manager: which role, under which name (upstream's launchd
// labels and systemd unit names where upstream has the role), what it runs, where it logs, which state dir.
// The program is the running Node and this package's dist/cli/main.js, both by absolute path, so every
// install writes the same ProgramArguments (macOS keeps TCC grants per program path).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { IpcError } from '../common/errors.js';

export const SERVICE_ROLES = ['up', 'gateway', 'node', 'app'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/** launchd labels: upstream's for gateway and node, upstream's mac-app label for the app role. */
export const LAUNCHD_LABELS: Record<ServiceRole, string> = {
  gateway: 'ai.openclaw.gateway',
  node: 'ai.openclaw.node',
  app: 'ai.openclaw.mac',
  up: 'ai.openclaw.ipc',
};

/** systemd user unit names (without .service): upstream's for gateway and node, ours for up and app. */
export const SYSTEMD_UNITS: Record<ServiceRole, string> = {
  gateway: 'openclaw-gateway',
  node: 'openclaw-node',
  app: 'openclaw-ipc-app',
  up: 'openclaw-ipc',
};

const ROLE_ARGS: Record<ServiceRole, string[]> = {
  up: ['up'],
  gateway: ['gateway', 'run'],
  node: ['node', 'run'],
  app: ['app'],
};

const DESCRIPTIONS: Record<ServiceRole, string> = {
  up: 'openclaw-ipc local stack (Gateway, exec host, bridge, node)',
  gateway: 'OpenClaw Gateway (openclaw-ipc)',
  node: 'OpenClaw node host (openclaw-ipc)',
  app: 'OpenClaw exec host (openclaw-ipc app role)',
};

export interface ServiceSpec {
  role: ServiceRole;
  label: string;
  unit: string;
  description: string;
  programArguments: string[];
  workingDirectory: string;
  stateDir: string;
  logDir: string;
  stdoutPath: string;
  stderrPath: string;
  environment: Record<string, string>;
  /** Whether the role runs the user's commands (then no hardening may change what a command sees). */
  runsCommands: boolean;
}

export interface SpecOptions {
  stateDir: string;
  platform?: NodeJS.Platform;
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** Node binary; default process.execPath. */
  nodePath?: string;
  /** The CLI entry; default this package's dist/cli/main.js. */
  cliPath?: string;
}

export function checkRole(value: string | undefined): ServiceRole {
  const role = value ?? 'up';
  if (!(SERVICE_ROLES as readonly string[]).includes(role))
    throw new IpcError('ERR_USAGE', `--role must be one of ${SERVICE_ROLES.join('|')}, got ${JSON.stringify(role)}`);
  return role as ServiceRole;
}

/** dist/cli/main.js of this package (from source under tsx too: the built file is what a service runs). */
export function defaultCliPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidate = path.resolve(here, '..', '..', 'dist', 'cli', 'main.js');
  const fromDist = path.resolve(here, '..', 'cli', 'main.js');
  const chosen = here.includes(`${path.sep}dist${path.sep}`) ? fromDist : candidate;
  try {
    return fs.realpathSync(chosen);
  } catch {
    return chosen;
  }
}

/** Upstream's log layout: macOS ~/Library/Logs/openclaw/<name>.log, elsewhere <stateDir>/logs/<name>.log. */
function logDirFor(platform: NodeJS.Platform, home: string, stateDir: string): string {
  return platform === 'darwin' ? path.join(home, 'Library', 'Logs', 'openclaw') : path.join(stateDir, 'logs');
}

const LOG_NAMES: Record<ServiceRole, string> = { up: 'ipc', gateway: 'gateway', node: 'node', app: 'mac' };

export function serviceSpec(role: ServiceRole, options: SpecOptions): ServiceSpec {
  const platform = options.platform ?? process.platform;
  const home = options.home ?? os.homedir();
  const env = options.env ?? process.env;
  const stateDir = path.resolve(options.stateDir);
  const logDir = logDirFor(platform, home, stateDir);
  const cliPath = options.cliPath ?? defaultCliPath();
  const nodePath = options.nodePath ?? process.execPath;
  for (const [what, value] of [
    ['node binary', nodePath],
    ['CLI entry', cliPath],
    ['state dir', stateDir],
  ] as const) {
    if (/[\r\n]/.test(value)) throw new IpcError('ERR_SERVICE_PATH', `the ${what} path contains a line break`);
  }
  const environment: Record<string, string> = {
    OPENCLAW_STATE_DIR: stateDir,
    // The runner resolves bare command names on this PATH: the installer's, so commands behave as in its shell.
    PATH: env.PATH?.trim() || '/usr/local/bin:/usr/bin:/bin',
    OPENCLAW_SERVICE_MARKER: 'openclaw',
    OPENCLAW_SERVICE_KIND: role,
  };
  if (env.OPENCLAW_CONFIG_PATH?.trim())
    environment.OPENCLAW_CONFIG_PATH = path.resolve(env.OPENCLAW_CONFIG_PATH.trim());
  return {
    role,
    label: LAUNCHD_LABELS[role],
    unit: SYSTEMD_UNITS[role],
    description: DESCRIPTIONS[role],
    programArguments: [nodePath, cliPath, ...ROLE_ARGS[role]],
    workingDirectory: stateDir,
    stateDir,
    logDir,
    stdoutPath: path.join(logDir, `${LOG_NAMES[role]}.log`),
    stderrPath: path.join(logDir, `${LOG_NAMES[role]}.err.log`),
    environment,
    runsCommands: role !== 'gateway',
  };
}
