// Linux systemd user unit: the unit text and the `systemctl --user` steps per action.
// Hardening. The Gateway runs no user commands, so it gets the strict set: read-only system and home
// except the state dir and log dir (ProtectSystem=strict + ProtectHome=read-only + ReadWritePaths=), a
// private /tmp, no new privileges, no kernel module loading or cgroup writes. Roles that run the user's
// commands (up, app, node) get only what does not change what a command sees or may write: no new
// privileges (setuid programs such as sudo do not elevate), no setuid/setgid files, no realtime
// scheduling, no personality changes. MemoryDenyWriteExecute is never set: V8's JIT needs W+X pages.
import os from 'node:os';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import type { ServiceSpec } from './spec.js';

/** systemd quoting for one ExecStart word: quote when needed, escape \ and ", double % (a specifier). */
export function systemdQuote(value: string): string {
  if (/[\r\n]/.test(value)) throw new IpcError('ERR_SERVICE_PATH', 'systemd unit values cannot contain line breaks');
  const escaped = value.replaceAll('%', '%%');
  if (!/[\s"\\']/.test(escaped) && escaped !== '') return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A path as the whole value of a directive (WorkingDirectory=, StandardOutput=append:): only % is special. */
function systemdPath(value: string): string {
  if (/[\r\n]/.test(value)) throw new IpcError('ERR_SERVICE_PATH', 'systemd unit values cannot contain line breaks');
  return value.replaceAll('%', '%%');
}

export const COMMON_HARDENING = [
  'NoNewPrivileges=yes',
  'RestrictSUIDSGID=yes',
  'RestrictRealtime=yes',
  'LockPersonality=yes',
];

/** PrivateTmp= would hide a state or log dir that lives under /tmp or /var/tmp from the service itself. */
function underTmp(dir: string): boolean {
  return ['/tmp', '/var/tmp'].some((tmp) => dir === tmp || dir.startsWith(`${tmp}/`));
}

export function gatewayHardening(spec: ServiceSpec): string[] {
  const privateTmp = !underTmp(spec.stateDir) && !underTmp(spec.logDir);
  return [
    ...COMMON_HARDENING,
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    // A path list: each entry quoted, so a path with spaces stays one entry.
    `ReadWritePaths=${systemdQuote(spec.stateDir)} ${systemdQuote(spec.logDir)}`,
    ...(privateTmp ? ['PrivateTmp=yes'] : []),
    // Not ProtectKernelTunables=: in containers /proc/sys cannot be remounted read-only and the unit then
    // fails to start (exit 226/NAMESPACE); a user service cannot write tunables anyway.
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
  ];
}

export function renderUnit(spec: ServiceSpec): string {
  const env = Object.entries(spec.environment).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`);
  return [
    '[Unit]',
    `Description=${spec.description}`,
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${spec.programArguments.map(systemdQuote).join(' ')}`,
    `WorkingDirectory=${systemdPath(spec.workingDirectory)}`,
    ...env,
    'Restart=on-failure',
    'RestartSec=5',
    // Exit 3: another instance holds the state-dir lock; restarting cannot fix that.
    'RestartPreventExitStatus=3',
    'TimeoutStopSec=30',
    'KillMode=mixed',
    'UMask=0077',
    `StandardOutput=append:${systemdPath(spec.stdoutPath)}`,
    `StandardError=append:${systemdPath(spec.stderrPath)}`,
    ...(spec.runsCommands ? COMMON_HARDENING : gatewayHardening(spec)),
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** $XDG_CONFIG_HOME/systemd/user/<unit>.service, else ~/.config/systemd/user/<unit>.service. */
export function unitPath(unit: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const config = env.XDG_CONFIG_HOME?.trim() || path.join(home, '.config');
  return path.join(config, 'systemd', 'user', `${unit}.service`);
}

export interface SystemctlStep {
  argv: string[];
  /** Failing is fine (stopping a unit that is not loaded). */
  optional?: boolean;
}

export function systemctlPlan(action: 'install' | 'uninstall' | 'restart' | 'status', unit: string): SystemctlStep[] {
  const name = `${unit}.service`;
  switch (action) {
    case 'install':
      return [
        { argv: ['systemctl', '--user', 'daemon-reload'] },
        { argv: ['systemctl', '--user', 'enable', name] },
        // restart, not start: a reinstall must run the new unit, and restart starts a stopped unit too.
        { argv: ['systemctl', '--user', 'restart', name] },
      ];
    case 'restart':
      return [{ argv: ['systemctl', '--user', 'restart', name] }];
    case 'uninstall':
      return [{ argv: ['systemctl', '--user', 'disable', '--now', name], optional: true }];
    case 'status':
      return [
        {
          argv: [
            'systemctl',
            '--user',
            'show',
            name,
            '--property=LoadState,ActiveState,SubState,MainPID,UnitFileState,NRestarts',
          ],
        },
      ];
  }
}

export function parseSystemctlShow(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return out;
}
