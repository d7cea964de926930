import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { startGateway } from '../../lib/gateway/index.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  connectRaw,
  startFakeNode,
  startTestGateway,
  tempStateDir,
} from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};
/** Connections carrying this header are treated as remote by the gateway under test. */
const REMOTE = { 'x-test-remote': '1' };
const remoteAware = {
  isLocal: (info: { headers: Record<string, unknown> }) => info.headers['x-test-remote'] === undefined,
};

const mode = (file: string): number => fs.statSync(file).mode & 0o777;

t.test('loopback pairing is automatic and persisted 0600', async (t) => {
  const stateDir = tempStateDir(t);
  const gw = await startTestGateway(t, { stateDir });
  const node = await connectOk(gw, { role: 'node' });
  const file = path.join(stateDir, 'devices', 'paired.json');
  t.equal(mode(file), 0o600);
  const paired = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.match(paired[node.identity!.deviceId], { deviceId: node.identity!.deviceId, roles: ['node'], platform: 'linux' });
  t.equal(mode(path.join(stateDir, 'devices')), 0o700);
});

t.test(
  'a remote device waits for an operator: PAIRING_REQUIRED, device.pair.requested, approve, reconnect',
  async (t) => {
    const gw = await startTestGateway(t, remoteAware);
    const op = (await connectOk(gw, backend)).client;
    const requestedEvent = op.event('device.pair.requested');
    const identity = generateDeviceIdentity();
    const first = await connectRaw(gw, { role: 'node', identity, headers: REMOTE });
    t.match(first.res.error, {
      code: 'NOT_PAIRED',
      message: 'pairing required',
      details: { code: 'PAIRING_REQUIRED', requestId: String, reason: 'not-paired' },
    });
    t.equal((await first.client.closed).code, 1008);
    const requestId = first.res.error.details.requestId;
    t.match((await requestedEvent).payload, {
      requestId,
      deviceId: identity.deviceId,
      publicKey: identity.publicKey,
      role: 'node',
      platform: 'linux',
      remoteIp: String,
    });

    const again = await connectRaw(gw, { role: 'node', identity, headers: REMOTE });
    t.equal(again.res.error.details.requestId, requestId, 'a retry reuses the pending request');
    const list = await op.request('device.pair.list', {});
    t.equal(list.payload.pending.length, 1);

    const resolved = op.event('device.pair.resolved');
    const approved = await op.request('device.pair.approve', { requestId });
    t.match(approved.payload, { requestId, device: { deviceId: identity.deviceId, roles: ['node'] } });
    t.notOk('tokens' in approved.payload.device, 'device tokens are not listed');
    t.match((await resolved).payload, { requestId, decision: 'approved' });

    const ok = await connectOk(gw, { role: 'node', identity, headers: REMOTE });
    t.match(ok.res.payload.auth, { role: 'node', deviceToken: String });
    t.match(await op.request('device.pair.approve', { requestId }), {
      ok: false,
      error: { message: 'unknown requestId' },
    });
  },
);

t.test('remote scope upgrade needs approval; reject works; a wrong operator scope cannot approve', async (t) => {
  const gw = await startTestGateway(t, remoteAware);
  const op = (await connectOk(gw, backend)).client;
  const identity = generateDeviceIdentity();
  const dev = { role: 'operator' as const, identity, headers: REMOTE, clientId: 'cli', mode: 'cli' };
  const first = await connectRaw(gw, { ...dev, scopes: ['operator.read'] });
  await op.request('device.pair.approve', { requestId: first.res.error.details.requestId });
  await connectOk(gw, { ...dev, scopes: ['operator.read'] });
  const upgrade = await connectRaw(gw, { ...dev, scopes: ['operator.read', 'operator.admin'] });
  t.match(upgrade.res.error.details, { code: 'PAIRING_REQUIRED', reason: 'scope-upgrade' });
  const reader = (await connectOk(gw, { ...dev, scopes: ['operator.read'] })).client;
  t.match((await reader.request('device.pair.approve', { requestId: upgrade.res.error.details.requestId })).error, {
    message: 'missing scope: operator.pairing',
  });
  t.match(await op.request('device.pair.reject', { requestId: upgrade.res.error.details.requestId }), { ok: true });
  t.match(
    (await connectRaw(gw, { ...dev, scopes: ['operator.read', 'operator.admin'] })).res.error.details,
    { code: 'PAIRING_REQUIRED' },
    'still not upgraded',
  );
});

t.test('node pairing: new commands create a new request and keep the approved set', async (t) => {
  const gw = await startTestGateway(t);
  const op = (await connectOk(gw, backend)).client;
  const identity = generateDeviceIdentity();
  const requested = op.event('node.pair.requested');
  const first = await startFakeNode(gw, () => ({ ok: true, payload: 'ran' }), { identity, commands: ['system.which'] });
  t.match((await requested).payload, { nodeId: first.nodeId, commands: ['system.which'], requestId: String });
  await approveAllNodes(op);
  first.client.close();
  await first.client.closed;
  const second = await startFakeNode(gw, () => ({ ok: true, payload: 'ran' }), {
    identity,
    commands: ['system.which', 'system.run'],
  });
  const list = await op.request('node.pair.list', {});
  t.match(list.payload.pending, [{ nodeId: second.nodeId, commands: ['system.run', 'system.which'] }]);
  t.notOk('token' in list.payload.paired[0], 'node tokens are not listed');
  t.equal(
    (
      await op.request('node.invoke', {
        nodeId: second.nodeId,
        command: 'system.which',
        params: {},
        idempotencyKey: 'a',
      })
    ).ok,
    true,
    'approved command still works',
  );
  t.match(
    (
      await op.request('node.invoke', {
        nodeId: second.nodeId,
        command: 'system.run',
        params: { command: ['id'] },
        idempotencyKey: 'b',
      })
    ).error,
    { details: { reason: 'command not approved' } },
  );
  const limited = (await connectOk(gw, { ...backend, scopes: ['operator.pairing'] })).client;
  t.match(
    (await limited.request('node.pair.approve', { requestId: list.payload.pending[0].requestId })).error,
    { message: 'missing scope: operator.admin' },
    'exec commands need admin to approve',
  );
  await approveAllNodes(op);
  t.equal(
    (
      await op.request('node.invoke', {
        nodeId: second.nodeId,
        command: 'system.run',
        params: { command: ['id'] },
        idempotencyKey: 'c',
      })
    ).ok,
    true,
  );
  t.match(await op.request('node.rename', { nodeId: second.nodeId, displayName: 'build box' }), { ok: true });
  t.match((await op.request('node.describe', { nodeId: second.nodeId })).payload, { displayName: 'build box' });
});

t.test(
  'token and config: generated 0600, other keys preserved, env precedence, malformed config refused',
  async (t) => {
    const stateDir = tempStateDir(t);
    const configPath = path.join(stateDir, 'openclaw.json');
    fs.writeFileSync(configPath, JSON.stringify({ agents: { main: { model: 'x' } }, gateway: { port: 1234 } }), {
      mode: 0o644,
    });
    const gw = await startGateway({ port: 0, stateDir, env: {} });
    t.equal(gw.tokenSource, 'generated');
    t.match(gw.token, /^[0-9a-f]{48}$/);
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    t.same(config, { agents: { main: { model: 'x' } }, gateway: { port: 1234, auth: { token: gw.token } } });
    t.equal(mode(configPath), 0o600);
    await gw.close();

    const fromEnv = await startGateway({ port: 0, stateDir, env: { OPENCLAW_GATEWAY_TOKEN: 'env-token' } });
    t.equal(fromEnv.token, 'env-token');
    t.equal(fromEnv.tokenSource, 'env');
    await fromEnv.close();

    const broken = tempStateDir(t);
    fs.writeFileSync(path.join(broken, 'openclaw.json'), '{ not json');
    await t.rejects(startGateway({ port: 0, stateDir: broken, env: {} }), { code: 'ERR_CONFIG_MALFORMED' });
    t.equal(fs.readFileSync(path.join(broken, 'openclaw.json'), 'utf8'), '{ not json', 'never overwritten');
  },
);

t.test(
  'gateway restart: same token, paired devices and nodes kept, in-flight invoke fails cleanly, no duplicate',
  async (t) => {
    const stateDir = tempStateDir(t);
    const gw1 = await startGateway({ port: 0, stateDir, env: {} });
    const identity = generateDeviceIdentity();
    let runs = 0;
    const handler = (command: string) => {
      if (command === 'system.run') runs++;
      return runs === 1 && command === 'system.run' ? ('ignore' as const) : { ok: true as const, payload: { runs } };
    };
    const op1 = (await connectOk(gw1, backend)).client;
    const node1 = await startFakeNode(gw1, handler, { identity });
    await approveAllNodes(op1);
    const deviceToken = node1.res.payload.auth.deviceToken;
    const inflight = op1.request('node.invoke', {
      nodeId: node1.nodeId,
      command: 'system.run',
      params: { command: ['true'] },
      idempotencyKey: 'restart-1',
      timeoutMs: 60_000,
    });
    await node1.client.event('node.invoke.request');
    const shutdownEvent = node1.client.event('shutdown');
    await gw1.close();
    t.match((await shutdownEvent).payload, { reason: String }, 'shutdown broadcast before the restart');
    t.match(await node1.client.closed, { code: 1012 });
    t.match(
      await inflight,
      { ok: false, error: { code: 'UNAVAILABLE' } },
      'the in-flight invoke is failed, not lost silently',
    );

    const gw2 = await startGateway({ port: 0, stateDir, env: {} });
    t.teardown(() => gw2.close());
    t.equal(gw2.token, gw1.token, 'same token after restart');
    t.equal(gw2.tokenSource, 'config');
    const node2 = await startFakeNode(gw2, handler, { identity, token: null, deviceToken });
    t.equal(node2.res.payload.auth.deviceToken, deviceToken, 'device token survives the restart');
    const op2 = (await connectOk(gw2, backend)).client;
    t.same((await op2.request('node.pair.list', {})).payload.pending, [], 'no new node approval needed');
    const res = await op2.request('node.invoke', {
      nodeId: node2.nodeId,
      command: 'system.run',
      params: { command: ['true'] },
      idempotencyKey: 'restart-2',
    });
    t.match(res, { ok: true, payload: { payload: { runs: 2 } } });
    t.equal(node2.invokes.length, 1, 'exactly one request reached the reconnected node');
  },
);

t.test('a state dir that cannot be written fails the connect, not the gateway', async (t) => {
  const stateDir = tempStateDir(t);
  const gw = await startTestGateway(t, { stateDir });
  fs.writeFileSync(path.join(stateDir, 'devices'), 'not a directory');
  const res = await connectRaw(gw, { role: 'node' });
  t.match(res.res.error, {
    code: 'UNAVAILABLE',
    message: /gateway error during connect: .*not a directory/,
    retryable: true,
  });
  t.equal((await res.client.closed).code, 1011);
  fs.rmSync(path.join(stateDir, 'devices'));
  t.ok((await connectOk(gw, { role: 'node' })).res.ok, 'serving again once the state dir is fixed');
});

t.test('device tokens: rotate invalidates the old token, revoke disconnects, remove forgets the device', async (t) => {
  const gw = await startTestGateway(t);
  const op = (await connectOk(gw, backend)).client;
  const identity = generateDeviceIdentity();
  const first = await connectOk(gw, { role: 'node', identity });
  const oldToken = first.res.payload.auth.deviceToken;
  const rotated = await op.request('device.token.rotate', { deviceId: identity.deviceId, role: 'node' });
  t.match(rotated.payload, { deviceId: identity.deviceId, role: 'node', token: String });
  t.not(rotated.payload.token, oldToken);
  t.match((await connectRaw(gw, { role: 'node', identity, token: null, deviceToken: oldToken })).res.error.details, {
    code: 'AUTH_DEVICE_TOKEN_MISMATCH',
  });
  const withNew = await connectOk(gw, { role: 'node', identity, token: null, deviceToken: rotated.payload.token });
  t.match(await first.client.closed, { code: 1000 }, 'the newer node connection replaced the first');

  t.match(await op.request('device.token.revoke', { deviceId: identity.deviceId, role: 'node' }), { ok: true });
  t.match(await withNew.client.closed, { code: 1008, reason: 'device token revoked' });
  t.match(
    (await connectRaw(gw, { role: 'node', identity, token: null, deviceToken: rotated.payload.token })).res.error
      .details,
    { code: 'AUTH_DEVICE_TOKEN_MISMATCH' },
  );

  const again = await connectOk(gw, { role: 'node', identity });
  t.match(await op.request('device.pair.remove', { deviceId: identity.deviceId }), {
    ok: true,
    payload: { removed: true },
  });
  t.match(await again.client.closed, { code: 1008, reason: 'device removed' });
  t.equal(gw.devices.paired().length, 0);
  t.match(await op.request('device.token.revoke', { deviceId: identity.deviceId, role: 'node' }), {
    ok: false,
    error: { message: 'unknown device token' },
  });
});
