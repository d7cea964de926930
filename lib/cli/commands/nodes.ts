// openclaw-ipc nodes <sub>: the nodes a Gateway knows, with upstream's subcommand names:
//   list | status            nodes and their connection state (node.list)
//   pending | approve <id> | reject <id>    command-surface pairing requests (node.pair.*)
//   describe --node N        one node's capabilities and commands (node.describe)
//   rename --node N --name X (node.rename)        remove --node N (node.pair.remove)
//   invoke --node N --command C [--params JSON]   (same as `openclaw-ipc invoke`)
import { connectOperator, resolveNodeId, resolveOperatorTarget, type NodeSummary } from '../../client/operator.js';
import type { GatewayClient } from '../../client/gateway-client.js';
import { ExitCode, OPERATOR_OPTIONS, UsageError, parseCommandArgs, SECRET_FLAGS_NOTE } from '../run.js';

const USAGE = [
  'usage: openclaw-ipc nodes [list|status] | pending | approve <requestId> | reject <requestId>',
  '       | describe --node <id|name> | rename --node <id|name> --name <new name> | remove --node <id|name>',
  '       | invoke --node <id|name> --command <cmd> [--params JSON]      [--url ws://…] [--token T | --password P] [--json]',
  SECRET_FLAGS_NOTE,
  'example: openclaw-ipc nodes describe --node mybox --json',
].join('\n');

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

interface Ctx {
  client: GatewayClient;
  json: boolean;
  rest: string[];
  node?: string;
  name?: string;
}

const out = (text: string): void => {
  process.stdout.write(text);
};
const printJson = (value: unknown): void => out(`${JSON.stringify(value, null, 2)}\n`);

function needOneId(ctx: Ctx, sub: string): string {
  if (ctx.rest.length !== 1) throw new UsageError(`nodes ${sub} needs one request id\n${USAGE}`);
  return ctx.rest[0]!;
}

async function needNode(ctx: Ctx, sub: string): Promise<string> {
  if (!ctx.node) throw new UsageError(`nodes ${sub} needs --node <id|name>\n${USAGE}`);
  return resolveNodeId(ctx.client, ctx.node);
}

async function list(ctx: Ctx): Promise<number> {
  const result = await ctx.client.request<{ ts?: number; nodes?: NodeSummary[] }>('node.list', {});
  const nodes = Array.isArray(result?.nodes) ? result.nodes : [];
  if (ctx.json) printJson(result);
  else if (nodes.length === 0) out('no nodes\n');
  else {
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
    out(`${table(rows)}\n`);
  }
  return ExitCode.ok;
}

const SUBCOMMANDS: Record<string, (ctx: Ctx) => Promise<number>> = {
  list,
  status: list,
  pending: async (ctx) => {
    const result = await ctx.client.request<{ pending?: Array<Record<string, unknown>> }>('node.pair.list', {});
    if (ctx.json) printJson(result);
    else {
      const pending = Array.isArray(result?.pending) ? result.pending : [];
      if (pending.length === 0) out('no pending node requests\n');
      for (const p of pending)
        out(`${String(p.requestId)}  ${String(p.nodeId ?? '')}  ${String(p.displayName ?? '')}\n`);
    }
    return ExitCode.ok;
  },
  approve: async (ctx) => {
    const requestId = needOneId(ctx, 'approve');
    const result = await ctx.client.request('node.pair.approve', { requestId });
    if (ctx.json) printJson(result);
    else out(`approved ${requestId}\n`);
    return ExitCode.ok;
  },
  reject: async (ctx) => {
    const requestId = needOneId(ctx, 'reject');
    const result = await ctx.client.request('node.pair.reject', { requestId });
    if (ctx.json) printJson(result);
    else out(`rejected ${requestId}\n`);
    return ExitCode.ok;
  },
  describe: async (ctx) => {
    const nodeId = await needNode(ctx, 'describe');
    const result = await ctx.client.request<Record<string, unknown>>('node.describe', { nodeId });
    if (ctx.json) printJson(result);
    else {
      const commands = Array.isArray(result.commands) ? (result.commands as string[]) : [];
      out(
        [
          `node:      ${nodeId}`,
          `name:      ${String(result.displayName ?? '')}`,
          `platform:  ${String(result.platform ?? '')}`,
          `state:     ${result.connected ? 'connected' : 'offline'}`,
          `commands:  ${commands.length ? commands.join(', ') : '(none)'}`,
          '',
        ].join('\n'),
      );
    }
    return ExitCode.ok;
  },
  rename: async (ctx) => {
    const nodeId = await needNode(ctx, 'rename');
    if (!ctx.name?.trim()) throw new UsageError(`nodes rename needs --name <new name>\n${USAGE}`);
    const result = await ctx.client.request('node.rename', { nodeId, displayName: ctx.name.trim() });
    if (ctx.json) printJson(result);
    else out(`renamed ${nodeId} to ${ctx.name.trim()}\n`);
    return ExitCode.ok;
  },
  remove: async (ctx) => {
    const nodeId = await needNode(ctx, 'remove');
    const result = await ctx.client.request('node.pair.remove', { nodeId });
    if (ctx.json) printJson(result);
    else out(`removed node ${nodeId}\n`);
    return ExitCode.ok;
  },
};

export async function main(argv: string[]): Promise<number> {
  // `nodes invoke …` is `openclaw-ipc invoke …` (upstream's spelling).
  if (argv[0] === 'invoke') return (await import('./invoke.js')).main(argv.slice(1));
  const parsed = parseCommandArgs(
    argv,
    { ...OPERATOR_OPTIONS, node: { type: 'string' }, name: { type: 'string' } },
    USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  const [sub = 'list', ...rest] = positionals;
  const run = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!run) throw new UsageError(`unknown nodes subcommand ${JSON.stringify(sub)}\n${USAGE}`);
  const client = await connectOperator(resolveOperatorTarget(values));
  try {
    return await run({ client, json: values.json === true, rest, node: values.node, name: values.name });
  } finally {
    await client.close();
  }
}
