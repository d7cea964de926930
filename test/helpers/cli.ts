// Runs the CLI as a user would: from source in a child process, or in this process through the same
// command tables (much faster; for commands that return).
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliNodeArgs } from './operator-cli.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `openclaw-ipc <args>` with `env`; rejects (after SIGKILL) if it outlives `timeoutMs`. */
export function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliNodeArgs('main', args), {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openclaw-ipc ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const captured = new AsyncLocalStorage<{ stdout: string[]; stderr: string[] }>();
let capturing = false;

/** Routes process.stdout/stderr writes made inside a cliInProcess run to that run; others pass through. */
function installCapture(): void {
  if (capturing) return;
  capturing = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const store = captured.getStore();
      if (!store) return original(chunk, ...rest);
      store[name].push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (callback) queueMicrotask(callback);
      return true;
    }) as typeof stream.write;
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * `openclaw-ipc <args>` (bin 'main') or `openclaw-mac <args>` run in this process through the same
 * runCli and command table the bins use, with `env` as process.env for the duration: no cold start (a
 * tsx child costs seconds on a busy box). Runs are serialised (they share process.env); what the command
 * writes to stdout/stderr is captured by async context, so the test runner's own output is untouched.
 * Long-running commands (up, logs -f) and anything that calls process.exit belong in a child process.
 */
export function cliInProcess(bin: 'main' | 'mac', args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const run = queue.then(() => runInProcess(bin, args, env));
  queue = run.catch(() => undefined);
  return run;
}

async function runInProcess(bin: 'main' | 'mac', args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  installCapture();
  const { runCli } = await import('../../lib/cli/run.js');
  const [program, table] =
    bin === 'main'
      ? ['openclaw-ipc', (await import('../../lib/cli/ipc-commands.js')).ipcCommands]
      : ['openclaw-mac', (await import('../../lib/cli/mac-commands.js')).macCommands];
  const savedEnv = { ...process.env };
  const savedExitCode = process.exitCode;
  const store = { stdout: [] as string[], stderr: [] as string[] };
  replaceEnv(env);
  process.exitCode = undefined;
  try {
    await captured.run(store, () => runCli(program, table, args));
    const code = process.exitCode ?? 0;
    return { code: Number(code), stdout: store.stdout.join(''), stderr: store.stderr.join('') };
  } finally {
    replaceEnv(savedEnv);
    process.exitCode = savedExitCode;
  }
}

function replaceEnv(env: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
}
