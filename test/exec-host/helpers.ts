// Shared helpers for the exec-host tests: temp state dirs, a started host, raw socket exchanges.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { ensureApprovals, updateApprovals, type ApprovalsFile } from '../../lib/exec-host/approvals-file.js';
import { startExecHost, type ExecHost, type ExecHostOptions } from '../../lib/exec-host/server.js';

export interface Teardown { teardown(fn: () => unknown): void }

export function tmpRoot(t: Teardown, prefix = 'ocipc-eh-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the approvals file for `stateDir` (creating token/socket path) and applies `policy`. */
export function writePolicy(stateDir: string, policy: (data: ApprovalsFile) => void): string {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'exec-approvals.json');
  ensureApprovals(file, path.join(stateDir, 'exec-approvals.sock'));
  updateApprovals(file, (d) => { policy(d); });
  return file;
}

export const fullPolicy = (d: ApprovalsFile): void => { d.defaults = { security: 'full', ask: 'off', askFallback: 'deny' }; };

export async function startHost(t: Teardown, options: ExecHostOptions & { policy?: (d: ApprovalsFile) => void; root?: string } = {}): Promise<{ host: ExecHost; token: string; root: string }> {
  const root = options.root ?? tmpRoot(t);
  const stateDir = options.stateDir ?? path.join(root, 'state');
  writePolicy(stateDir, options.policy ?? fullPolicy);
  const host = await startExecHost({ ...options, stateDir });
  t.teardown(() => host.close());
  const token = (JSON.parse(fs.readFileSync(host.approvalsFile, 'utf8')) as ApprovalsFile).socket!.token!;
  return { host, token, root };
}

/** Connects, writes `data` (then half-closes unless told not to), and collects everything until close. */
export function rawExchange(socketPath: string, data: string | Buffer, options: { end?: boolean; timeoutMs?: number } = {}): Promise<{ text: string; closedByServer: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer: false, ms: Date.now() - started });
    }, options.timeoutMs ?? 15_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer: true, ms: Date.now() - started });
    });
    socket.once('connect', () => {
      if (options.end === false) socket.write(data);
      else socket.end(data);
    });
  });
}

export function parseReply(text: string): Record<string, unknown> | undefined {
  const line = text.split('\n')[0];
  return line ? JSON.parse(line) as Record<string, unknown> : undefined;
}
