// `openclaw-ipc exec [--json] [--cwd D] [--timeout MS] [--agent ID] -- <argv>`: one signed exec through
// the app's socket. Exits with the command's exit code; a denial exits 4.
import { resolveStateDir } from '../../common/state-dir.js';
import { EXEC_TIMEOUT_MS, ExecHostClientError, execViaSocket, loadClientConfig } from '../../exec-host/client.js';
import { ExitCode, UsageError, parseCommandArgs, positiveIntOption } from '../run.js';

const USAGE =
  'usage: openclaw-ipc exec [--json] [--cwd DIR] [--timeout MS] [--agent ID] [--state-dir DIR] -- <argv...>';

export async function main(argv: string[]): Promise<number> {
  const args = parseCommandArgs(
    argv,
    {
      cwd: { type: 'string' },
      timeout: { type: 'string' },
      agent: { type: 'string' },
      'state-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (!args) return ExitCode.ok;
  const { values, positionals: command } = args;
  if (command.length === 0) throw new UsageError(`no command given\n${USAGE}`);
  const timeoutMs = positiveIntOption(values.timeout, '--timeout');
  const json = values.json === true;
  const config = loadClientConfig(values['state-dir'] ?? resolveStateDir());
  let response;
  try {
    response = await execViaSocket(
      { command, cwd: values.cwd ?? process.cwd(), timeoutMs: timeoutMs ?? null, agentId: values.agent ?? null },
      { ...config, timeoutMs: Math.max(EXEC_TIMEOUT_MS, (timeoutMs ?? 0) + 5000) },
    );
  } catch (err) {
    // The exec host refused this connection outright: a denial, not a transport failure.
    if (err instanceof ExecHostClientError && err.code === 'ERR_PEER_DENIED') {
      process.stderr.write(`openclaw-ipc exec: ${err.message} [${err.code}]\n`);
      return ExitCode.denied;
    }
    throw err;
  }
  if (json) process.stdout.write(`${JSON.stringify(response)}\n`);
  if (!response.ok) {
    if (!json) {
      process.stderr.write(
        `openclaw-ipc exec: ${response.error.message}${response.error.reason ? ` (${response.error.reason})` : ''}\n`,
      );
    }
    return ExitCode.denied;
  }
  const result = response.payload;
  if (!json) {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    if (result.error && result.exitCode === undefined) process.stderr.write(`openclaw-ipc exec: ${result.error}\n`);
  }
  if (result.exitCode !== undefined) return result.exitCode;
  return result.timedOut ? 124 : ExitCode.failure;
}
