// exec.approval.grants.list|revoke: allow-always approvals are standing grants that an approvals
// operator can list (with usage) and revoke before they expire; a revoked grant no longer runs.
import t from 'tap';

import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  startFakeNode,
  startTestGateway,
} from '../helpers/gateway.js';
import type { RawClient } from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};
const PLAN = {
  argv: ['/usr/bin/echo', 'granted'],
  cwd: '/srv',
  commandText: '/usr/bin/echo granted',
  commandPreview: null,
  agentId: 'main',
  sessionKey: null,
};

async function approve(requester: RawClient, approver: RawClient, nodeId: string, decision: string): Promise<string> {
  const reqId = requester.requestId('exec.approval.request', {
    host: 'node',
    nodeId,
    systemRunPlan: PLAN,
    twoPhase: true,
    timeoutMs: 30_000,
  });
  const { payload } = await requester.response(reqId);
  t.match(await approver.request('exec.approval.resolve', { id: payload.id, decision }), { ok: true });
  await requester.response(reqId);
  return payload.id as string;
}

t.test('list with usage, revoke (idempotent), revoked grants stop running; scopes and bad params', async (t) => {
  const gw = await startTestGateway(t);
  const requester = (await connectOk(gw, backend)).client;
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  const node = await startFakeNode(gw, () => ({ ok: true as const, payload: { ran: true } }));
  await approveAllNodes(requester);
  const runParams = (runId: string, approvalDecision = 'allow-always') => ({
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: PLAN.argv, runId, approved: true, approvalDecision },
  });

  t.same((await approver.request('exec.approval.grants.list', {})).payload, { grants: [] }, 'none yet');
  const grantId = await approve(requester, approver, node.nodeId, 'allow-always');
  const onceId = await approve(requester, approver, node.nodeId, 'allow-once');
  t.equal((await requester.request('node.invoke', { ...runParams(grantId), idempotencyKey: 'g1' })).ok, true);
  t.equal((await requester.request('node.invoke', { ...runParams(grantId), idempotencyKey: 'g2' })).ok, true);

  const listed = (await approver.request('exec.approval.grants.list', {})).payload.grants;
  t.equal(listed.length, 1, 'allow-once approvals are not grants');
  t.match(listed[0], {
    grantId,
    mintedByApprovalId: grantId,
    agentId: 'main',
    cronJobId: null,
    cronJobName: null,
    command: '/usr/bin/echo granted',
    cwd: '/srv',
    createdAtMs: Number,
    expiresAtMs: Number,
    revokedAtMs: null,
    revokedBy: null,
    lastUsedAtMs: Number,
    useCount: 2,
  });
  t.equal(listed[0].expiresAtMs - listed[0].createdAtMs <= 30 * 60_000, true, 'expires with the 30 min approval TTL');

  const writer = (await connectOk(gw, { ...backend, scopes: ['operator.write'] })).client;
  t.match(await writer.request('exec.approval.grants.list', {}), {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: 'missing scope: operator.approvals' },
  });
  t.match(
    await approver.request('exec.approval.grants.revoke', {}),
    { ok: false, error: { code: 'INVALID_REQUEST' } },
    'grantId required',
  );
  t.match(await approver.request('exec.approval.grants.list', { limit: 0 }), {
    ok: false,
    error: { code: 'INVALID_REQUEST' },
  });

  t.same((await approver.request('exec.approval.grants.revoke', { grantId })).payload, { outcome: 'revoked' });
  t.same((await approver.request('exec.approval.grants.revoke', { grantId })).payload, { outcome: 'already-revoked' });
  t.same(
    (await approver.request('exec.approval.grants.revoke', { grantId: onceId })).payload,
    { outcome: 'not-found' },
    'an allow-once approval is no grant',
  );
  t.same((await approver.request('exec.approval.grants.revoke', { grantId: 'nope' })).payload, {
    outcome: 'not-found',
  });
  t.match(
    (await approver.request('exec.approval.grants.list', { limit: 5 })).payload.grants,
    [{ grantId, revokedAtMs: Number, revokedBy: 'test-operator', useCount: 2 }],
    'still listed, as revoked, with who revoked it',
  );

  t.match((await requester.request('node.invoke', { ...runParams(grantId), idempotencyKey: 'g3' })).error, {
    code: 'INVALID_REQUEST',
    message: 'approval required',
    details: { code: 'APPROVAL_REQUIRED', runId: grantId, reason: 'grant-revoked' },
  });
  t.equal(node.invokes.length, 2, 'the revoked grant ran nothing more');
  t.equal(
    (await requester.request('node.invoke', { ...runParams(onceId, 'allow-once'), idempotencyKey: 'g4' })).ok,
    true,
    'other approvals unaffected',
  );
});
