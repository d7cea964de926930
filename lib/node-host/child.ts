// The node host as a child process (`openclaw-ipc node run --json`), for `up --node-process child`.
// Same CLI entry and Node flags as this process; ready when the child prints its ready line.
import { spawn, type ChildProcess } from 'node:child_process';

import { IpcError } from '../common/errors.js';

export interface NodeHostChild {
  readonly nodeId: string;
  readonly displayName: string;
  readonly pid: number;
  close(): Promise<void>;
}

/** Most stdout kept while waiting for the ready line; the child prints little else before it. */
const MAX_READY_BUFFER = 64 * 1024;

export interface NodeHostChildOptions {
  /** Shared secrets go to the child in its environment, never in its argv (visible in `ps`). */
  url: string;
  /** The Gateway certificate pin for a wss:// URL (not a secret: it goes in argv). */
  tlsFingerprint?: string;
  token?: string;
  password?: string;
  stateDir: string;
  log: (message: string) => void;
  readyTimeoutMs?: number;
  /** The CLI entry script; default this process's (same entry, same Node flags). */
  entry?: string;
}

/** The child's stderr: every line goes to the log, the last 2,000 characters are kept for error messages. */
interface StderrTail {
  text: string;
}

export function startNodeHostChild(options: NodeHostChildOptions): Promise<NodeHostChild> {
  const entry = options.entry ?? process.argv[1];
  if (!entry) return Promise.reject(new IpcError('ERR_NODE_CHILD', 'cannot find the CLI entry to start the node host'));
  const pin = options.tlsFingerprint ? ['--tls-fingerprint', options.tlsFingerprint] : [];
  const child = spawn(
    process.execPath,
    [...process.execArgv, entry, 'node', 'run', '--url', options.url, ...pin, '--json'],
    {
      env: childEnv(options),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const errTail: StderrTail = { text: '' };
  child.stderr!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.log(line.replace(/^\[node-host\] /, ''));
    errTail.text = (errTail.text + chunk.toString()).slice(-2_000);
  });
  return waitUntilReady(child, options, errTail);
}

/** Only the secrets given here: an inherited token or password could be the wrong one for this Gateway. */
function childEnv(options: NodeHostChildOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: options.stateDir,
    OPENCLAW_NODE_EXEC_HOST: 'app',
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  delete env.OPENCLAW_GATEWAY_PASSWORD;
  if (options.token) env.OPENCLAW_GATEWAY_TOKEN = options.token;
  if (options.password) env.OPENCLAW_GATEWAY_PASSWORD = options.password;
  return env;
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves on the child's ready line; rejects (and stops the child) on a deadline, an error or an early exit. */
function waitUntilReady(
  child: ChildProcess,
  options: NodeHostChildOptions,
  errTail: StderrTail,
): Promise<NodeHostChild> {
  const close = (): Promise<void> => stopChild(child);
  return new Promise<NodeHostChild>((resolve, reject) => {
    let pending = '';
    let ready = false;
    const fail = (message: string): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      void close();
      reject(new IpcError('ERR_NODE_CHILD', message));
    };
    const timer = setTimeout(
      () => fail(`node host child not ready within ${options.readyTimeoutMs ?? 30_000} ms: ${errTail.text}`),
      options.readyTimeoutMs ?? 30_000,
    );
    // Only complete lines are parsed: a chunk may end in the middle of the ready line.
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (pending.length > MAX_READY_BUFFER)
        return fail(`node host child printed a line over ${MAX_READY_BUFFER} bytes before it was ready`);
      for (const line of lines) {
        const info = readyInfo(line);
        if (!info) continue;
        ready = true;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining so the child never blocks on a full pipe
        resolve({ ...info, pid: child.pid!, close });
        return;
      }
    };
    child.stdout!.on('data', onData);
    // A failed spawn or kill emits 'error'; unheard, it would throw in the parent (the Gateway's process).
    child.on('error', (err) => {
      if (ready) options.log(`node host child: ${err.message}`);
      else fail(`cannot run the node host child: ${err.message}`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new IpcError('ERR_NODE_CHILD', `node host child exited with ${code}: ${errTail.text}`));
    });
  });
}

/** `{"ready":true,"nodeId":…,"displayName":…}` as printed by `node run --json`; anything else is not ready. */
function readyInfo(line: string): { nodeId: string; displayName: string } | undefined {
  if (!line.includes('"ready":true')) return undefined;
  try {
    const info = JSON.parse(line) as { ready?: unknown; nodeId?: unknown; displayName?: unknown };
    if (info.ready === true && typeof info.nodeId === 'string' && typeof info.displayName === 'string')
      return { nodeId: info.nodeId, displayName: info.displayName };
  } catch {
    // Not the ready line after all.
  }
  return undefined;
}
