/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// A requester that goes away cancels what it asked for (issue 7, "Also"): its pending node.invoke is
// dropped and the node is told with upstream's `node.invoke.cancel {invokeId, nodeId}` event (also at the
// invoke's deadline, as upstream does); an invoke shared through an idempotency key lives while any of
// its callers waits; a one-phase exec.approval.request is withdrawn with its connection.
import t from 'tap';

import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  startFakeNode,
  startTestGateway,
  until,
  type Frame,
  type Tap,
} from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

async function setup(t: Tap, pending?: PendingApprovals) {
  const gw = await startTestGateway(t, pending ? { pending } : {});
  const admin = (await connectOk(gw, backend)).client;
  // A node that never answers: only a cancel or the deadline ends its invokes.
  const node = await startFakeNode(gw, () => 'ignore');
  await approveAllNodes(admin);
  const cancels: Frame[] = [];
  node.client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    if (frame.type === 'event' && frame.event === 'node.invoke.cancel') cancels.push(frame);
  });
  return { gw, admin, node, cancels };
}

const run = (nodeId: string, key: string, timeoutMs = 60_000) => ({
  nodeId,
  command: 'system.run',
  params: { command: ['sleep', '600'] },
  idempotencyKey: key,
  timeoutMs,
});

t.test('the requester disconnects: the invoke is cancelled and the node told to stop it', async (t) => {
  const { gw, node, cancels } = await setup(t);
  const requester = (await connectOk(gw, backend)).client;
  requester.requestId('node.invoke', run(node.nodeId, 'c1'));
  await until(() => node.invokes.length === 1);
  t.equal(cancels.length, 0, 'nothing cancelled while the requester waits');
  requester.close();
  await until(() => cancels.length === 1);
  t.same(cancels[0]!.payload, { invokeId: node.invokes[0].id, nodeId: node.nodeId }, "upstream's cancel payload");
  const late = await node.client.request('node.invoke.result', {
    id: node.invokes[0].id,
    nodeId: node.nodeId,
    ok: true,
    payloadJSON: '{}',
  });
  t.same(late.payload, { ok: true, ignored: true }, 'the Gateway no longer waits for it');
});

t.test('an invoke shared through its idempotency key lives until its last caller is gone', async (t) => {
  const { gw, node, cancels } = await setup(t);
  const first = (await connectOk(gw, backend)).client;
  const second = (await connectOk(gw, backend)).client;
  first.requestId('node.invoke', run(node.nodeId, 'shared'));
  await until(() => node.invokes.length === 1);
  const waiting = second.request('node.invoke', run(node.nodeId, 'shared'));
  // Frames of one connection are handled in order: once health answers, the invoke above joined the first.
  t.ok((await second.request('health')).ok);
  first.close();
  await first.closed;
  // The second caller still waits: its answer comes from the node, not from a cancel.
  node.client.send({
    type: 'req',
    id: 'late-result',
    method: 'node.invoke.result',
    params: { id: node.invokes[0].id, nodeId: node.nodeId, ok: true, payloadJSON: '{"exitCode":0}' },
  });
  t.match(await waiting, { ok: true, payload: { payload: { exitCode: 0 } } });
  t.equal(node.invokes.length, 1, 'run once for both');
  t.equal(cancels.length, 0, 'never cancelled: a caller was still there');
});

t.test('at the invoke deadline the node is told to stop, as upstream does', async (t) => {
  const { admin, node, cancels } = await setup(t);
  const res = await admin.request('node.invoke', run(node.nodeId, 'deadline', 300));
  t.match(res.error, { code: 'UNAVAILABLE', message: 'TIMEOUT: node invoke timed out' });
  await until(() => cancels.length === 1);
  t.same(cancels[0]!.payload, { invokeId: node.invokes[0].id, nodeId: node.nodeId });
});

t.test('a one-phase exec.approval.request is withdrawn with its connection; a two-phase one stays', async (t) => {
  const pending = new PendingApprovals();
  const { gw, admin } = await setup(t, pending);
  // A paired device: before, only device-less requesters' approvals died with the connection.
  const device = (await connectOk(gw, { ...backend, identity: generateDeviceIdentity() })).client;
  t.ok((await device.request('health')).ok);
  // One-phase: its answer can only come back on this connection (no response is awaited here).
  device.requestId('exec.approval.request', {
    command: 'rm -rf /tmp/x',
    commandArgv: ['rm', '-rf', '/tmp/x'],
    requireDeliveryRoute: false,
  });
  await until(() => pending.size === 1);
  const oneId = pending.list()[0]!.id;
  const twoPhase = await device.request('exec.approval.request', {
    command: 'ls',
    commandArgv: ['ls'],
    twoPhase: true,
    requireDeliveryRoute: false,
  });
  t.match(twoPhase.payload, { status: 'accepted' });
  await until(() => pending.size === 2);
  device.close();
  await until(() => pending.size === 1);
  t.notOk(pending.get(oneId), 'the one-phase request is withdrawn: nobody could receive its decision');
  const resolve = await admin.request('exec.approval.resolve', { id: oneId, decision: 'allow-once' });
  t.match(resolve, { ok: false, error: { message: 'approval already resolved' } }, 'approving it afterwards fails');
  t.ok(pending.get(twoPhase.payload.id), 'the two-phase request stays for its device to pick up');
  const listed = await admin.request('exec.approval.list', {});
  t.same(
    listed.payload.map((a: any) => a.request.commandDisplay),
    ['ls'],
    'the listing carries the escaped display of what is left',
  );
});
