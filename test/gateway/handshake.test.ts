/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
import net from 'node:net';

import t from 'tap';
import WebSocket from 'ws';

import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import { RawClient, connectOk, connectParams, connectRaw, startTestGateway, until } from '../helpers/gateway.js';

t.test('challenge first, then hello-ok for a node and an operator', async (t) => {
  const gw = await startTestGateway(t);
  const node = await connectOk(gw, { role: 'node' });
  t.match(node.challenge.payload, { nonce: String, ts: Number, capabilities: ['model-catalog-snapshot'] });
  const hello = node.res.payload;
  t.match(hello, {
    type: 'hello-ok',
    protocol: 4,
    server: { version: String, connId: String },
    features: { methods: Array, events: Array },
    snapshot: { stateVersion: { presence: Number, health: Number } },
    auth: { method: 'token', role: 'node', scopes: [], deviceToken: String, issuedAtMs: Number },
    policy: { maxPayload: 26214400, maxBufferedBytes: 52428800, tickIntervalMs: 30000 },
  });
  t.equal(hello.auth.deviceToken.length, 43, 'device token is 32 bytes base64url');
  t.ok(hello.features.methods.includes('node.invoke'));
  t.ok(hello.features.events.includes('node.invoke.request'));
  const op = await connectOk(gw, { role: 'operator', clientId: 'gateway-client', mode: 'backend', identity: null });
  t.notOk(op.res.payload.auth, 'no device token without a device');
  const health = await op.client.request('health', {});
  t.equal(health.ok, true);
});

t.test('protocol 3 range is answered with 3; a range without 3 or 4 is a mismatch (close 1002)', async (t) => {
  const gw = await startTestGateway(t);
  const v3 = await connectRaw(gw, { role: 'node', minProtocol: 3, maxProtocol: 3 });
  t.equal(v3.res.payload.protocol, 3);
  const range = await connectRaw(gw, { role: 'node', minProtocol: 3, maxProtocol: 9 });
  t.equal(range.res.payload.protocol, 4);
  const bad = await connectRaw(gw, { role: 'node', minProtocol: 5, maxProtocol: 6 });
  t.match(bad.res, {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: 'protocol mismatch', details: { expectedProtocol: 4 } },
  });
  t.equal((await bad.client.closed).code, 1002);
});

t.test('first frame must be connect', async (t) => {
  const gw = await startTestGateway(t);
  const client = await RawClient.open(gw.url);
  await client.event('connect.challenge');
  const res = await client.request('node.list', {});
  t.match(res, {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: 'invalid handshake: first request must be connect' },
  });
  t.match(await client.closed, { code: 1008, reason: 'invalid handshake: first request must be connect' });
});

t.test('bad JSON and non-request first frames close 1008 without a response', async (t) => {
  const gw = await startTestGateway(t);
  for (const payload of [
    '{not json',
    '[',
    JSON.stringify({ type: 'res', id: 'x', ok: true }),
    JSON.stringify({ type: 'req', id: 'x', method: 'connect', extra: 1 }),
  ]) {
    const client = await RawClient.open(gw.url);
    await client.event('connect.challenge');
    client.send(payload);
    const closed = await client.closed;
    t.equal(closed.code, 1008, `closes on ${payload.slice(0, 20)}`);
    t.equal(client.frames.filter((f) => f.type === 'res').length, 0, 'no response');
  }
});

t.test('bad connect params: invalid client id, unknown field, invalid role', async (t) => {
  const gw = await startTestGateway(t);
  const badId = await connectRaw(gw, { role: 'operator', clientId: 'evil-client', identity: null });
  t.match(badId.res.error, { code: 'INVALID_REQUEST', message: /^invalid connect params: / });
  t.equal((await badId.client.closed).code, 1008);

  const client = await RawClient.open(gw.url);
  const challenge = (await client.event('connect.challenge')) as any;
  const params = connectParams(challenge.payload.nonce, challenge.payload.ts, gw.token, {
    role: 'operator',
    identity: null,
  });
  client.send({ type: 'req', id: 'c1', method: 'connect', params: { ...params, role: 'admin' } });
  t.match(await client.closed, { code: 1008, reason: 'invalid role' });
  t.equal(client.frames.filter((f) => f.type === 'res').length, 0, 'no response, as upstream');
});

t.test('wrong and missing token', async (t) => {
  const gw = await startTestGateway(t);
  const wrong = await connectRaw(gw, { role: 'node', token: 'wrong-token' });
  t.match(wrong.res.error, {
    code: 'INVALID_REQUEST',
    details: {
      code: 'AUTH_TOKEN_MISMATCH',
      authReason: 'token_mismatch',
      canRetryWithDeviceToken: false,
      recommendedNextStep: 'update_auth_credentials',
    },
  });
  t.equal((await wrong.client.closed).code, 1008);
  const missing = await connectRaw(gw, { role: 'operator', token: null, identity: null });
  t.match(missing.res.error, { code: 'INVALID_REQUEST', details: { code: 'AUTH_TOKEN_MISSING' } });
  t.equal(gw.nodes.list().length, 0, 'no node registered');
});

t.test('device token from hello-ok authenticates the next connect; a wrong one does not', async (t) => {
  const gw = await startTestGateway(t);
  const identity = generateDeviceIdentity();
  const first = await connectOk(gw, { role: 'node', identity });
  const deviceToken = first.res.payload.auth.deviceToken as string;
  first.client.close();
  await first.client.closed;
  const second = await connectOk(gw, { role: 'node', identity, token: null, deviceToken });
  t.equal(second.res.payload.auth.deviceToken, deviceToken, 'same token reissued');
  const bad = await connectRaw(gw, { role: 'node', identity, token: null, deviceToken: 'x'.repeat(43) });
  t.match(bad.res.error.details, { code: 'AUTH_DEVICE_TOKEN_MISMATCH' });
});

t.test('node without device identity', async (t) => {
  const gw = await startTestGateway(t);
  const res = await connectRaw(gw, { role: 'node', identity: null });
  t.match(res.res.error, {
    code: 'NOT_PAIRED',
    message: 'device identity required',
    details: { code: 'DEVICE_IDENTITY_REQUIRED' },
  });
  t.equal((await res.client.closed).code, 1008);
});

t.test('device-signature matrix over the wire', async (t) => {
  const gw = await startTestGateway(t);
  const cases: Array<[string, Parameters<typeof connectRaw>[1], string, string]> = [
    [
      'wrong nonce',
      {
        tamper: (d) => {
          d.nonce = '00000000-0000-4000-8000-000000000000';
        },
      },
      'DEVICE_AUTH_NONCE_MISMATCH',
      'device-nonce-mismatch',
    ],
    [
      'empty nonce',
      {
        tamper: (d) => {
          d.nonce = '';
        },
      },
      'DEVICE_AUTH_NONCE_REQUIRED',
      'device-nonce-missing',
    ],
    [
      'stale signedAt',
      { signedAtMs: Date.now() - 10 * 60_000 },
      'DEVICE_AUTH_SIGNATURE_EXPIRED',
      'device-signature-stale',
    ],
    [
      'future signedAt',
      { signedAtMs: Date.now() + 10 * 60_000 },
      'DEVICE_AUTH_SIGNATURE_EXPIRED',
      'device-signature-stale',
    ],
    [
      'wrong id',
      {
        tamper: (d) => {
          d.id = generateDeviceIdentity().deviceId;
        },
      },
      'DEVICE_AUTH_DEVICE_ID_MISMATCH',
      'device-id-mismatch',
    ],
    [
      'bad signature',
      {
        tamper: (d) => {
          const s = String(d.signature);
          d.signature = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
        },
      },
      'DEVICE_AUTH_SIGNATURE_INVALID',
      'device-signature',
    ],
  ];
  for (const [name, opts, code, reason] of cases) {
    const res = await connectRaw(gw, { role: 'node', ...opts });
    t.match(res.res.error, { code: 'INVALID_REQUEST', details: { code, reason } }, name);
    t.equal((await res.client.closed).code, 1008, `${name} closes 1008`);
  }

  // Reordered scopes: the signature covered ["operator.read","operator.write"], the frame says the reverse.
  const client = await RawClient.open(gw.url);
  const challenge = (await client.event('connect.challenge')) as any;
  const identity = generateDeviceIdentity();
  const params = connectParams(challenge.payload.nonce, challenge.payload.ts, gw.token, {
    role: 'operator',
    identity,
    scopes: ['operator.read', 'operator.write'],
  });
  const reordered = await client.request('connect', { ...params, scopes: ['operator.write', 'operator.read'] });
  t.match(
    reordered.error,
    { details: { code: 'DEVICE_AUTH_SIGNATURE_INVALID' } },
    'reordered scopes fail the signature',
  );

  // A v2 payload is still accepted.
  const v2client = await RawClient.open(gw.url);
  const ch2 = (await v2client.event('connect.challenge')) as any;
  const { signConnectDevice } = await import('../../lib/protocol/index.js');
  const p2 = connectParams(ch2.payload.nonce, ch2.payload.ts, gw.token, { role: 'node', identity });
  p2.device = signConnectDevice({
    identity,
    clientId: 'node-host',
    clientMode: 'node',
    role: 'node',
    scopes: [],
    token: gw.token,
    nonce: ch2.payload.nonce,
    signedAtMs: ch2.payload.ts,
    version: 'v2',
  });
  const v2 = await v2client.request('connect', p2);
  t.equal(v2.ok, true, 'v2 signature accepted');
});

t.test('oversized pre-auth frame closes 1009 before the handshake; post-auth frames may be larger', async (t) => {
  const gw = await startTestGateway(t);
  const client = await RawClient.open(gw.url);
  await client.event('connect.challenge');
  client.send(JSON.stringify({ type: 'req', id: '1', method: 'connect', params: { pad: 'x'.repeat(70 * 1024) } }));
  t.match(await client.closed, { code: 1009, reason: 'preauth payload too large' });
  t.equal(client.frames.filter((f) => f.type === 'res').length, 0);

  const node = await connectOk(gw, { role: 'node' });
  const big = await node.client.request('node.event', {
    event: 'big',
    payloadJSON: JSON.stringify({ blob: 'y'.repeat(200 * 1024) }),
  });
  t.match(big, { ok: true, payload: { ok: true } }, '200 KiB frame accepted after auth');
});

t.test('silence until the handshake deadline closes 1000', async (t) => {
  const gw = await startTestGateway(t, { handshakeTimeoutMs: 300 });
  const client = await RawClient.open(gw.url);
  await client.event('connect.challenge');
  t.match(await client.closed, { code: 1000, reason: 'handshake timeout' });
  await until(() => gw.connectionCount() === 0);
  t.equal(gw.connectionCount(), 0, 'server dropped the connection');
});

t.test('pre-auth sockets per IP are capped: the oldest unauthenticated one makes room (1013)', async (t) => {
  const gw = await startTestGateway(t, { maxPreauthPerIp: 2 });
  const a = await RawClient.open(gw.url);
  const b = await RawClient.open(gw.url);
  await a.event('connect.challenge');
  await b.event('connect.challenge');
  const c = await RawClient.open(gw.url);
  t.match(await a.closed, { code: 1013, reason: 'pre-auth slot reclaimed by a newer connection' }, 'oldest closed');
  await c.event('connect.challenge');
  await until(() => gw.connectionCount() === 2);
  t.equal(gw.connectionCount(), 2, 'never more than the cap');
  b.close();
  c.close();
});

t.test('unknown method, invalid frames and role/scope errors after the handshake keep the connection', async (t) => {
  const gw = await startTestGateway(t);
  const op = await connectOk(gw, {
    role: 'operator',
    clientId: 'gateway-client',
    mode: 'backend',
    identity: null,
    scopes: ['operator.read'],
  });
  const unknown = await op.client.request('no.such.method', {});
  t.match(unknown.error, { code: 'INVALID_REQUEST', message: 'unknown method: no.such.method' });
  op.client.send('{oops');
  t.match(await op.client.response('invalid'), {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: /^invalid request frame/ },
  });
  op.client.send({ type: 'event', event: 'x', id: 'ev1' });
  t.match(
    await op.client.response('ev1'),
    { ok: false, error: { code: 'INVALID_REQUEST' } },
    'answered with the frame id',
  );
  const scope = await op.client.request('node.invoke', { nodeId: 'n', command: 'system.run', idempotencyKey: 'k' });
  t.match(scope.error, { code: 'INVALID_REQUEST', message: 'missing scope: operator.write' });
  const role = await op.client.request('node.invoke.result', { id: 'x', nodeId: 'y', ok: true });
  t.match(role.error, { message: 'unauthorized role: operator' });
  const list = await op.client.request('node.list', {});
  t.match(list, { ok: true, payload: { nodes: [] } }, 'connection still usable');

  const node = await connectOk(gw, { role: 'node' });
  for (let i = 0; i < 9; i++) {
    const res = await node.client.request('node.list', {});
    t.equal(res.error.message, 'unauthorized role: node');
  }
  node.client.send({ type: 'req', id: 'last', method: 'node.list', params: {} });
  t.match(await node.client.closed, { code: 1008, reason: 'repeated unauthorized calls' });
});

t.test(
  'device-less operators: only loopback gateway-client/backend and cli/cli with the shared secret keep scopes',
  async (t) => {
    const gw = await startTestGateway(t);
    // The real `openclaw nodes list` connects like this (upstream shouldPreserveLocalCliSharedAuthScopes).
    const cli = await connectOk(gw, { role: 'operator', clientId: 'cli', mode: 'cli', identity: null });
    t.match(
      (await cli.client.request('node.list', {})).payload,
      { nodes: [] },
      'cli/cli with the token on loopback keeps its scopes',
    );
    const probe = await connectOk(gw, { role: 'operator', clientId: 'openclaw-probe', mode: 'probe', identity: null });
    t.match(
      (await probe.client.request('node.list', {})).error,
      { message: 'missing scope: operator.read' },
      'another client id gets none',
    );
    const cliOtherMode = await connectOk(gw, { role: 'operator', clientId: 'cli', mode: 'backend', identity: null });
    t.match(
      (await cliOtherMode.client.request('node.list', {})).error,
      { message: 'missing scope: operator.read' },
      'cli with another mode gets none',
    );
    const browser = await connectOk(gw, {
      role: 'operator',
      clientId: 'cli',
      mode: 'cli',
      identity: null,
      // The Gateway's own origin (any other is refused at the upgrade: request-origin.test.ts).
      headers: { origin: `http://127.0.0.1:${gw.port}` },
    });
    t.match(
      (await browser.client.request('node.list', {})).error,
      { message: 'missing scope: operator.read' },
      'a browser (Origin header) is not the local CLI',
    );
  },
);

t.test('HTTP without upgrade gets 426 (control page off); a raw garbage TCP client is dropped', async (t) => {
  const gw = await startTestGateway(t, { controlUi: false });
  const status = await new Promise<number>((resolve, reject) => {
    import('node:http').then(({ default: http }) =>
      http
        .get(`http://127.0.0.1:${gw.port}/`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject),
    );
  });
  t.equal(status, 426);
  const sock = net.connect(gw.port, '127.0.0.1');
  sock.on('error', () => {});
  sock.resume();
  sock.write('GARBAGE\r\n\r\n');
  await new Promise((resolve) => sock.on('close', resolve));
  t.pass('garbage connection closed');
  const ws = new WebSocket(gw.url);
  await new Promise((resolve) => ws.on('open', resolve));
  ws.close();
});
