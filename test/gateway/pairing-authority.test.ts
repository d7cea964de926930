/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Issue 7 item 10: who may approve a pairing. An approver never grants scopes it does not hold, never
// approves its own request, needs operator.admin for a node role, and a non-admin device manages only
// itself; a device token alone never widens its own scopes silently, even as the local backend.
import t from 'tap';

import { generateDeviceIdentity, type DeviceIdentity } from '../../lib/protocol/index.js';
import { ALL_OPERATOR_SCOPES, connectOk, connectRaw, startTestGateway, type Connected } from '../helpers/gateway.js';

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

type Gw = Awaited<ReturnType<typeof startTestGateway>>;

/** A remote device asks for scopes: the pending requestId. */
async function ask(gw: Gw, identity: DeviceIdentity, scopes: string[], role: 'operator' | 'node' = 'operator') {
  const res = await connectRaw(gw, { role, identity, scopes, headers: REMOTE });
  if (res.res.ok) throw new Error('expected PAIRING_REQUIRED');
  res.client.close();
  return res.res.error.details.requestId as string;
}

/** Pairs a device remotely with exactly `scopes` (approved by the all-scopes local backend) and connects it. */
async function pairedDevice(gw: Gw, admin: Connected['client'], scopes: string[]) {
  const identity = generateDeviceIdentity();
  const requestId = await ask(gw, identity, scopes);
  const approved = await admin.request('device.pair.approve', { requestId });
  if (!approved.ok) throw new Error(JSON.stringify(approved.error));
  const conn = await connectOk(gw, { identity, scopes, headers: REMOTE });
  return { identity, client: conn.client, deviceToken: conn.res.payload.auth.deviceToken as string };
}

t.test('a pairing-only device cannot approve its own scope upgrade, nor can a peer without the scope', async (t) => {
  const gw = await startTestGateway(t, remoteAware);
  const admin = (await connectOk(gw, backend)).client;
  const low = await pairedDevice(gw, admin, ['operator.pairing']);
  const upgrade = await ask(gw, low.identity, ['operator.admin']);

  const self = await low.client.request('device.pair.approve', { requestId: upgrade });
  t.match(
    self.error,
    { code: 'INVALID_REQUEST', details: { code: 'PAIRING_SELF_APPROVAL', requestId: upgrade } },
    'its own request: refused',
  );
  const peer = await pairedDevice(gw, admin, ['operator.pairing']);
  const byPeer = await peer.client.request('device.pair.approve', { requestId: upgrade });
  t.match(
    byPeer.error,
    { message: 'missing scope: operator.admin', details: { code: 'PAIRING_SCOPE_NOT_HELD' } },
    'a peer that does not hold operator.admin cannot grant it',
  );
  t.ok(
    (await admin.request('device.pair.list', {})).payload.pending.some((r: any) => r.requestId === upgrade),
    'the refused request stays pending',
  );
  const stillLow = await connectRaw(gw, { identity: low.identity, scopes: ['operator.admin'], headers: REMOTE });
  t.match(stillLow.res.error, { details: { code: 'PAIRING_REQUIRED', reason: 'scope-upgrade' } }, 'no escalation');
  stillLow.client.close();

  const granted = await admin.request('device.pair.approve', { requestId: upgrade });
  t.equal(granted.ok, true, 'an admin may grant operator.admin');
  const now = await connectOk(gw, { identity: low.identity, scopes: ['operator.admin'], headers: REMOTE });
  t.same(now.res.payload.auth.scopes, ['operator.admin']);
});

t.test('approvers grant only what they hold (admin covers all, write covers read); nodes need admin', async (t) => {
  const gw = await startTestGateway(t, remoteAware);
  const admin = (await connectOk(gw, backend)).client;
  const writer = await pairedDevice(gw, admin, ['operator.pairing', 'operator.write']);

  const readRequest = await ask(gw, generateDeviceIdentity(), ['operator.read']);
  t.equal(
    (await writer.client.request('device.pair.approve', { requestId: readRequest })).ok,
    true,
    'write covers read',
  );
  const sameRequest = await ask(gw, generateDeviceIdentity(), ['operator.pairing', 'operator.write']);
  t.equal((await writer.client.request('device.pair.approve', { requestId: sameRequest })).ok, true, 'held scopes');
  for (const scope of ['operator.approvals', 'operator.admin', 'operator.talk.secrets', 'not.an.operator.scope']) {
    const requestId = await ask(gw, generateDeviceIdentity(), ['operator.read', scope]);
    const res = await writer.client.request('device.pair.approve', { requestId });
    t.match(res.error, { message: `missing scope: ${scope}` }, `${scope}: not held, not granted`);
  }
  const nodeRequest = await ask(gw, generateDeviceIdentity(), [], 'node');
  t.match(
    (await writer.client.request('device.pair.approve', { requestId: nodeRequest })).error,
    { details: { code: 'PAIRING_ROLE_REQUIRES_ADMIN' } },
    'a node role needs operator.admin',
  );
  t.equal((await admin.request('device.pair.approve', { requestId: nodeRequest })).ok, true);
});

t.test('a non-admin device manages only its own tokens and pairing', async (t) => {
  const gw = await startTestGateway(t, remoteAware);
  const admin = (await connectOk(gw, backend)).client;
  const victim = await pairedDevice(gw, admin, ['operator.admin']);
  const low = await pairedDevice(gw, admin, ['operator.pairing']);
  for (const [method, params] of [
    ['device.token.rotate', { deviceId: victim.identity.deviceId, role: 'operator' }],
    ['device.token.revoke', { deviceId: victim.identity.deviceId, role: 'operator' }],
    ['device.pair.remove', { deviceId: victim.identity.deviceId }],
  ] as const) {
    const res = await low.client.request(method, params);
    t.match(res.error, { details: { code: 'DEVICE_OWNERSHIP_MISMATCH' } }, `${method} of another device: refused`);
  }
  const own = await low.client.request('device.token.rotate', { deviceId: low.identity.deviceId, role: 'operator' });
  t.equal(own.ok, true, 'its own token: allowed');
  t.equal(
    (await admin.request('device.token.rotate', { deviceId: victim.identity.deviceId, role: 'operator' })).ok,
    true,
    'an admin manages any device',
  );
});

t.test('a device token alone never auto-approves its own scope upgrade, even as the local backend', async (t) => {
  const gw = await startTestGateway(t, remoteAware);
  const admin = (await connectOk(gw, backend)).client;
  const low = await pairedDevice(gw, admin, ['operator.pairing']);
  // Loopback, client gateway-client/backend, only the device token: upstream requires a shared secret.
  const sneaky = await connectRaw(gw, {
    identity: low.identity,
    clientId: 'gateway-client',
    mode: 'backend',
    token: null,
    deviceToken: low.deviceToken,
    scopes: ['operator.admin'],
  });
  t.match(sneaky.res.error, { details: { code: 'PAIRING_REQUIRED', reason: 'scope-upgrade' } }, 'not silent');
  sneaky.client.close();
  // With the shared token (which already is full access on loopback) the local backend may widen silently.
  const withSecret = await connectOk(gw, {
    identity: low.identity,
    clientId: 'gateway-client',
    mode: 'backend',
    scopes: ['operator.admin'],
  });
  t.same(withSecret.res.payload.auth.scopes, ['operator.admin']);
});

t.test('node pairing: the approver must hold the scopes, and not be the node itself', async (t) => {
  const gw = await startTestGateway(t, remoteAware);
  const admin = (await connectOk(gw, backend)).client;
  const identity = generateDeviceIdentity();
  // The same device paired as an admin operator and as a node.
  const opRequest = await ask(gw, identity, ['operator.admin', 'operator.pairing']);
  await admin.request('device.pair.approve', { requestId: opRequest });
  const nodeDeviceRequest = await ask(gw, identity, [], 'node');
  await admin.request('device.pair.approve', { requestId: nodeDeviceRequest });
  const node = await connectOk(gw, { role: 'node', identity, headers: REMOTE });
  const surface = (await admin.request('node.pair.list', {})).payload.pending.find(
    (r: any) => r.nodeId === identity.deviceId,
  );
  t.ok(surface, 'the node waits for its command surface');
  const self = await connectOk(gw, { identity, scopes: ['operator.admin', 'operator.pairing'], headers: REMOTE });
  t.match(
    (await self.client.request('node.pair.approve', { requestId: surface.requestId })).error,
    { details: { code: 'PAIRING_SELF_APPROVAL' } },
    'the node device cannot approve its own surface',
  );
  const pairingOnly = await pairedDevice(gw, admin, ['operator.pairing']);
  t.match(
    (await pairingOnly.client.request('node.pair.approve', { requestId: surface.requestId })).error,
    { message: 'missing scope: operator.admin' },
    'system.run needs operator.admin',
  );
  t.equal((await admin.request('node.pair.approve', { requestId: surface.requestId })).ok, true);
  node.client.close();
});
