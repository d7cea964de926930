// Shared CLI plumbing: subcommand dispatch, typed errors to stderr with stable exit codes.
import { IpcError } from '../common/errors.js';

export interface CommandModule {
  /** Runs the subcommand; resolves to the process exit code. */
  main(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

export type CommandTable = Record<string, CommandEntry>;

/** Exit codes shared by every subcommand. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Another instance holds the lock for this state dir. */
  locked: 3,
  /** The request was refused (denied by policy, auth failed). */
  denied: 4,
} as const;

export class UsageError extends IpcError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

function printHelp(program: string, commands: CommandTable): void {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  process.stdout.write(`usage: ${program} <command> [options]\n\ncommands:\n${lines.join('\n')}\n`);
}

export async function runCli(program: string, commands: CommandTable, argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    printHelp(program, commands);
    process.exitCode = name === undefined ? ExitCode.usage : ExitCode.ok;
    return;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    process.stderr.write(`${program}: unknown command '${name}' (try --help)\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  try {
    const module = await entry.load();
    process.exitCode = await module.main(rest);
  } catch (err) {
    const code = err instanceof IpcError ? err.code : (err as { code?: string })?.code;
    process.stderr.write(`${program} ${name}: ${(err as Error)?.message ?? String(err)}${code ? ` [${code}]` : ''}\n`);
    process.exitCode = err instanceof UsageError ? ExitCode.usage : ExitCode.failure;
  }
}
