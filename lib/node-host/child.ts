// The node host as a child process (`openclaw-ipc node run --json`), for `up --node-process child`.
// Same CLI entry and Node flags as this process; ready when the child prints its ready line.
import { spawn } from 'node:child_process';

import { IpcError } from '../common/errors.js';

export interface NodeHostChild {
  readonly nodeId: string;
  readonly displayName: string;
  readonly pid: number;
  close(): Promise<void>;
}

export function startNodeHostChild(options: { url: string; token: string; stateDir: string; log: (message: string) => void; readyTimeoutMs?: number }): Promise<NodeHostChild> {
  const entry = process.argv[1];
  if (!entry) return Promise.reject(new IpcError('ERR_NODE_CHILD', 'cannot find the CLI entry to start the node host'));
  const child = spawn(process.execPath, [...process.execArgv, entry, 'node', 'run', '--url', options.url, '--json'], {
    env: { ...process.env, OPENCLAW_STATE_DIR: options.stateDir, OPENCLAW_GATEWAY_TOKEN: options.token, OPENCLAW_NODE_EXEC_HOST: 'app' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errTail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.log(line.replace(/^\[node-host\] /, ''));
    errTail = (errTail + chunk.toString()).slice(-2_000);
  });
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise<NodeHostChild>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      void close();
      reject(new IpcError('ERR_NODE_CHILD', `node host child not ready within ${options.readyTimeoutMs ?? 30_000} ms: ${errTail}`));
    }, options.readyTimeoutMs ?? 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (!line) return;
      clearTimeout(timer);
      const info = JSON.parse(line) as { nodeId: string; displayName: string };
      resolve({ nodeId: info.nodeId, displayName: info.displayName, pid: child.pid!, close });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new IpcError('ERR_NODE_CHILD', `node host child exited with ${code}: ${errTail}`));
    });
  });
}
