// Small measuring helpers shared by the benchmarks: percentiles, /proc readings (RSS, CPU time of a
// process tree), the load line every number is reported with, and a child CLI started until its ready line.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Summary {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length),
    n: samples.length,
  };
}

export function median(samples: readonly number[]): number {
  return summarize(samples).p50;
}

export function fmtMs(n: number): string {
  return `${n.toFixed(2)} ms`;
}

export function loadLine(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

/** Resident set of one process, in KiB (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The pid and all its descendants (via /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let kids = '';
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const kid of kids.trim().split(/\s+/).filter(Boolean)) out.push(...processTree(Number(kid)));
  }
  return out;
}

/** RSS of a process and its descendants, in MB. */
export function rssTreeMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssKb(p), 0) / 1024;
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ: 100 on every Linux ABI Node supports

/** utime + stime of one process (all its threads), in ms; resolution 10 ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

export interface StartedCli {
  child: ChildProcess;
  readyMs: number;
  line: string;
  output: () => string;
}

/** Spawns `command args` and resolves when a stdout/stderr line matches `ready` (rejects if it exits first). */
export function startUntilReady(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; ready: RegExp; timeoutMs?: number; detached?: boolean },
): Promise<StartedCli> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    let out = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(
        new Error(
          `${path.basename(args[1] ?? command)}: no ready line within ${options.timeoutMs} ms: ${out.slice(-1500)}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer): void => {
      out = (out + chunk.toString()).slice(-200_000);
      if (done) return;
      const line = out.split('\n').find((l) => options.ready.test(l));
      if (!line) return;
      done = true;
      clearTimeout(timer);
      resolve({ child, readyMs: performance.now() - t0, line, output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${args.join(' ').slice(0, 120)} exited with ${code ?? signal}: ${out.slice(-1500)}`));
    });
  });
}

/** SIGTERM (the process group when detached), SIGKILL after 5 s. */
/** How to run our CLI: the built dist/cli/main.js when there is one, else the TypeScript source under tsx. */
const distMain = path.join(repoRoot, 'dist', 'cli', 'main.js');
export const cliArgs: readonly string[] = fs.existsSync(distMain)
  ? [distMain]
  : ['--import', 'tsx', path.join(repoRoot, 'lib', 'cli', 'main.ts')];

/**
 * `openclaw-ipc <args>` (a `gateway` or `up` with `--json`) as a child process, ready at its `"ready":true`
 * line, which is returned parsed. `nodeArgs` go to Node before the entry (a CPU profile, say).
 */
export async function startOurCli<Ready>(
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): Promise<{ started: StartedCli; ready: Ready }> {
  const started = await startUntilReady(process.execPath, [...nodeArgs, ...cliArgs, ...args], {
    env,
    ready: /^\{.*"ready":true/,
  });
  return { started, ready: JSON.parse(started.line) as Ready };
}

/** The shared token a Gateway generated into `<stateDir>/openclaw.json`. */
export function generatedToken(stateDir: string): string {
  const config = JSON.parse(fs.readFileSync(path.join(stateDir, 'openclaw.json'), 'utf8')) as {
    gateway: { auth: { token: string } };
  };
  return config.gateway.auth.token;
}

export async function stopChild(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      if (group) process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU time of a process and its descendants, in ms. */
export function cpuTreeMs(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuMs(p), 0);
}
