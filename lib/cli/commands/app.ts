// `openclaw-ipc app`: the exec host in the foreground until SIGINT/SIGTERM.
import { resolveStateDir } from '../../common/state-dir.js';
import { DesktopApprover, TerminalApprover, composeApprovers } from '../../exec-host/prompts.js';
import { startExecHost } from '../../exec-host/server.js';
import { InstanceLockedError } from '../../exec-host/instance-lock.js';
import { ExitCode, parseCommandArgs, positiveIntOption, waitForStopSignal } from '../run.js';

const USAGE = 'usage: openclaw-ipc app [--state-dir DIR] [--prompt-timeout MS] [--read-timeout MS] [--no-prompt]';

export async function main(argv: string[]): Promise<number> {
  const args = parseCommandArgs(
    argv,
    {
      'state-dir': { type: 'string' },
      'prompt-timeout': { type: 'string' },
      'read-timeout': { type: 'string' },
      'no-prompt': { type: 'boolean' },
    },
    USAGE,
    { allowPositionals: false },
  );
  if (!args) return ExitCode.ok;
  const { values } = args;
  const stateDir = values['state-dir'] ?? resolveStateDir();
  const promptTimeoutMs = positiveIntOption(values['prompt-timeout'], '--prompt-timeout');
  const readTimeoutMs = positiveIntOption(values['read-timeout'], '--read-timeout');
  const approver = values['no-prompt'] ? undefined : composeApprovers([new TerminalApprover(), new DesktopApprover()]);
  let host;
  try {
    host = await startExecHost({
      stateDir,
      approver,
      promptTimeoutMs,
      readTimeoutMs,
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof InstanceLockedError || code === 'ERR_SOCKET_IN_USE') {
      process.stderr.write(`openclaw-ipc app: ${(err as Error).message}\n`);
      return ExitCode.locked;
    }
    throw err;
  }
  process.stderr.write(`openclaw-ipc app: exec host listening on ${host.socketPath} (pid ${process.pid})\n`);
  const signal = await waitForStopSignal();
  await host.close();
  process.stderr.write(`openclaw-ipc app: ${signal}, socket removed, exiting\n`);
  // stdin may hold the loop open when a terminal prompter was attached.
  process.stdin.destroy();
  return ExitCode.ok;
}
