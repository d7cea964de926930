// `openclaw-ipc app`: the exec host in the foreground until SIGINT/SIGTERM.
import { resolveStateDir } from '../../common/state-dir.js';
import { CliArgsError, intOption, parseArgs, stringOption } from '../../exec-host/cli-args.js';
import { DesktopApprover, TerminalApprover, composeApprovers } from '../../exec-host/prompts.js';
import { startExecHost } from '../../exec-host/server.js';
import { InstanceLockedError } from '../../exec-host/socket-setup.js';
import { ExitCode, UsageError } from '../run.js';

const USAGE = 'usage: openclaw-ipc app [--state-dir DIR] [--prompt-timeout MS] [--read-timeout MS] [--no-prompt]';

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv, ['state-dir', 'prompt-timeout', 'read-timeout'], ['no-prompt', 'help']);
  } catch (err) {
    throw new UsageError(`${(err as CliArgsError).message}\n${USAGE}`);
  }
  if (args.options.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return ExitCode.ok;
  }
  const stateDir = stringOption(args, 'state-dir') ?? resolveStateDir();
  const approver = args.options.has('no-prompt') ? undefined : composeApprovers([new TerminalApprover(), new DesktopApprover()]);
  let host;
  try {
    host = await startExecHost({
      stateDir,
      approver,
      promptTimeoutMs: intOption(args, 'prompt-timeout'),
      readTimeoutMs: intOption(args, 'read-timeout'),
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
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await host.close();
  process.stderr.write(`openclaw-ipc app: ${signal}, socket removed, exiting\n`);
  // stdin may hold the loop open when a terminal prompter was attached.
  process.stdin.destroy();
  return ExitCode.ok;
}
