// openclaw-ipc invoke --node <id|name> --command <cmd> [--params <json>] [--timeout MS] [--url U] [--token T] [--json]
import crypto from 'node:crypto';

import { parseBoundedJson } from '../../common/bounded-json.js';
import { connectOperator, resolveNodeId, resolveOperatorTarget } from '../../client/operator.js';
import {
  ExitCode,
  OPERATOR_OPTIONS,
  UsageError,
  parseCommandArgs,
  positiveIntOption,
  SECRET_FLAGS_NOTE,
} from '../run.js';

const USAGE =
  `usage: openclaw-ipc invoke --node <id|name> --command <cmd> [--params <json>] [--timeout MS] ` +
  `[--url ws://…] [--token T | --password P] [--json]\n${SECRET_FLAGS_NOTE}`;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      node: { type: 'string' },
      command: { type: 'string' },
      params: { type: 'string' },
      timeout: { type: 'string' },
      ...OPERATOR_OPTIONS,
    },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  if (!values.node || !values.command) throw new UsageError(`--node and --command are required\n${USAGE}`);
  let params: unknown = {};
  if (values.params !== undefined) {
    try {
      // Bounded like every untrusted JSON (depth refused before parsing); duplicate keys keep JSON's last-wins.
      params = parseBoundedJson(values.params, { rejectDuplicateKeys: false });
    } catch (err) {
      throw new UsageError(`--params is not valid JSON: ${(err as Error).message.replace(/^invalid JSON: /, '')}`);
    }
  }
  const timeoutMs = positiveIntOption(values.timeout, '--timeout') ?? 30_000;
  const client = await connectOperator(resolveOperatorTarget(values));
  try {
    const nodeId = await resolveNodeId(client, values.node);
    const result = await client.request<{ payload?: unknown; payloadJSON?: string | null }>(
      'node.invoke',
      { nodeId, command: values.command, params, timeoutMs, idempotencyKey: crypto.randomUUID() },
      { timeoutMs: timeoutMs + 5_000 },
    );
    const payload = result?.payload ?? null;
    process.stdout.write(`${JSON.stringify(values.json ? result : payload, null, 2)}\n`);
    return ExitCode.ok;
  } finally {
    await client.close();
  }
}
