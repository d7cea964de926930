/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Issue 7 item 15: a remembered node.invoke result goes only to a caller who could make that call now. The
// idempotency key is namespaced by the caller (device, or shared secret; the connection for a device-less
// approved run) and its scopes, so another caller repeating the same key and params is checked like any call.
import t from 'tap';

import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  startFakeNode,
  startTestGateway,
} from '../helpers/gateway.js';

const PLAN = {
  argv: ['/usr/bin/echo', 'secret'],
  cwd: '/tmp',
  commandText: '/usr/bin/echo secret',
  agentId: 'main',
  sessionKey: null,
};
const cli = { role: 'operator' as const, clientId: 'cli', mode: 'cli', identity: null };

async function setup(t: any) {
  const gw = await startTestGateway(t);
  let runs = 0;
  const node = await startFakeNode(gw, (command) => {
    if (command === 'system.run') {
      runs++;
      return { ok: true, payload: { stdout: 'the secret output\n', runs } };
    }
    return { ok: true, payload: { bins: {} } };
  });
  const admin = (await connectOk(gw, cli)).client;
  await approveAllNodes(admin);
  return { gw, node, admin, runs: () => runs };
}

/**
 * Files a planned approval as `requester` and has `admin` allow it always (the record stays, so a refusal
 * below names the binding, not a consumed id); returns the approval id.
 */
async function approved(requester: any, admin: any, nodeId: string): Promise<string> {
  const reqId = requester.requestId('exec.approval.request', {
    host: 'node',
    nodeId,
    systemRunPlan: PLAN,
    twoPhase: true,
    requireDeliveryRoute: false,
  });
  const accepted = await requester.response(reqId);
  await admin.request('exec.approval.resolve', { id: accepted.payload.id, decision: 'allow-always' });
  return accepted.payload.id;
}

const runParams = (nodeId: string, runId: string, key: string) => ({
  nodeId,
  command: 'system.run',
  params: { command: PLAN.argv, runId, approved: true, approvalDecision: 'allow-always' },
  idempotencyKey: key,
});

t.test('another device repeating an approved run’s key and params gets no cached output', async (t) => {
  const { gw, node, admin, runs } = await setup(t);
  const victimId = generateDeviceIdentity();
  const victim = (await connectOk(gw, { identity: victimId, scopes: ALL_OPERATOR_SCOPES })).client;
  const runId = await approved(victim, admin, node.nodeId);
  const first = await victim.request('node.invoke', runParams(node.nodeId, runId, 'k-secret'));
  t.match(first.payload?.payload, { stdout: 'the secret output\n' }, 'the requester ran it');
  const again = await victim.request('node.invoke', runParams(node.nodeId, runId, 'k-secret'));
  t.same(again.payload, first.payload, 'its own retry is served from the cache');
  t.equal(runs(), 1);

  const thief = (await connectOk(gw, { identity: generateDeviceIdentity(), scopes: ALL_OPERATOR_SCOPES })).client;
  const stolen = await thief.request('node.invoke', runParams(node.nodeId, runId, 'k-secret'));
  t.notOk(stolen.ok, 'another device gets no result');
  t.match(stolen.error, { details: { code: 'APPROVAL_DEVICE_MISMATCH' } }, 'it is checked like a call of its own');
  t.equal(runs(), 1, 'and nothing ran again');
});

t.test('device-less callers: an approved run is bound to its connection, a plain invoke to the secret', async (t) => {
  const { gw, node, admin, runs } = await setup(t);
  const first = (await connectOk(gw, cli)).client;
  const runId = await approved(first, admin, node.nodeId);
  t.equal((await first.request('node.invoke', runParams(node.nodeId, runId, 'k-conn'))).ok, true);
  const second = (await connectOk(gw, cli)).client;
  const other = await second.request('node.invoke', runParams(node.nodeId, runId, 'k-conn'));
  t.match(other.error, { details: { code: 'APPROVAL_CLIENT_MISMATCH' } }, 'another connection: checked, refused');
  t.equal(runs(), 1);

  // A plain invoke keeps its idempotency across reconnects of the same shared-secret client (CLI retries).
  const which = { nodeId: node.nodeId, command: 'system.which', params: { bins: ['sh'] }, idempotencyKey: 'k-which' };
  const a = await first.request('node.invoke', which);
  const b = await second.request('node.invoke', which);
  t.same(b.payload, a.payload);
  t.equal(node.invokes.filter((i: any) => i.command === 'system.which').length, 1, 'deduplicated across connections');
});

t.test('the same device with other scopes makes a new call', async (t) => {
  const { gw, node } = await setup(t);
  const identity = generateDeviceIdentity();
  const wide = (await connectOk(gw, { identity, scopes: ALL_OPERATOR_SCOPES })).client;
  const which = { nodeId: node.nodeId, command: 'system.which', params: { bins: ['sh'] }, idempotencyKey: 'k-scopes' };
  await wide.request('node.invoke', which);
  const narrow = (await connectOk(gw, { identity, scopes: ['operator.write'] })).client;
  await narrow.request('node.invoke', which);
  t.equal(node.invokes.length, 2, 'not served from the other scope set’s cache');
});
