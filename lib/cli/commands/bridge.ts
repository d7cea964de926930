// openclaw-ipc bridge [host|status|call <op> [--payload JSON]] [--json]
//   host    serve a PeekabooBridge host in the foreground until SIGINT/SIGTERM
//   status  probe the bridge sockets in discovery order and show which host would be used
//   call    run one operation on the selected host (or locally when none is acceptable)
import { parseBoundedJson } from '../../common/bounded-json.js';
import { BRIDGE_OPERATIONS } from '../../bridge/protocol.js';
import {
  bridgeRequest,
  discoverBridgeHost,
  startBridgeHost,
  BridgeError,
  BridgeTransportError,
  type BridgeProbe,
} from '../../bridge/index.js';
import {
  ExitCode,
  UsageError,
  parseCommandArgs,
  positiveIntOption,
  waitForStopSignal,
  type CommandArgs,
} from '../run.js';

const USAGE = `usage: openclaw-ipc bridge [host|status|call <op>] [options]
  host    [--socket PATH] [--allow-team ID]... [--same-user] [--debug-build]
  status  [--socket PATH] [--json]
  call    <op> [--payload JSON] [--socket PATH] [--timeout MS] [--json]   (call alone lists the operations)
The host allowlists TeamID Y5PE65HELJ by default; on Linux no peer has a TeamID, so use --same-user
to admit same-user peers. PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS=1 is honoured only with --debug-build.
example: openclaw-ipc bridge status --json`;

const options = {
  socket: { type: 'string' },
  'allow-team': { type: 'string', multiple: true },
  'same-user': { type: 'boolean' },
  'debug-build': { type: 'boolean' },
  payload: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;
type Values = CommandArgs<typeof options>['values'];

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function describeProbe(p: BridgeProbe): string {
  const detail =
    p.outcome === 'accepted' || p.outcome === 'rejected'
      ? `${p.handshake?.hostKind} ${p.handshake?.build}, protocol ${p.handshake?.negotiatedVersion.major}.${p.handshake?.negotiatedVersion.minor}, ` +
        `${p.handshake?.supportedOperations.length} ops${p.reason ? ` (${p.reason})` : ''}`
      : p.error
        ? `${p.error.code}: ${p.error.message}`
        : (p.reason ?? '');
  return `${p.outcome.padEnd(8)} ${p.name.padEnd(16)} ${p.socketPath}  ${detail}`;
}

async function runHost(values: Values): Promise<number> {
  const teams = values['allow-team'];
  if (values['same-user'] && teams?.length) throw new UsageError('--same-user and --allow-team are exclusive');
  const host = await startBridgeHost({
    socketPath: values.socket,
    allowedTeamIds: values['same-user'] ? [] : teams,
    debugBuild: values['debug-build'] === true,
  });
  out(`bridge host listening on ${host.socketPath}`);
  await waitForStopSignal();
  await host.close();
  return ExitCode.ok;
}

async function runStatus(values: Values): Promise<number> {
  const discovery = await discoverBridgeHost({ socketPath: values.socket });
  if (values.json) {
    out(
      JSON.stringify({
        selected: discovery.selected?.socketPath ?? null,
        local: discovery.local,
        probes: discovery.probes,
      }),
    );
  } else {
    for (const probe of discovery.probes) out(describeProbe(probe));
    out(
      discovery.selected ? `selected: ${discovery.selected.socketPath}` : 'selected: local (no acceptable bridge host)',
    );
  }
  return discovery.selected || !discovery.explicit ? ExitCode.ok : ExitCode.failure;
}

async function runCall(op: string | undefined, values: Values): Promise<number> {
  if (!op) {
    // No operation: list them (what `call` can do, and the permission each needs on macOS).
    const ops = Object.entries(BRIDGE_OPERATIONS).sort(([a], [b]) => a.localeCompare(b));
    if (values.json) out(JSON.stringify(Object.fromEntries(ops), null, 2));
    else {
      out('usage: openclaw-ipc bridge call <operation> [--payload JSON]; operations (pb-1.7):');
      const width = Math.max(...ops.map(([name]) => name.length));
      for (const [name, spec] of ops)
        out(
          `  ${name.padEnd(width)}  ${spec.permission ? `needs ${spec.permission}` : ''}${spec.since ? `  (since 1.${spec.since})` : ''}`.trimEnd(),
        );
      out('example: openclaw-ipc bridge call permissionsStatus --json');
    }
    return ExitCode.ok;
  }

  let payload: unknown;
  if (typeof values.payload === 'string') {
    try {
      // Bounded like every untrusted JSON (depth refused before parsing); duplicate keys keep JSON's last-wins.
      payload = parseBoundedJson(values.payload, { rejectDuplicateKeys: false });
    } catch (err) {
      throw new UsageError(`--payload is not valid JSON: ${(err as Error).message.replace(/^invalid JSON: /, '')}`);
    }
  }
  const timeoutMs = positiveIntOption(values.timeout, '--timeout');
  try {
    const result = await bridgeRequest(op, payload, { socketPath: values.socket, timeoutMs });
    if (values.json) {
      out(
        JSON.stringify({
          via: result.via,
          socketPath: result.socketPath ?? null,
          case: result.response.case,
          value: result.response.value ?? null,
        }),
      );
    } else {
      out(
        `${result.via === 'local' ? 'local (this process)' : result.socketPath}: ${result.response.case} ${JSON.stringify(result.response.value ?? {})}`,
      );
    }
    return ExitCode.ok;
  } catch (err) {
    if (!(err instanceof BridgeError || err instanceof BridgeTransportError)) throw err;
    const bridgeCode = err instanceof BridgeError ? err.bridgeCode : undefined;
    const details = err instanceof BridgeError ? err.details : undefined;
    if (values.json) {
      out(
        JSON.stringify({
          error: { code: err.code, bridgeCode: bridgeCode ?? null, message: err.message, details: details ?? null },
        }),
      );
    } else {
      process.stderr.write(`openclaw-ipc bridge: ${err.message}${details ? ` (${details})` : ''} [${err.code}]\n`);
    }
    return bridgeCode === 'unauthorizedClient' || bridgeCode === 'permissionDenied'
      ? ExitCode.denied
      : ExitCode.failure;
  }
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, options, USAGE);
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  const [sub = 'status', ...rest] = positionals;
  switch (sub) {
    case 'host':
      return runHost(values);
    case 'status':
      return runStatus(values);
    case 'call':
      if (rest.length > 1) throw new UsageError('call takes exactly one operation');
      return runCall(rest[0], values);
    default:
      throw new UsageError(`unknown bridge subcommand '${sub}'\n${USAGE}`);
  }
}
