// Runs one approved command: argv only (no shell), its own process group, a timeout that signals
// the whole group (SIGTERM, then SIGKILL after a grace period), and output tails capped per stream.
// The addon's posix_spawn runner is used when present (flat cost in daemon RSS); child_process with
// a detached group is the fallback with the same semantics.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

import {
  DEFAULT_KILL_GRACE_MS,
  isNativeSpawnAvailable,
  nativeSpawn,
  type NativeSpawnOptions,
  type NativeSpawnResult,
} from '../native/spawn.js';

/** The exec-res payload (OpenClaw app shape): nil fields omitted. */
export interface ExecResult {
  exitCode?: number;
  timedOut: boolean;
  success: boolean;
  stdout: string;
  stderr: string;
  error?: string;
}

export type RunnerBackend = 'native' | 'child-process';

/** The native runner's options (same meaning, same defaults) minus stdin, with this runner's own output cap. */
export interface RunCommandOptions extends Pick<
  NativeSpawnOptions,
  'file' | 'execFd' | 'argv' | 'cwd' | 'env' | 'timeoutMs' | 'killGraceMs'
> {
  /** Per-stream cap on UTF-8 bytes kept (the tail). Default 80 000. */
  maxOutputBytes?: number;
  /** Force a backend; default native when available. */
  backend?: RunnerBackend;
  /** Aborting ends the run like a timeout (SIGTERM to the group, SIGKILL after the grace): its requester is gone. */
  signal?: AbortSignal;
}

export const DEFAULT_OUTPUT_CAP = 80_000;
export const TRUNCATED_PREFIX = '... (truncated) ';

/** The backend runCommand picks by default here. */
export function defaultBackend(): RunnerBackend {
  return isNativeSpawnAvailable() ? 'native' : 'child-process';
}

/** The last `cap` bytes of `buf` as UTF-8, never starting mid-character, with the truncation prefix. */
export function tailText(buf: Buffer, cap: number, truncated: boolean): string {
  if (!truncated && buf.length <= cap) return buf.toString('utf8');
  let start = Math.max(0, buf.length - cap);
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return TRUNCATED_PREFIX + buf.subarray(start).toString('utf8');
}

/** What either backend reports (the native result without its bookkeeping fields). */
type RawOutcome = Omit<NativeSpawnResult, 'pid' | 'durationMs'>;

function toResult(raw: RawOutcome, cap: number): ExecResult {
  const stdout = tailText(raw.stdout, cap, raw.stdoutTruncated);
  const stderr = tailText(raw.stderr, cap, raw.stderrTruncated);
  if (raw.timedOut) return { timedOut: true, success: false, stdout, stderr, error: 'timeout' };
  if (raw.cancelled) return { timedOut: false, success: false, stdout, stderr, error: 'cancelled' };
  if (raw.exitCode === null)
    return { timedOut: false, success: false, stdout, stderr, error: `signal ${raw.signal ?? 'unknown'}` };
  const result: ExecResult = { exitCode: raw.exitCode, timedOut: false, success: raw.exitCode === 0, stdout, stderr };
  if (raw.exitCode !== 0) result.error = `exit ${raw.exitCode}`;
  return result;
}

function failedToStart(err: unknown): ExecResult {
  const e = err as NodeJS.ErrnoException;
  const detail = e?.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e?.message ?? err);
  return { timedOut: false, success: false, stdout: '', stderr: '', error: `failed to start: ${detail}` };
}

/** Runs the command; never rejects for the command's own failure (spawn errors become `error`). */
export async function runCommand(options: RunCommandOptions): Promise<ExecResult> {
  const cap = options.maxOutputBytes ?? DEFAULT_OUTPUT_CAP;
  const backend = options.backend ?? defaultBackend();
  // Cancelled before it began: nothing is started.
  if (options.signal?.aborted) return { timedOut: false, success: false, stdout: '', stderr: '', error: 'cancelled' };
  try {
    const raw =
      backend === 'native'
        ? await nativeSpawn({
            file: options.file,
            execFd: options.execFd,
            argv: options.argv,
            cwd: options.cwd,
            env: options.env,
            timeoutMs: options.timeoutMs ?? 0,
            killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
            // One extra byte tells a stream that hit the cap exactly from one that overflowed.
            maxOutputBytes: cap + 1,
            signal: options.signal,
          })
        : await childProcessRun(options, cap + 1);
    return toResult(raw, cap);
  } catch (err) {
    if (err instanceof TypeError) throw err;
    return failedToStart(err);
  }
}

/** Tail buffer: keeps at most `cap` bytes, compacting occasionally instead of on every chunk. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.cap * 2) this.compact();
  }
  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const keep = all.subarray(Math.max(0, all.length - this.cap));
    if (keep.length < all.length) this.truncated = true;
    this.chunks = [Buffer.from(keep)];
    this.size = keep.length;
  }
  result(): Buffer {
    this.compact();
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** child_process fallback with the native runner's semantics (process group, grace, tails). */
function childProcessRun(options: RunCommandOptions, cap: number): Promise<RawOutcome> {
  return new Promise<RawOutcome>((resolve, reject) => new ChildRun(options, cap, resolve, reject).start());
}

type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

/** One child_process run: its state, and a handler per event of the child (each settles at most once). */
class ChildRun {
  private readonly grace: number;
  private readonly out: Tail;
  private readonly err: Tail;
  private child!: ChildProcessByStdio<null, Readable, Readable>;
  private timedOut = false;
  private cancelled = false;
  private exit: ChildExit | undefined;
  private openPipes = 2;
  private readonly timers: NodeJS.Timeout[] = [];
  private settled = false;

  constructor(
    private readonly options: RunCommandOptions,
    cap: number,
    private readonly resolve: (outcome: RawOutcome) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.grace = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.out = new Tail(cap);
    this.err = new Tail(cap);
  }

  /** Spawns the command (throws synchronously on bad arguments, as spawn does) and wires its events. */
  start(): void {
    const options = this.options;
    // libuv's child keeps inherited fds until exec (O_CLOEXEC), so /proc/self/fd/N names the pinned file there.
    const file = options.execFd === undefined ? options.file : `/proc/self/fd/${options.execFd}`;
    const child = spawn(file, options.argv.slice(1), {
      argv0: options.argv[0],
      cwd: options.cwd,
      env: options.env,
      detached: true,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.once('error', this.onError);
    child.stdout.on('data', (chunk: Buffer) => this.out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => this.err.push(chunk));
    child.stdout.once('close', this.pipeClosed);
    child.stderr.once('close', this.pipeClosed);
    child.once('exit', this.onExit);
    if (options.signal?.aborted) this.onAbort();
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.timeoutMs && options.timeoutMs > 0) {
      this.timers.push(setTimeout(this.onTimeout, options.timeoutMs));
    }
  }

  private settle(): void {
    const exit = this.exit;
    if (this.settled || !exit) return;
    this.settled = true;
    this.stopWatching();
    // After a timeout or a cancel nothing of the group may survive, even members that closed their pipes.
    if ((this.timedOut || this.cancelled) && this.child.pid !== undefined) killGroup(this.child.pid, 'SIGKILL');
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.resolve({
      exitCode: exit.code,
      signal: exit.signal,
      timedOut: this.timedOut,
      cancelled: this.cancelled,
      stdout: this.out.result(),
      stderr: this.err.result(),
      stdoutTruncated: this.out.truncated,
      stderrTruncated: this.err.truncated,
    });
  }

  private stopWatching(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Only a failure to start rejects; errors after the spawn (a kill that failed) leave the exit to settle. */
  private readonly onError = (e: Error): void => {
    if (this.child.pid === undefined && !this.settled) {
      this.settled = true;
      this.stopWatching();
      this.reject(e);
    }
  };

  private readonly pipeClosed = (): void => {
    this.openPipes--;
    if (this.openPipes === 0) this.settle();
  };

  private readonly onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    this.exit = { code, signal };
    if (this.openPipes === 0) {
      this.settle();
      return;
    }
    // Grandchildren still hold the pipes: give them the grace period, then kill the group.
    this.timers.push(
      setTimeout(() => {
        if (this.child.pid !== undefined) killGroup(this.child.pid, 'SIGKILL');
        this.settle();
      }, this.grace),
    );
  };

  private readonly onTimeout = (): void => {
    if (this.exit || this.child.pid === undefined || this.cancelled) return;
    this.timedOut = true;
    this.terminate();
  };

  private readonly onAbort = (): void => {
    if (this.settled || this.timedOut || this.cancelled) return;
    this.cancelled = true;
    if (this.exit && this.child.pid !== undefined) killGroup(this.child.pid, 'SIGKILL');
    else this.terminate();
  };

  /** SIGTERM to the group now, SIGKILL after the grace (a timeout, or the requester gone). */
  private terminate(): void {
    if (this.child.pid === undefined) return;
    const pid = this.child.pid;
    killGroup(pid, 'SIGTERM');
    this.timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), this.grace));
  }
}
