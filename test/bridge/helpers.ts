// Shared fixtures for the bridge tests: temp dirs, a raw socket client that speaks bytes (so the exact wire
// form is asserted, not our own client's view of it), and processes running as another uid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const OTHER_UID = 65534;

export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'ocb-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RawReply {
  data: Buffer;
  /** Set when the connection ended with an error (reset, EPIPE) rather than a clean EOF. */
  error?: string;
}

/** Writes `body`, half-closes unless told not to, and collects everything until the socket closes. */
export function rawExchange(socketPath: string, body: string | Buffer, opts: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const socket = net.connect({ path: socketPath, allowHalfOpen: true });
    const timer = setTimeout(() => { error = 'test-timeout'; socket.destroy(); }, opts.timeoutMs ?? 30_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    // allowHalfOpen: once the host has finished (or dropped us), finish our side too so 'close' fires.
    socket.on('end', () => socket.end());
    socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(error === undefined ? { data: Buffer.concat(chunks) } : { data: Buffer.concat(chunks), error });
    });
    socket.on('connect', () => {
      if (opts.halfClose === false) socket.write(body);
      else socket.end(body);
    });
  });
}

export async function rawText(socketPath: string, body: string | Buffer): Promise<string> {
  return (await rawExchange(socketPath, body)).data.toString('utf8');
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node -e script` as another uid with the given args; resolves when it exits. */
export function runNodeAs(uid: number, script: string, args: string[], timeoutMs = 30_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], { uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A plain-node bridge client used by foreign-uid peers: prints the raw reply (or the socket error). */
export const RAW_CLIENT_SCRIPT = `
const net = require('node:net');
const [socketPath, body] = process.argv.slice(1);
const s = net.connect({ path: socketPath, allowHalfOpen: true });
const chunks = [];
s.on('connect', () => s.end(body));
s.on('data', (c) => chunks.push(c));
s.on('error', (e) => { process.stdout.write('ERROR ' + e.code); process.exit(0); });
s.on('close', () => { process.stdout.write(Buffer.concat(chunks).toString('utf8')); });
`;

export function handshakeBody(minor = 7, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ handshake: { _0: { protocolVersion: { major: 1, minor }, client: { processIdentifier: process.pid, ...extra } } } });
}

export const otherUidAvailable = process.getuid?.() === 0;
export const skipOtherUid = otherUidAvailable ? false : 'needs root to spawn a uid-65534 peer';

export interface RawServer {
  socketPath: string;
  requests: Buffer[];
  close(): Promise<void>;
}

/**
 * A scripted peer for client tests: collects each request to EOF, then lets `reply` answer (or not).
 * It stands in for third-party hosts (a pb-1.0 app, a broken or silent host) that we do not ship.
 */
export async function rawServer(socketPath: string, reply: (request: Buffer, socket: net.Socket) => void): Promise<RawServer> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  const requests: Buffer[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      const request = Buffer.concat(chunks);
      requests.push(request);
      reply(request, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Leaves a dead socket file at `socketPath` (its owner was SIGKILLed), so connect() gets ECONNREFUSED. */
export async function deadSocket(socketPath: string): Promise<void> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(process.argv[1], () => process.stdout.write('up'))`, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}
