/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Test helpers: a real gateway on an ephemeral port in a temp state dir, and raw `ws` clients that
// speak the protocol frame by frame (no client library in between).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';

import WebSocket from 'ws';

import { startGateway, type GatewayHandle, type GatewayOptions } from '../../lib/gateway/index.js';
import { generateDeviceIdentity, signConnectDevice, type DeviceIdentity } from '../../lib/protocol/index.js';
import { cliNodeArgs } from './operator-cli.js';

export type Frame = Record<string, any> & { type: string };

export interface Tap {
  teardown(fn: () => unknown): void;
}

export function tempStateDir(t: Tap): string {
  // Not t.testdir(): called several times per test (t.testdir() is one dir per test) and may hold sockets.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-gw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function startTestGateway(t: Tap, options: GatewayOptions = {}): Promise<GatewayHandle> {
  const gw = await startGateway({
    port: 0,
    stateDir: options.stateDir ?? tempStateDir(t),
    token: 'test-token-0123456789',
    env: {},
    ...options,
  });
  t.teardown(() => gw.close());
  return gw;
}

/** A raw WebSocket client that queues every frame and lets tests wait for one by predicate. */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private seq = 0;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const idx = this.waiters.findIndex((w) => w.pred(frame));
      if (idx >= 0) {
        const [waiter] = this.waiters.splice(idx, 1);
        waiter!.resolve(frame);
      } else this.frames.push(frame);
    });
    ws.on('error', () => {});
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      // wss:// test Gateways serve a self-signed certificate; pinning is tested with the real client.
      const tls = url.startsWith('wss:') ? { rejectUnauthorized: false } : {};
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, ...tls });
      const client = new RawClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** The next frame matching `pred` (already received or future). */
  next(pred: (f: Frame) => boolean = () => true, timeoutMs = 15_000): Promise<Frame> {
    const idx = this.frames.findIndex(pred);
    if (idx >= 0) return Promise.resolve(this.frames.splice(idx, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for a frame; have ${JSON.stringify(this.frames).slice(0, 500)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  event(name: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === 'event' && f.event === name, timeoutMs);
  }

  response(id: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === 'res' && f.id === id, timeoutMs);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a request and resolves with its (first) response frame. */
  async request(
    method: string,
    params?: unknown,
    timeoutMs?: number,
  ): Promise<Frame & { ok: boolean; payload?: any; error?: any }> {
    const id = `${++this.seq}:${method}`;
    const pending = this.response(id, timeoutMs);
    this.send(params === undefined ? { type: 'req', id, method } : { type: 'req', id, method, params });
    return (await pending) as Frame & { ok: boolean; payload?: any; error?: any };
  }

  requestId(method: string, params?: unknown): string {
    const id = `${++this.seq}:${method}`;
    this.send({ type: 'req', id, method, params });
    return id;
  }

  close(): void {
    this.ws.close();
  }
}

export interface ConnectOptions {
  role?: 'operator' | 'node';
  identity?: DeviceIdentity | null;
  scopes?: string[];
  caps?: string[];
  commands?: string[];
  token?: string | null;
  deviceToken?: string;
  clientId?: string;
  mode?: string;
  platform?: string;
  deviceFamily?: string;
  displayName?: string;
  minProtocol?: number;
  maxProtocol?: number;
  /** Alter the signed device object before sending (signature-matrix tests). */
  tamper?: (device: Record<string, unknown>, nonce: string) => void;
  signedAtMs?: number;
  headers?: Record<string, string>;
}

export const ALL_OPERATOR_SCOPES = [
  'operator.admin',
  'operator.read',
  'operator.write',
  'operator.approvals',
  'operator.pairing',
];
export const NODE_HOST_COMMANDS = [
  'system.execApprovals.get',
  'system.execApprovals.set',
  'system.run',
  'system.run.prepare',
  'system.which',
  'file.write',
];

/** Builds the connect params a real client would send for the challenge nonce. */
export function connectParams(
  nonce: string,
  ts: number,
  gwToken: string,
  opts: ConnectOptions = {},
): Record<string, unknown> {
  const role = opts.role ?? 'operator';
  const scopes = opts.scopes ?? (role === 'node' ? [] : ALL_OPERATOR_SCOPES);
  const clientId = opts.clientId ?? (role === 'node' ? 'node-host' : 'cli');
  const mode = opts.mode ?? (role === 'node' ? 'node' : 'cli');
  const platform = opts.platform ?? 'linux';
  const deviceFamily = opts.deviceFamily ?? 'Linux';
  const token = opts.token === null ? undefined : (opts.token ?? gwToken);
  const auth: Record<string, string> = {};
  if (token !== undefined) auth.token = token;
  if (opts.deviceToken !== undefined) auth.deviceToken = opts.deviceToken;
  const params: Record<string, unknown> = {
    minProtocol: opts.minProtocol ?? 4,
    maxProtocol: opts.maxProtocol ?? 4,
    client: {
      id: clientId,
      displayName: opts.displayName ?? `test-${role}`,
      version: '0.0.1',
      platform,
      deviceFamily,
      mode,
      instanceId: 'instance-1',
    },
    role,
    scopes,
    caps: opts.caps ?? (role === 'node' ? ['system'] : []),
    auth,
  };
  if (role === 'node') params.commands = opts.commands ?? NODE_HOST_COMMANDS;
  const identity = opts.identity === undefined ? (role === 'node' ? generateDeviceIdentity() : null) : opts.identity;
  if (identity) {
    const device = signConnectDevice({
      identity,
      clientId,
      clientMode: mode,
      role,
      scopes,
      token: token ?? opts.deviceToken ?? '',
      nonce,
      signedAtMs: opts.signedAtMs ?? ts,
      platform,
      deviceFamily,
    }) as unknown as Record<string, unknown>;
    opts.tamper?.(device, nonce);
    params.device = device;
  }
  return params;
}

export interface Connected {
  client: RawClient;
  res: Frame & { ok: boolean; payload?: any; error?: any };
  challenge: Frame & { payload: any };
  identity?: DeviceIdentity | null;
}

/** Opens a socket, answers the challenge with a connect, returns the connect response. */
export async function connectRaw(gw: { url: string; token: string }, opts: ConnectOptions = {}): Promise<Connected> {
  const client = await RawClient.open(gw.url, opts.headers);
  const challenge = (await client.event('connect.challenge')) as Frame & { payload: any };
  const identity =
    opts.identity === undefined ? (opts.role === 'node' ? generateDeviceIdentity() : null) : opts.identity;
  const params = connectParams(challenge.payload.nonce, challenge.payload.ts, gw.token, { ...opts, identity });
  const res = await client.request('connect', params);
  return { client, res, challenge, identity };
}

/** Connects and asserts hello-ok. */
export async function connectOk(gw: { url: string; token: string }, opts: ConnectOptions = {}): Promise<Connected> {
  const result = await connectRaw(gw, opts);
  if (!result.res.ok) throw new Error(`connect failed: ${JSON.stringify(result.res.error)}`);
  return result;
}

export type InvokeHandler = (
  command: string,
  params: any,
  request: any,
) =>
  | { ok: true; payload?: unknown }
  | { ok: false; error: { code: string; message: string } }
  | 'ignore'
  | Promise<unknown>;

/**
 * A node written against the raw protocol: answers node.invoke.request with node.invoke.result,
 * the way the upstream node host does. Returns the connection and a log of received invokes.
 */
export async function startFakeNode(
  gw: { url: string; token: string },
  handler: InvokeHandler,
  opts: ConnectOptions = {},
): Promise<Connected & { nodeId: string; invokes: any[] }> {
  const connected = await connectOk(gw, { role: 'node', ...opts });
  const nodeId = connected.identity!.deviceId;
  const invokes: any[] = [];
  connected.client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type !== 'event' || frame.event !== 'node.invoke.request') return;
    const request = frame.payload;
    invokes.push(request);
    const params = request.paramsJSON ? JSON.parse(request.paramsJSON) : null;
    void Promise.resolve(handler(request.command, params, request)).then((result: any) => {
      if (result === 'ignore') return;
      const reply: Record<string, unknown> = { id: request.id, nodeId, ok: result.ok };
      if (result.ok) reply.payloadJSON = JSON.stringify(result.payload ?? null);
      else reply.error = result.error;
      connected.client.send({ type: 'req', id: `r-${request.id}`, method: 'node.invoke.result', params: reply });
    });
  });
  return { ...connected, nodeId, invokes };
}

/** Approves every pending node pairing request through an operator connection. */
export async function approveAllNodes(operator: RawClient): Promise<void> {
  const list = await operator.request('node.pair.list', {});
  for (const request of list.payload.pending)
    await operator.request('node.pair.approve', { requestId: request.requestId });
}

/** Polls a condition that has no event of its own (e.g. server-side bookkeeping after a close). */
export async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const CLI_GATEWAY_TOKEN = 'cli-token-0123456789';

export interface CliGateway {
  child: ChildProcessByStdio<null, Readable, Readable>;
  info: any;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** `openclaw-ipc gateway --json` in a child process; resolves with its ready line. */
export async function spawnCliGateway(t: Tap, stateDir: string): Promise<CliGateway> {
  const child = spawn(
    process.execPath,
    cliNodeArgs('main', ['gateway', '--port', '0', '--state-dir', stateDir, '--token', CLI_GATEWAY_TOKEN, '--json']),
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = readline.createInterface({ input: child.stdout });
  const first = await new Promise<string | undefined>((resolve) => {
    lines.once('line', resolve);
    child.once('exit', () => resolve(undefined));
  });
  return { child, info: first === undefined ? undefined : JSON.parse(first), exited, stderr: () => stderr };
}
