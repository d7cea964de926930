// openclaw-ipc status [--state-dir DIR] [--json]: what runs for this state dir (Gateway, exec host, bridge,
// nodes) from the lock files, the sockets and a Gateway probe. Exit 0 either way: status reports, doctor judges.
import { resolveStateDir } from '../../common/state-dir.js';
import { inspectLocalState, type GatewayProbe, type LockedComponent } from '../../service/inspect.js';
import { formatDuration } from '../../service/process-info.js';
import { ExitCode, parseCommandArgs } from '../run.js';
import { paint } from '../style.js';

const USAGE = ['usage: openclaw-ipc status [--state-dir DIR] [--json]', 'example: openclaw-ipc status --json'].join(
  '\n',
);

function lockLine(name: string, component: LockedComponent, extra: string): string {
  const { lock } = component;
  const state =
    lock.state === 'live'
      ? paint(
          'green',
          `running, pid ${lock.pid}${component.uptimeMs !== undefined ? `, up ${formatDuration(component.uptimeMs)}` : ''}`,
        )
      : lock.state === 'stale'
        ? paint('yellow', `not running (stale lock of pid ${lock.pid})`)
        : lock.state === 'absent'
          ? paint('dim', 'not running')
          : paint('red', `lock unreadable: ${'reason' in lock ? lock.reason : ''}`);
  return `${name.padEnd(10)} ${state}${extra ? `  ${extra}` : ''}`;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, USAGE, {
    allowPositionals: false,
  });
  if (!parsed) return ExitCode.ok;
  const stateDir = parsed.values['state-dir'] ?? resolveStateDir();
  const state = await inspectLocalState(stateDir);
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    return ExitCode.ok;
  }
  const probe = state.gateway.probe;
  const nodes = probe.nodes ?? [];
  const lines = [
    `state dir  ${stateDir}`,
    lockLine(
      'gateway',
      state.gateway,
      probe.reachable ? `${probe.url} (answers)` : `${probe.url} (${paint('red', `unreachable: ${probe.error}`)})`,
    ),
    lockLine(
      'exec host',
      state.execHost,
      `${state.execHost.socket}${state.execHost.socketExists ? '' : ' (no socket)'}`,
    ),
    `${'bridge'.padEnd(10)} ${state.bridge.socketExists ? paint('green', 'socket present') : paint('dim', 'no socket')}  ${state.bridge.socket}`,
    `${'nodes'.padEnd(10)} ${
      probe.reachable
        ? `${nodes.filter((n) => n.connected).length} connected of ${nodes.length}${nodes.length ? `: ${nodeNames(nodes)}` : ''}`
        : paint('dim', 'unknown (Gateway unreachable)')
    }`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}

/** The nodes by name (else a short id), the offline ones marked. */
function nodeNames(nodes: NonNullable<GatewayProbe['nodes']>): string {
  return nodes.map((n) => `${n.displayName ?? n.nodeId.slice(0, 12)}${n.connected ? '' : ' (offline)'}`).join(', ');
}
