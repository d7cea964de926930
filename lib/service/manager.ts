// install | uninstall | restart | status of one role's service with the platform's manager: launchd
// LaunchAgents on macOS, systemd user units elsewhere. Commands run as argv with a deadline each; their
// runner is a parameter so the launchctl sequence can be exercised where launchctl does not exist.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../common/state-dir.js';
import { GATEWAY_LOCK_FILE } from '../gateway/instance-lock.js';
import { inspectInstanceLock, type LockInspection } from '../native/file-lock.js';
import { guiDomain, isNotLoaded, launchAgentPath, launchctlPlan, parseLaunchctlPrint, renderPlist } from './launchd.js';
import type { ServiceSpec } from './spec.js';
import { parseSystemctlShow, renderUnit, systemctlPlan, unitPath } from './systemd.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (argv: string[]) => Promise<CommandResult>;

const COMMAND_TIMEOUT_MS = 30_000;

/** Runs argv (no shell) with a deadline; a missing program is code null with the error in stderr. */
export const runCommand: CommandRunner = (argv) =>
  new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: err && code === null ? `${err.message}\n${stderr}` : String(stderr),
        });
      },
    );
  });

export type ServiceManagerKind = 'launchd' | 'systemd';

export interface ServiceContext {
  spec: ServiceSpec;
  manager: ServiceManagerKind;
  run?: CommandRunner;
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** launchd domain; default gui/<uid>. */
  domain?: string;
}

export function managerFor(platform: NodeJS.Platform = process.platform): ServiceManagerKind {
  return platform === 'darwin' ? 'launchd' : 'systemd';
}

/** Where the service definition lives. */
export function definitionPath(ctx: ServiceContext): string {
  return ctx.manager === 'launchd'
    ? launchAgentPath(ctx.spec.label, ctx.home ?? os.homedir())
    : unitPath(ctx.spec.unit, ctx.env ?? process.env, ctx.home ?? os.homedir());
}

export function renderDefinition(ctx: ServiceContext): string {
  return ctx.manager === 'launchd' ? renderPlist(ctx.spec) : renderUnit(ctx.spec);
}

function fail(step: string[], result: CommandResult): never {
  const detail = (result.stderr || result.stdout).trim() || `exit ${result.code}`;
  throw new IpcError('ERR_SERVICE_COMMAND', `${step.join(' ')} failed: ${detail}`);
}

async function runSteps(
  ctx: ServiceContext,
  steps: Array<{ argv: string[]; allowNotLoaded?: boolean; optional?: boolean }>,
): Promise<CommandResult[]> {
  const run = ctx.run ?? runCommand;
  const results: CommandResult[] = [];
  for (const step of steps) {
    const result = await run(step.argv);
    results.push(result);
    if (result.code === 0 || step.optional) continue;
    if (step.allowNotLoaded && isNotLoaded(result)) continue;
    fail(step.argv, result);
  }
  return results;
}

export interface InstallResult {
  path: string;
  /** false when the same definition was already there (the service is still (re)started). */
  changed: boolean;
}

/** Writes the definition (same content every time for the same role and paths), then loads and starts it. */
export async function installService(ctx: ServiceContext): Promise<InstallResult> {
  const file = definitionPath(ctx);
  const content = renderDefinition(ctx);
  ensurePrivateDir(ctx.spec.stateDir);
  fs.mkdirSync(ctx.spec.logDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  let changed = true;
  try {
    changed = fs.readFileSync(file, 'utf8') !== content;
  } catch {
    changed = true;
  }
  // launchd and systemd read these as the user; neither holds a secret (those stay in openclaw.json).
  if (changed) writeFileAtomic(file, content, 0o644);
  const steps =
    ctx.manager === 'launchd'
      ? launchctlPlan('install', ctx.spec.label, file, ctx.domain ?? guiDomain())
      : systemctlPlan('install', ctx.spec.unit);
  await runSteps(ctx, steps);
  return { path: file, changed };
}

export async function uninstallService(ctx: ServiceContext): Promise<{ path: string; removed: boolean }> {
  const file = definitionPath(ctx);
  const steps =
    ctx.manager === 'launchd'
      ? launchctlPlan('uninstall', ctx.spec.label, file, ctx.domain ?? guiDomain())
      : systemctlPlan('uninstall', ctx.spec.unit);
  await runSteps(ctx, steps);
  let removed = false;
  try {
    fs.unlinkSync(file);
    removed = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (ctx.manager === 'systemd')
    await runSteps(ctx, [{ argv: ['systemctl', '--user', 'daemon-reload'], optional: true }]);
  return { path: file, removed };
}

export async function restartService(ctx: ServiceContext): Promise<void> {
  const file = definitionPath(ctx);
  if (!fs.existsSync(file))
    throw new IpcError(
      'ERR_SERVICE_NOT_INSTALLED',
      `${file} does not exist: run \`openclaw-ipc service install --role ${ctx.spec.role}\``,
    );
  await runSteps(
    ctx,
    ctx.manager === 'launchd'
      ? launchctlPlan('restart', ctx.spec.label, file, ctx.domain ?? guiDomain())
      : systemctlPlan('restart', ctx.spec.unit),
  );
}

export interface ServiceStatus {
  role: string;
  manager: ServiceManagerKind;
  name: string;
  path: string;
  installed: boolean;
  /** The definition on disk is what install would write now. */
  current: boolean;
  loaded: boolean;
  running: boolean;
  pid?: number;
  /** What the manager said when it could not be asked (no user manager, no launchctl). */
  managerError?: string;
  logs: { stdout: string; stderr: string };
  locks: LockInspection[];
}

export function lockFiles(stateDir: string): string[] {
  return [path.join(stateDir, GATEWAY_LOCK_FILE), path.join(stateDir, 'exec-approvals.lock')];
}

export async function serviceStatus(ctx: ServiceContext): Promise<ServiceStatus> {
  const file = definitionPath(ctx);
  let installed = false;
  let current = false;
  try {
    current = fs.readFileSync(file, 'utf8') === renderDefinition(ctx);
    installed = true;
  } catch {
    installed = false;
  }
  const status: ServiceStatus = {
    role: ctx.spec.role,
    manager: ctx.manager,
    name: ctx.manager === 'launchd' ? ctx.spec.label : `${ctx.spec.unit}.service`,
    path: file,
    installed,
    current,
    loaded: false,
    running: false,
    logs: { stdout: ctx.spec.stdoutPath, stderr: ctx.spec.stderrPath },
    locks: lockFiles(ctx.spec.stateDir).map(inspectInstanceLock),
  };
  const run = ctx.run ?? runCommand;
  const [step] =
    ctx.manager === 'launchd'
      ? launchctlPlan('status', ctx.spec.label, file, ctx.domain ?? guiDomain())
      : systemctlPlan('status', ctx.spec.unit);
  const result = await run(step!.argv);
  if (ctx.manager === 'launchd') {
    if (result.code === 0) Object.assign(status, parseLaunchctlPrint(result.stdout));
    else if (!isNotLoaded(result)) status.managerError = (result.stderr || result.stdout).trim();
    return status;
  }
  if (result.code !== 0) {
    status.managerError = (result.stderr || result.stdout).trim() || `systemctl exited ${result.code}`;
    return status;
  }
  const props = parseSystemctlShow(result.stdout);
  status.loaded = props.LoadState === 'loaded';
  status.running = props.ActiveState === 'active' && props.SubState === 'running';
  const pid = Number(props.MainPID);
  if (Number.isInteger(pid) && pid > 0) status.pid = pid;
  return status;
}
