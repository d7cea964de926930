// openclaw-ipc nodes [list] | pending | approve <requestId>  [--url U] [--token T] [--json]
import { connectOperator, resolveOperatorTarget, type NodeSummary } from '../../client/operator.js';
import { ExitCode, OPERATOR_OPTIONS, UsageError, parseCommandArgs, SECRET_FLAGS_NOTE } from '../run.js';

const USAGE = `usage: openclaw-ipc nodes [list|pending|approve <requestId>] [--url ws://…] [--token T | --password P] [--json]\n${SECRET_FLAGS_NOTE}`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, OPERATOR_OPTIONS, USAGE);
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  const [sub = 'list', ...rest] = positionals;
  if (!['list', 'pending', 'approve'].includes(sub))
    throw new UsageError(`unknown nodes subcommand ${JSON.stringify(sub)}\n${USAGE}`);
  if (sub === 'approve' && rest.length !== 1) throw new UsageError(`nodes approve needs one request id\n${USAGE}`);
  const client = await connectOperator(resolveOperatorTarget(values));
  try {
    if (sub === 'list') {
      const result = await client.request<{ ts?: number; nodes?: NodeSummary[] }>('node.list', {});
      const nodes = Array.isArray(result?.nodes) ? result.nodes : [];
      if (values.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else if (nodes.length === 0) {
        process.stdout.write('no nodes\n');
      } else {
        const rows = [['NODE ID', 'NAME', 'PLATFORM', 'STATE', 'COMMANDS']];
        for (const n of nodes) {
          const commands = Array.isArray(n.commands) ? (n.commands as unknown[]).length : 0;
          rows.push([
            n.nodeId,
            String(n.displayName ?? ''),
            String(n.platform ?? ''),
            n.connected ? 'connected' : 'offline',
            String(commands),
          ]);
        }
        process.stdout.write(`${table(rows)}\n`);
      }
      return ExitCode.ok;
    }
    if (sub === 'pending') {
      const result = await client.request<{ pending?: Array<Record<string, unknown>> }>('node.pair.list', {});
      if (values.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        const pending = Array.isArray(result?.pending) ? result.pending : [];
        if (pending.length === 0) process.stdout.write('no pending node requests\n');
        for (const p of pending)
          process.stdout.write(`${String(p.requestId)}  ${String(p.nodeId ?? '')}  ${String(p.displayName ?? '')}\n`);
      }
      return ExitCode.ok;
    }
    const result = await client.request('node.pair.approve', { requestId: rest[0] });
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `approved ${rest[0]}\n`);
    return ExitCode.ok;
  } finally {
    await client.close();
  }
}
