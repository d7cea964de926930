// openclaw-ipc run --node <id|name> [--cwd D] [--timeout MS] [--agent ID] [--json] -- <argv…>
// Sugar for node.invoke system.run: prints the command's output and exits with its exit code.
import crypto from 'node:crypto';

import { GatewayRequestError } from '../../client/errors.js';
import { connectOperator, resolveNodeId, resolveOperatorTarget } from '../../client/operator.js';
import {
  ExitCode,
  OPERATOR_OPTIONS,
  UsageError,
  parseCommandArgs,
  positiveIntOption,
  SECRET_FLAGS_NOTE,
  waitForStopSignal,
} from '../run.js';

const USAGE =
  `usage: openclaw-ipc run --node <id|name> [--cwd DIR] [--timeout MS] [--agent ID] ` +
  `[--url ws://…] [--token T | --password P] [--json] -- <argv…>\n${SECRET_FLAGS_NOTE}`;
/** Exit status when the command timed out (coreutils `timeout` convention). */
export const EXIT_TIMED_OUT = 124;
/** Exit status after Ctrl-C / SIGTERM (128 + SIGINT, the shell convention). */
export const EXIT_CANCELLED = 130;

interface RunPayload {
  exitCode?: number;
  timedOut?: boolean;
  success?: boolean;
  stdout?: string;
  stderr?: string;
  error?: string | null;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      node: { type: 'string' },
      cwd: { type: 'string' },
      timeout: { type: 'string' },
      agent: { type: 'string' },
      ...OPERATOR_OPTIONS,
    },
    USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  if (!values.node) throw new UsageError(`--node is required\n${USAGE}`);
  if (positionals.length === 0) throw new UsageError(`nothing to run: put the command after --\n${USAGE}`);
  const commandTimeout = positiveIntOption(values.timeout, '--timeout');
  // The invoke waits a little longer than the command may run, like the Gateway's exec tool.
  const invokeTimeout = Math.max(10_000, (commandTimeout ?? 120_000) + 5_000);
  const params: Record<string, unknown> = { command: positionals };
  if (values.cwd) params.cwd = values.cwd;
  if (commandTimeout) params.timeoutMs = commandTimeout;
  if (values.agent) params.agentId = values.agent;

  const client = await connectOperator(resolveOperatorTarget(values));
  try {
    const nodeId = await resolveNodeId(client, values.node);
    let result: { payload?: RunPayload };
    try {
      const invoked = client.request<{ payload?: RunPayload }>(
        'node.invoke',
        { nodeId, command: 'system.run', params, timeoutMs: invokeTimeout, idempotencyKey: crypto.randomUUID() },
        { timeoutMs: invokeTimeout + 5_000 },
      );
      // Ctrl-C cancels the request end to end: closing this connection makes the Gateway withdraw the
      // approval it may wait for and tell the node to stop the command.
      const stopped = waitForStopSignal().then((signal) => ({ signal }));
      const first = await Promise.race([invoked, stopped]);
      if ('signal' in first) {
        invoked.catch(() => {});
        process.stderr.write(`openclaw-ipc run: ${first.signal}: cancelled; the command is stopped\n`);
        return EXIT_CANCELLED;
      }
      result = first;
    } catch (err) {
      if (
        err instanceof GatewayRequestError &&
        /SYSTEM_RUN_DENIED|SYSTEM_RUN_DISABLED|COMPANION_APP_UNAVAILABLE|APPROVAL_REQUIRED/.test(
          `${err.message} ${err.detailCode ?? ''}`,
        )
      ) {
        if (values.json)
          process.stdout.write(
            `${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details } }, null, 2)}\n`,
          );
        // The Gateway prefixes the node's code to its message (spec §10.1): show the repeated prefix once.
        process.stderr.write(`openclaw-ipc run: denied: ${err.message.replace(/^([A-Z_]+): \1: /, '$1: ')}\n`);
        return ExitCode.denied;
      }
      throw err;
    }
    const payload = result?.payload ?? {};
    if (values.json) {
      process.stdout.write(`${JSON.stringify(payload, null, 2)}\n`);
    } else {
      if (payload.stdout) process.stdout.write(payload.stdout);
      if (payload.stderr) process.stderr.write(payload.stderr);
      if (payload.error && payload.error !== 'timeout' && payload.exitCode === undefined)
        process.stderr.write(`openclaw-ipc run: ${payload.error}\n`);
    }
    if (payload.timedOut) return EXIT_TIMED_OUT;
    if (typeof payload.exitCode === 'number') return payload.exitCode;
    return payload.success ? ExitCode.ok : ExitCode.failure;
  } finally {
    await client.close();
  }
}
