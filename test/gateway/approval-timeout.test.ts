/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Spec §11: after an approval timeout, allow-once is accepted only from operator.approvals /
// operator.admin clients (their askFallback), once; a cancelled or denied approval stays denied.
import t from 'tap';

import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  startFakeNode,
  startTestGateway,
  type Tap,
} from '../helpers/gateway.js';
import type { RawClient } from '../helpers/gateway.js';

const PLAN = {
  argv: ['/usr/bin/echo', 'late'],
  cwd: '/tmp',
  commandText: '/usr/bin/echo late',
  commandPreview: null,
  agentId: 'main',
  sessionKey: null,
};

function planNode(command: string, params: any) {
  if (command === 'system.run') return { ok: true as const, payload: { received: params } };
  return { ok: false as const, error: { code: 'UNAVAILABLE', message: 'command not supported' } };
}

/** Requests an approval and waits for its final (second) response; `decision` null = timed out or cancelled. */
async function requestApproval(
  client: RawClient,
  nodeId: string,
  extra: Record<string, unknown>,
): Promise<{ id: string; decision: unknown }> {
  const reqId = client.requestId('exec.approval.request', {
    host: 'node',
    nodeId,
    systemRunPlan: PLAN,
    twoPhase: true,
    ...extra,
  });
  const accepted = await client.response(reqId);
  const final = await client.response(reqId, 20_000);
  return { id: accepted.payload.id, decision: final.payload.decision };
}

const run = (
  client: RawClient,
  nodeId: string,
  runId: string,
  key: string,
  approval: Record<string, unknown> = { approved: true, approvalDecision: 'allow-once' },
) =>
  client.request('node.invoke', {
    nodeId,
    command: 'system.run',
    params: { command: PLAN.argv, runId, ...approval },
    idempotencyKey: key,
  });

async function setup(t: Tap) {
  const gw = await startTestGateway(t);
  const identity = generateDeviceIdentity();
  const device = (scopes: string[]) =>
    connectOk(gw, { role: 'operator', clientId: 'gateway-client', mode: 'backend', identity, scopes }).then(
      (c) => c.client,
    );
  const full = await device(ALL_OPERATOR_SCOPES);
  const node = await startFakeNode(gw, planNode);
  await approveAllNodes(full);
  return { gw, full, device, node };
}

t.test('timed out: allow-once from an approvals-scoped client runs once; other claims stay denied', async (t) => {
  const { full, node } = await setup(t);
  const approval = await requestApproval(full, node.nodeId, { timeoutMs: 200, requireDeliveryRoute: false });
  t.equal(approval.decision, null, 'the request timed out');

  t.match(
    (await run(full, node.nodeId, approval.id, 'k1', { approved: true, approvalDecision: 'allow-always' })).error,
    { details: { code: 'APPROVAL_REQUIRED' } },
    'allow-always is never inferred',
  );
  t.match(
    (await run(full, node.nodeId, approval.id, 'k2', { approved: true })).error,
    { details: { code: 'APPROVAL_REQUIRED' } },
    'allow-once must be asked for',
  );
  t.match(
    (await run(full, node.nodeId, approval.id, 'k3', { approvalDecision: 'allow-once' })).error,
    { details: { code: 'APPROVAL_REQUIRED' } },
    'approved must be true',
  );
  const ok = await run(full, node.nodeId, approval.id, 'k4');
  t.equal(ok.ok, true, 'accepted');
  t.match(ok.payload.payload.received, {
    approved: true,
    approvalDecision: 'allow-once',
    runId: approval.id,
    command: PLAN.argv,
  });
  t.match(
    (await run(full, node.nodeId, approval.id, 'k5')).error,
    { details: { code: 'UNKNOWN_APPROVAL_ID' } },
    'usable once',
  );
  t.equal(node.invokes.length, 1, 'one run reached the node');
});

t.test(
  'timed out: the same device without operator.approvals is refused; with operator.admin it is accepted',
  async (t) => {
    const { full, device, node } = await setup(t);
    const first = await requestApproval(full, node.nodeId, { timeoutMs: 200, requireDeliveryRoute: false });
    t.equal(first.decision, null);
    const writer = await device(['operator.write']);
    t.match(
      (await run(writer, node.nodeId, first.id, 'w1')).error,
      { message: 'approval required', details: { code: 'APPROVAL_REQUIRED', runId: first.id } },
      'operator.write alone is not enough',
    );
    const approver = await device(['operator.write', 'operator.approvals']);
    t.equal((await run(approver, node.nodeId, first.id, 'w2')).ok, true, 'operator.approvals is');

    const second = await requestApproval(full, node.nodeId, { timeoutMs: 200, requireDeliveryRoute: false });
    const admin = await device(['operator.admin']);
    t.equal((await run(admin, node.nodeId, second.id, 'w3')).ok, true, 'operator.admin is');
    t.equal(node.invokes.length, 2);
  },
);

t.test('cancelled (no approval route) or denied approvals get no fallback', async (t) => {
  const { gw, full, node } = await setup(t);
  const cancelled = await requestApproval(full, node.nodeId, { timeoutMs: 30_000 });
  t.equal(cancelled.decision, null, 'expired at once: no approval route');
  t.match((await run(full, node.nodeId, cancelled.id, 'c1')).error, { details: { code: 'APPROVAL_REQUIRED' } });

  const approver = (
    await connectOk(gw, {
      role: 'operator',
      clientId: 'gateway-client',
      mode: 'backend',
      identity: null,
      scopes: ['operator.approvals'],
    })
  ).client;
  const reqId = full.requestId('exec.approval.request', {
    host: 'node',
    nodeId: node.nodeId,
    systemRunPlan: PLAN,
    twoPhase: true,
    timeoutMs: 30_000,
  });
  const { payload } = await full.response(reqId);
  await approver.request('exec.approval.resolve', { id: payload.id, decision: 'deny' });
  t.match(await full.response(reqId), { payload: { decision: 'deny' } });
  t.match(
    (await run(full, node.nodeId, payload.id, 'c2')).error,
    { details: { code: 'APPROVAL_REQUIRED' } },
    'an explicit deny is final',
  );
  t.equal(node.invokes.length, 0);
});
