// openclaw-ipc invoke --node <id|name> --command <cmd> [--params <json>] [--timeout MS] [--url U] [--token T] [--json]
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';

import { connectOperator, resolveNodeId, resolveOperatorTarget } from '../../client/operator.js';
import { ExitCode, UsageError } from '../run.js';

const USAGE = 'usage: openclaw-ipc invoke --node <id|name> --command <cmd> [--params <json>] [--timeout MS] [--url ws://…] [--token T] [--json]';

export function parseTimeout(value: string | undefined, name = '--timeout'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 24 * 3_600_000) throw new UsageError(`${name} must be a positive number of milliseconds`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        node: { type: 'string' }, command: { type: 'string' }, params: { type: 'string' }, timeout: { type: 'string' },
        url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return ExitCode.ok;
  }
  if (!values.node || !values.command) throw new UsageError(`--node and --command are required\n${USAGE}`);
  let params: unknown = {};
  if (values.params !== undefined) {
    try {
      params = JSON.parse(values.params);
    } catch (err) {
      throw new UsageError(`--params is not valid JSON: ${(err as Error).message}`);
    }
  }
  const timeoutMs = parseTimeout(values.timeout) ?? 30_000;
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
