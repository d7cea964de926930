// An operator connection driven over stdio, for tests whose Gateway runs where the test process cannot
// reach it (inside a network namespace): run this script there (`pair.a.spawn([node, --import, tsx,
// <this file>])`) and talk JSON lines. Env: DRIVER_URL, DRIVER_TOKEN, optional DRIVER_TLS_FINGERPRINT.
//   out: {"type":"ready"} | {"type":"error","code","message"}   (then it exits 1)
//   in:  {"id":"1","method":"node.list","params":{}}   out: {"type":"res","id":"1","ok":true,"payload":…}
//   out: {"type":"event","event":"device.pair.requested","payload":…} for every event
// Stdin closing ends it. The client is our real GatewayClient (gateway-client/backend, all operator scopes).
//
// In the test process, OperatorDriver wraps such a child.
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const OPERATOR_DRIVER = fileURLToPath(import.meta.url);

type Line = Record<string, unknown> & { type: string };

export class OperatorDriver {
  private readonly lines: Line[] = [];
  private waiters: Array<{ pred: (l: Line) => boolean; resolve: (l: Line) => void }> = [];
  private counter = 0;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        return;
      }
      const i = this.waiters.findIndex((w) => w.pred(line));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(line);
      else this.lines.push(line);
    });
    child.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
  }

  next(pred: (l: Line) => boolean, what: string, timeoutMs = 60_000): Promise<Line> {
    const i = this.lines.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.lines.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`operator driver: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const done = (l: Line): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  async ready(): Promise<void> {
    const line = await this.next((l) => l.type === 'ready' || l.type === 'error', 'ready line');
    if (line.type === 'error')
      throw new Error(`operator driver could not connect: ${String(line.code)} ${String(line.message)}`);
  }

  event(name: string, match: (payload: Record<string, unknown>) => boolean = () => true, timeoutMs?: number) {
    return this.next(
      (l) => l.type === 'event' && l.event === name && match((l.payload ?? {}) as Record<string, unknown>),
      `event ${name}`,
      timeoutMs,
    ).then((l) => l.payload as Record<string, unknown>);
  }

  /** Sends a request; resolves with the whole response line ({ok, payload|error}). */
  request(method: string, params: unknown = {}, timeoutMs?: number): Promise<Line> {
    const id = String(++this.counter);
    this.child.stdin!.write(`${JSON.stringify({ id, method, params })}\n`);
    return this.next((l) => l.type === 'res' && l.id === id, `answer to ${method}`, timeoutMs);
  }

  close(): void {
    this.child.stdin?.end();
  }
}

async function runDriver(): Promise<void> {
  const { GatewayClient } = await import('../../lib/client/gateway-client.js');
  const { OPERATOR_SCOPES } = await import('../../lib/client/operator.js');
  const out = (line: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  const client = new GatewayClient({
    url: process.env.DRIVER_URL!,
    token: process.env.DRIVER_TOKEN,
    ...(process.env.DRIVER_TLS_FINGERPRINT ? { tlsFingerprint: process.env.DRIVER_TLS_FINGERPRINT } : {}),
    role: 'operator',
    scopes: [...OPERATOR_SCOPES],
    client: { id: 'gateway-client', mode: 'backend', version: '1', platform: process.platform },
    connectTimeoutMs: 30_000,
    requestTimeoutMs: 120_000,
  });
  client.on('event', (frame) => out({ type: 'event', event: frame.event, payload: frame.payload }));
  try {
    await client.start();
  } catch (err) {
    out({ type: 'error', code: (err as { code?: string }).code, message: (err as Error).message });
    process.exit(1);
  }
  out({ type: 'ready' });
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (text) => {
    const { id, method, params } = JSON.parse(text) as { id: string; method: string; params?: unknown };
    client.request(method, params).then(
      (payload) => out({ type: 'res', id, ok: true, payload }),
      (err: Error & { code?: string; details?: unknown }) =>
        out({ type: 'res', id, ok: false, error: { code: err.code, message: err.message, details: err.details } }),
    );
  });
  input.on('close', () => {
    void client.close().then(() => process.exit(0));
  });
}

if (process.argv[1] === OPERATOR_DRIVER) await runDriver();
