// The Gateway client against a minimal in-test ws server (real sockets): signed connect verified with
// the protocol module, request correlation, deadlines, a rejected connect, reconnect after a server
// restart, and the identity / device-token files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

import t, { type Test } from 'tap';
import { WebSocketServer, type WebSocket } from 'ws';

import { GatewayClient } from '../../lib/client/gateway-client.js';
import { GatewayClientError, GatewayRequestError } from '../../lib/client/errors.js';
import { loadDeviceToken, loadOrCreateIdentity } from '../../lib/client/identity.js';
import { verifyConnectDevice, type ConnectDevice } from '../../lib/protocol/device-auth.js';

interface MiniServer {
  port: number;
  url: string;
  connects: Array<Record<string, unknown>>;
  sockets: Set<WebSocket>;
  close(): Promise<void>;
}

/** challenge → connect (device signature verified) → hello-ok; `echo` answers its params; `slow` never answers. */
function startMiniServer(port = 0, options: { token?: string; tickIntervalMs?: number } = {}): Promise<MiniServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const connects: Array<Record<string, unknown>> = [];
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    const nonce = crypto.randomUUID();
    ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce, ts: Date.now() } }));
    let authed = false;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { id: string; method: string; params: Record<string, unknown> };
      if (!authed) {
        const params = frame.params;
        connects.push(params);
        const auth = (params.auth ?? {}) as { token?: string; deviceToken?: string };
        if (options.token && auth.token !== options.token) {
          ws.send(
            JSON.stringify({
              type: 'res',
              id: frame.id,
              ok: false,
              error: { code: 'INVALID_REQUEST', message: 'unauthorized', details: { code: 'AUTH_TOKEN_MISMATCH' } },
            }),
          );
          ws.close(1008, 'unauthorized');
          return;
        }
        const client = params.client as { id: string; mode: string; platform?: string; deviceFamily?: string };
        const verdict = verifyConnectDevice({
          device: params.device as ConnectDevice,
          expectedNonce: nonce,
          clientId: client.id,
          clientMode: client.mode,
          role: String(params.role),
          scopes: params.scopes as string[],
          token: auth.token ?? auth.deviceToken ?? '',
          platform: client.platform,
          deviceFamily: client.deviceFamily,
          nowMs: Date.now(),
        });
        if (!verdict.ok) {
          ws.send(
            JSON.stringify({
              type: 'res',
              id: frame.id,
              ok: false,
              error: { code: 'INVALID_REQUEST', message: verdict.message, details: { code: verdict.code } },
            }),
          );
          ws.close(1008, verdict.reason);
          return;
        }
        authed = true;
        ws.send(
          JSON.stringify({
            type: 'res',
            id: frame.id,
            ok: true,
            payload: {
              type: 'hello-ok',
              protocol: 4,
              server: { version: 'mini', connId: crypto.randomUUID() },
              features: { methods: [], events: [] },
              snapshot: {},
              auth: {
                method: 'token',
                role: params.role,
                scopes: [],
                deviceToken: 'dev-token-1',
                issuedAtMs: Date.now(),
              },
              policy: {
                maxPayload: 1 << 20,
                maxBufferedBytes: 1 << 21,
                tickIntervalMs: options.tickIntervalMs ?? 30_000,
              },
            },
          }),
        );
        return;
      }
      if (frame.method === 'echo')
        ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: frame.params }));
      else if (frame.method === 'fail')
        ws.send(
          JSON.stringify({
            type: 'res',
            id: frame.id,
            ok: false,
            error: { code: 'UNAVAILABLE', message: 'nope', details: { code: 'NOT_CONNECTED' }, retryable: true },
          }),
        );
      else if (frame.method === 'twophase') {
        ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: { status: 'accepted', id: 'a1' } }));
        setTimeout(
          () =>
            ws.send(
              JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: { id: 'a1', decision: 'allow-once' } }),
            ),
          20,
        );
      }
    });
  });
  return new Promise((resolve) => {
    wss.on('listening', () => {
      const actual = (wss.address() as AddressInfo).port;
      resolve({
        port: actual,
        url: `ws://127.0.0.1:${actual}/`,
        connects,
        sockets,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

function tmpState(t: Test): string {
  return path.join(t.testdir(), 'state');
}

function nodeClient(
  url: string,
  stateDir: string,
  extra: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {},
): GatewayClient {
  return new GatewayClient({
    url,
    role: 'node',
    token: 'secret',
    identity: loadOrCreateIdentity(stateDir),
    stateDir,
    client: { id: 'node-host', mode: 'node', version: 'test', platform: 'linux', deviceFamily: 'Linux' },
    connectTimeoutMs: 5_000,
    ...extra,
  });
}

t.test('identity: created once, 0600, stable id; device token stored 0600', async (t) => {
  const stateDir = tmpState(t);
  const a = loadOrCreateIdentity(stateDir);
  const b = loadOrCreateIdentity(stateDir);
  t.equal(a.deviceId, b.deviceId, 'same identity on reload');
  t.match(a.deviceId, /^[0-9a-f]{64}$/);
  t.equal(a.publicKey.length, 43, 'raw key as base64url');
  const file = path.join(stateDir, 'identity', 'device.json');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'device.json is 0600');
  t.equal(fs.statSync(path.join(stateDir, 'identity')).mode & 0o777, 0o700, 'identity dir is 0700');
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  stored.deviceId = '00'.repeat(32);
  fs.writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
  t.throws(
    () => loadOrCreateIdentity(stateDir),
    { code: 'ERR_IDENTITY_MISMATCH' },
    'a tampered id is refused, not replaced',
  );
});

t.test('signed connect is accepted; requests correlate; errors keep the gateway code', async (t) => {
  const server = await startMiniServer();
  t.teardown(() => server.close());
  const stateDir = tmpState(t);
  const client = nodeClient(server.url, stateDir);
  t.teardown(() => client.close());
  const hello = await client.start();
  t.equal(hello.protocol, 4);
  const params = server.connects[0]!;
  t.equal(params.minProtocol, 3);
  t.equal(params.maxProtocol, 4);
  t.equal(params.role, 'node');
  t.same((params.device as ConnectDevice).id, loadOrCreateIdentity(stateDir).deviceId);
  const authFile = path.join(stateDir, 'identity', 'device-auth.json');
  t.equal(fs.statSync(authFile).mode & 0o777, 0o600, 'device-auth.json is 0600');
  t.equal(loadDeviceToken(stateDir, loadOrCreateIdentity(stateDir).deviceId, 'node')?.token, 'dev-token-1');

  const results = await Promise.all([1, 2, 3].map((n) => client.request('echo', { n })));
  t.same(results, [{ n: 1 }, { n: 2 }, { n: 3 }], 'concurrent requests answered in order of their ids');
  const err = await client.request('fail', {}).catch((e: unknown) => e);
  t.ok(err instanceof GatewayRequestError);
  t.equal((err as GatewayRequestError).code, 'UNAVAILABLE');
  t.equal((err as GatewayRequestError).detailCode, 'NOT_CONNECTED');
  t.equal((err as GatewayRequestError).retryable, true);
  const timeout = await client.request('silent', {}, { timeoutMs: 200 }).catch((e: unknown) => e);
  t.equal((timeout as GatewayClientError).code, 'ERR_GATEWAY_TIMEOUT');
  const accepted: unknown[] = [];
  const final = await client.request('twophase', {}, { onAccepted: (p) => accepted.push(p) });
  t.same(accepted, [{ status: 'accepted', id: 'a1' }]);
  t.same(final, { id: 'a1', decision: 'allow-once' }, 'two-phase: the promise resolves with the second answer');
});

t.test('a rejected connect rejects start() even with reconnect on', async (t) => {
  const server = await startMiniServer(0, { token: 'right' });
  t.teardown(() => server.close());
  const client = nodeClient(server.url, tmpState(t), { token: 'wrong', reconnect: { initialDelayMs: 50 } });
  t.teardown(() => client.close());
  const err = await client.start().catch((e: unknown) => e);
  t.ok(err instanceof GatewayRequestError, 'typed error');
  t.equal((err as GatewayRequestError).detailCode, 'AUTH_TOKEN_MISMATCH');
  t.equal(server.connects.length, 1, 'no retry loop against a wrong token');
});

t.test('reconnects with backoff after the server goes away and comes back on the same port', async (t) => {
  let server = await startMiniServer();
  const port = server.port;
  const client = nodeClient(server.url, tmpState(t), { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  await client.start();
  const disconnected = new Promise<{ willReconnect: boolean }>((resolve) => client.once('disconnect', resolve));
  await server.close();
  t.equal((await disconnected).willReconnect, true);
  t.equal(client.connected, false);
  const notConnected = await client.request('echo', {}).catch((e: unknown) => e);
  t.equal((notConnected as GatewayClientError).code, 'ERR_GATEWAY_NOT_CONNECTED', 'fails fast while down');
  await new Promise((r) => setTimeout(r, 300)); // a few refused attempts
  const rehello = new Promise((resolve) => client.once('hello', resolve));
  server = await startMiniServer(port);
  await rehello;
  t.same(await client.request('echo', { back: true }), { back: true }, 'usable again after reconnect');
  t.ok(server.connects.length >= 1);
});

t.test('backoff grows exponentially with jitter and is capped', async (t) => {
  const client = new GatewayClient({
    url: 'ws://127.0.0.1:1/',
    role: 'operator',
    client: { id: 'cli', mode: 'cli', version: 't', platform: 'linux' },
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
  });
  for (let attempt = 0; attempt < 8; attempt++) {
    const base = Math.min(1_000, 100 * 2 ** attempt);
    const delays = Array.from({ length: 20 }, () => client.reconnectDelayMs(attempt));
    t.ok(
      delays.every((d) => d >= base / 2 && d <= base),
      `attempt ${attempt}: all delays within [${base / 2}, ${base}]`,
    );
  }
  const samples = new Set(Array.from({ length: 20 }, () => client.reconnectDelayMs(3)));
  t.ok(samples.size > 1, 'jittered');
});

t.test('unreachable gateway without reconnect: typed error', async (t) => {
  const server = await startMiniServer();
  const url = server.url;
  await server.close();
  const client = nodeClient(url, tmpState(t));
  const err = await client.start().catch((e: unknown) => e);
  t.equal((err as GatewayClientError).code, 'ERR_GATEWAY_UNREACHABLE');
});

t.test('a silent Gateway (no tick for 2 intervals) is dropped with 4000 and reconnected', async (t) => {
  const server = await startMiniServer(0, { tickIntervalMs: 150 });
  t.teardown(() => server.close());
  const client = nodeClient(server.url, tmpState(t), { reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
  t.teardown(() => client.close());
  await client.start();
  const dropped = await new Promise<{ code: number; reason: string }>((resolve) => client.once('disconnect', resolve));
  t.equal(dropped.code, 4000);
  t.equal(dropped.reason, 'tick timeout');
  await new Promise((resolve) => client.once('hello', resolve));
  t.ok(server.connects.length >= 2, 'reconnected');
});
