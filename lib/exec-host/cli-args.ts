// Minimal option parsing for the exec-host CLI commands: `--name value`, `--flag`, `--` ends options.
import { IpcError } from '../common/errors.js';

export class CliArgsError extends IpcError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

export interface ParsedArgs {
  options: Map<string, string | true>;
  positionals: string[];
  /** Everything after `--`. */
  rest: string[];
}

/** `valued` lists options that take a value; `flags` those that do not. Anything else is an error. */
export function parseArgs(argv: string[], valued: readonly string[], flags: readonly string[]): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { options, positionals, rest: argv.slice(i + 1) };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      if (valued.includes(name)) {
        const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new CliArgsError(`--${name} needs a value`);
        options.set(name, value);
      } else if (flags.includes(name) && eq < 0) {
        options.set(name, true);
      } else {
        throw new CliArgsError(`unknown option ${arg}`);
      }
    } else {
      positionals.push(arg);
    }
  }
  return { options, positionals, rest: [] };
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

export function intOption(args: ParsedArgs, name: string): number | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new CliArgsError(`--${name} must be a positive integer`);
  return n;
}
