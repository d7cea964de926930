// Shared CLI plumbing: subcommand dispatch, option parsing, typed errors to stderr with stable exit codes.
import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { IpcError } from '../common/errors.js';
import { MAX_TIMEOUT_MS } from '../protocol/constants.js';
import { colorEnabled, paint } from './style.js';

export interface CommandModule {
  /** Runs the subcommand; resolves to the process exit code. */
  main(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  /** One command line a user can copy, shown in the top-level help. */
  example?: string;
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

/**
 * The one mapping from a thrown error to an exit code: by its stable `code`, whatever class threw it.
 * Anything not listed is a failure (1).
 */
const EXIT_CODE_BY_ERROR: Readonly<Record<string, number>> = {
  ERR_USAGE: ExitCode.usage,
  // Configuration the user must change before the Gateway can start (or a client can connect).
  ERR_GATEWAY_TLS_REQUIRED: ExitCode.usage,
  ERR_GATEWAY_BIND_INVALID: ExitCode.usage,
  ERR_GATEWAY_TLS_CONFIG: ExitCode.usage,
  ERR_TLS_FINGERPRINT_INVALID: ExitCode.usage,
  ERR_GATEWAY_TLS_PIN_MISMATCH: ExitCode.denied,
  ERR_GATEWAY_LOCKED: ExitCode.locked,
  ERR_EXEC_HOST_LOCKED: ExitCode.locked,
  ERR_GATEWAY_PORT_IN_USE: ExitCode.locked,
  ERR_SOCKET_IN_USE: ExitCode.locked,
  ERR_PEER_DENIED: ExitCode.denied,
};

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(EXIT_CODE_BY_ERROR, code)
    ? EXIT_CODE_BY_ERROR[code]
    : ExitCode.failure;
}

export class UsageError extends IpcError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** What parseCommandArgs returns: typed `values` for the declared options, and the positionals. */
export type CommandArgs<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/**
 * A command's help: its usage text, then a line generated from its option table naming every option the
 * parser accepts that the text does not mention (so no parsed option is ever missing from the help;
 * test/cli/help-options.test.ts checks every command).
 */
export function helpText(usage: string, options: OptionsConfig): string {
  const missing = Object.entries(options)
    .filter(([name]) => !new RegExp(`--${name}(?![a-z0-9-])`).test(usage))
    .map(([name, option]) => `--${name}${option.type === 'string' ? ' VALUE' : ''}`);
  return missing.length === 0 ? usage : `${usage}\nalso: ${missing.join(' ')}`;
}

/**
 * node:util parseArgs, strict, with `--help`/`-h` added. A parse failure is a UsageError (exit 2) whose
 * message ends with `usage`; `--help` prints `usage` to stdout and returns null (the caller exits 0).
 */
export function parseCommandArgs<const O extends OptionsConfig>(
  argv: string[],
  options: O,
  usage: string,
  config: { allowPositionals?: boolean } = {},
): CommandArgs<O> | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, ...HELP_OPTION },
      strict: true,
      allowPositionals: config.allowPositionals ?? true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${helpText(usage, options)}`);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(`${helpText(usage, options)}\n`);
    return null;
  }
  return parsed as CommandArgs<O>;
}

/**
 * `--url`, `--token`, `--password`, `--tls`, `--tls-fingerprint`, `--json`: how every operator command reaches
 * the Gateway and prints. A secret given as a flag is visible to other local users in `ps`: the env vars are
 * preferred. A fingerprint is not a secret.
 */
export const OPERATOR_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  password: { type: 'string' },
  tls: { type: 'boolean' },
  'tls-fingerprint': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Appended to the usage of commands that take `--token`/`--password`. */
export const SECRET_FLAGS_NOTE = [
  'auth: OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD (preferred), else gateway.auth.token/.password in',
  '  $OPENCLAW_STATE_DIR/openclaw.json. --token/--password override them, but any user can read flags in `ps`.',
  'tls: --tls (wss://) with --tls-fingerprint <sha256> pins the Gateway certificate; nothing is sent on a mismatch.',
].join('\n');

export { MAX_TIMEOUT_MS };

/** A decimal integer option in 1..max (undefined when absent); anything else is a UsageError. */
export function positiveIntOption(
  value: string | undefined,
  flag: string,
  max: number = MAX_TIMEOUT_MS,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n > max) throw new UsageError(`${flag} must be an integer in 1..${max}`);
  return n;
}

/** Longest `--timeout` of the mac commands that wait on the network (discover, connect): ten minutes. */
export const MAX_NETWORK_WAIT_MS = 600_000;

/**
 * `--timeout` of discover/connect in ms: a whole number, `fallback` when absent; as upstream, a shorter
 * window is raised to `min` rather than refused; capped at MAX_NETWORK_WAIT_MS.
 */
export function networkWaitOption(raw: string | undefined, fallback: number, min: number, usage: string): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--timeout must be a whole number of ms\n${usage}`);
  return Math.min(MAX_NETWORK_WAIT_MS, Math.max(min, Number(raw.trim())));
}

/** A TCP port from `from` (an option or a variable name): decimal, in min..65535 (0 = any free port). */
export function portOption(text: string, from: string, min: 0 | 1 = 0): number {
  const port = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < min || port > 65_535)
    throw new UsageError(`invalid port from ${from}: ${text} (expected ${min}..65535)`);
  return port;
}

/** Resolves with the first SIGINT or SIGTERM; both listeners are removed then (a second signal is default again). */
export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** This package's version (package.json next to dist/ or lib/). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function printHelp(program: string, commands: CommandTable): void {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(
    ([name, entry]) => `  ${paint('bold', name.padEnd(width))}  ${entry.summary}`,
  );
  const examples = Object.values(commands)
    .filter((entry) => entry.example)
    .map((entry) => `  ${paint('cyan', `${program} ${entry.example}`)}`);
  process.stdout.write(
    [
      `usage: ${program} <command> [options]   (${program} <command> --help for its options)`,
      '',
      'commands:',
      ...lines,
      ...(examples.length ? ['', 'examples:', ...examples] : []),
      '',
      `${program} --version prints the version.`,
      '',
    ].join('\n'),
  );
}

export async function runCli(program: string, commands: CommandTable, argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${program} ${packageVersion()}\n`);
    process.exitCode = ExitCode.ok;
    return;
  }
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
    const message = `${program} ${name}: ${(err as Error)?.message ?? String(err)}${code ? ` [${code}]` : ''}`;
    process.stderr.write(`${paint('red', message, colorEnabled(process.stderr))}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
