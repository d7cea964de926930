import t from 'tap';

import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import { ALL_OPERATOR_SCOPES, connectOk, startFakeNode, startTestGateway } from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

t.test('handle: waitFor, pendingRequests/approve, onNodeEvent, paired lists', async (t) => {
  const gw = await startTestGateway(t);
  t.match(gw.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
  t.equal(gw.token, 'test-token-0123456789');
  t.equal(gw.tokenSource, 'option');
  const identity = generateDeviceIdentity();
  const waiting = gw.nodes.waitFor(identity.deviceId, 15_000);
  const node = await startFakeNode(gw, () => ({ ok: true, payload: { hi: 1 } }), { identity });
  t.equal((await waiting).nodeId, identity.deviceId);
  await t.rejects(gw.nodes.waitFor('absent', 50), { code: 'ERR_NODE_WAIT_TIMEOUT' });

  const pending = gw.nodes.pendingRequests();
  t.match(pending, [{ nodeId: identity.deviceId, requestId: String }]);
  const resolved = node.client.event('node.pair.resolved');
  t.match(gw.nodes.approve(pending[0]!.requestId), { nodeId: identity.deviceId, commands: Array });
  await resolved;
  t.equal(gw.nodes.paired().length, 1);
  t.equal(gw.devices.paired()[0]!.deviceId, identity.deviceId);

  const events: unknown[] = [];
  const off = gw.onNodeEvent((nodeId, event, payload) => events.push({ nodeId, event, payload }));
  await node.client.request('node.event', {
    event: 'exec.finished',
    payloadJSON: JSON.stringify({ runId: 'r', exitCode: 0 }),
  });
  off();
  await node.client.request('node.event', { event: 'ignored.after.off' });
  t.same(events, [{ nodeId: identity.deviceId, event: 'exec.finished', payload: { runId: 'r', exitCode: 0 } }]);
  t.match((await node.client.request('node.event', { event: 'x', payloadJSON: '{bad' })).error, {
    code: 'INVALID_REQUEST',
  });
});

t.test('autoApproveNodes: the command surface is approved without an operator', async (t) => {
  const gw = await startTestGateway(t, { autoApproveNodes: true });
  const node = await startFakeNode(gw, () => ({ ok: true, payload: 'ok' }));
  const op = (await connectOk(gw, backend)).client;
  t.same(gw.nodes.pendingRequests(), []);
  const res = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['true'] },
    idempotencyKey: 'auto',
  });
  t.equal(res.ok, true);
  t.match(await node.client.request('node.runnerInventory.update', {}), { ok: true, payload: { nodeId: node.nodeId } });
});

t.test('close() is idempotent and frees the port', async (t) => {
  const gw = await startTestGateway(t);
  await Promise.all([gw.close(), gw.close()]);
  const again = await startTestGateway(t, { port: gw.port });
  t.equal(again.port, gw.port, 'the same port binds again');
  await t.rejects(startTestGateway(t, { port: gw.port }), { code: 'ERR_GATEWAY_PORT_IN_USE' });
});
