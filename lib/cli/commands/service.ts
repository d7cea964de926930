// openclaw-ipc service install|uninstall|status|restart [--role up|gateway|node|app] [--state-dir DIR] [--json]
// Runs a role as a service of this user: a LaunchAgent on macOS, a systemd user unit on Linux.
import { resolveStateDir } from '../../common/state-dir.js';
import {
  installService,
  managerFor,
  restartService,
  serviceStatus,
  uninstallService,
  type ServiceContext,
  type ServiceStatus,
} from '../../service/manager.js';
import { checkRole, serviceSpec } from '../../service/spec.js';
import { ExitCode, UsageError, parseCommandArgs } from '../run.js';

const USAGE = [
  'usage: openclaw-ipc service install|uninstall|status|restart [--role up|gateway|node|app] [--state-dir DIR] [--json]',
  '  --role   what runs as the service (default up: the whole local stack)',
  '  macOS: ~/Library/LaunchAgents/<label>.plist (ai.openclaw.gateway, ai.openclaw.node, ai.openclaw.mac, ai.openclaw.ipc)',
  '  Linux: ~/.config/systemd/user/<unit>.service (openclaw-gateway, openclaw-node, openclaw-ipc-app, openclaw-ipc)',
  'example: openclaw-ipc service install --role gateway && openclaw-ipc service status --role gateway',
].join('\n');

const ACTIONS = ['install', 'uninstall', 'status', 'restart'] as const;

function statusLines(s: ServiceStatus): string[] {
  const locks = s.locks.map(
    (l) =>
      `  lock        ${l.file}: ${l.state}${'pid' in l ? ` (pid ${l.pid})` : ''}${'reason' in l ? ` (${l.reason})` : ''}`,
  );
  return [
    `service     ${s.name} (${s.manager}, role ${s.role})`,
    `  installed  ${s.installed ? `yes: ${s.path}${s.current ? '' : ' (differs from what install would write: reinstall)'}` : 'no'}`,
    `  loaded     ${s.loaded ? 'yes' : 'no'}${s.managerError ? ` (${s.managerError})` : ''}`,
    `  running    ${s.running ? `yes, pid ${s.pid ?? '?'}` : 'no'}`,
    `  logs       ${s.logs.stdout}, ${s.logs.stderr}`,
    ...locks,
  ];
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    { role: { type: 'string' }, 'state-dir': { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  const [action, ...extra] = positionals;
  if (!action || !(ACTIONS as readonly string[]).includes(action) || extra.length > 0)
    throw new UsageError(`expected one of ${ACTIONS.join('|')}\n${USAGE}`);
  let role;
  try {
    role = checkRole(values.role);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const ctx: ServiceContext = {
    spec: serviceSpec(role, { stateDir: values['state-dir'] ?? resolveStateDir() }),
    manager: managerFor(),
  };
  const print = (data: unknown, lines: string[]): void => {
    process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${lines.join('\n')}\n`);
  };
  switch (action) {
    case 'install': {
      const result = await installService(ctx);
      print({ ok: true, action, role, ...result }, [
        `${result.changed ? 'wrote' : 'unchanged'} ${result.path}`,
        `started ${ctx.manager === 'launchd' ? ctx.spec.label : `${ctx.spec.unit}.service`}; logs: ${ctx.spec.stdoutPath}`,
      ]);
      return ExitCode.ok;
    }
    case 'uninstall': {
      const result = await uninstallService(ctx);
      print({ ok: true, action, role, ...result }, [
        result.removed ? `stopped and removed ${result.path}` : `not installed (${result.path})`,
      ]);
      return ExitCode.ok;
    }
    case 'restart':
      await restartService(ctx);
      print({ ok: true, action, role }, [`restarted ${ctx.spec.role} service`]);
      return ExitCode.ok;
    default: {
      const status = await serviceStatus(ctx);
      print(status, statusLines(status));
      return ExitCode.ok;
    }
  }
}
