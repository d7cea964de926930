/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
import t from 'tap';

import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  startFakeNode,
  startTestGateway,
  type Tap,
} from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};
const PLAN = {
  argv: ['/usr/bin/echo', 'approved'],
  cwd: '/tmp',
  commandText: '/usr/bin/echo approved',
  commandPreview: null,
  agentId: 'main',
  sessionKey: null,
  policySnapshot: { security: 'allowlist', ask: 'always' },
};

/** A node that prepares a fixed plan and "runs" by echoing what it was sent. */
function planNode(command: string, params: any) {
  if (command === 'system.run.prepare')
    return { ok: true as const, payload: { plan: PLAN, execPolicy: { security: 'allowlist', ask: 'always' } } };
  if (command === 'system.run')
    return { ok: true as const, payload: { exitCode: 0, stdout: 'approved\n', received: params } };
  return { ok: false as const, error: { code: 'UNAVAILABLE', message: 'command not supported' } };
}

async function setup(t: Tap, pending?: PendingApprovals) {
  const gw = await startTestGateway(t, pending ? { pending } : {});
  const requester = (await connectOk(gw, backend)).client;
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  const node = await startFakeNode(gw, planNode);
  await approveAllNodes(requester);
  return { gw, requester, approver, node };
}

t.test('approval flow end to end: prepare → request (two-phase) → resolve → approved system.run, once', async (t) => {
  const { gw, requester, approver, node } = await setup(t);
  const prepared = await requester.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run.prepare',
    params: { command: ['echo', 'approved'], agentId: 'main' },
    idempotencyKey: 'p1',
  });
  const plan = prepared.payload.payload.plan;
  t.same(plan.argv, PLAN.argv);

  const requestedEvent = approver.event('exec.approval.requested');
  const reqId = requester.requestId('exec.approval.request', {
    host: 'node',
    nodeId: node.nodeId,
    systemRunPlan: plan,
    commandArgv: ['echo', 'approved'],
    agentId: 'main',
    twoPhase: true,
    timeoutMs: 30_000,
  });
  const accepted = await requester.response(reqId);
  t.match(accepted, {
    ok: true,
    payload: { status: 'accepted', id: String, deliveryRoute: 'operators', createdAtMs: Number, expiresAtMs: Number },
  });
  const id = accepted.payload.id as string;
  const requested = await requestedEvent;
  t.match(requested, {
    payload: { id, request: { host: 'node', nodeId: node.nodeId, systemRunPlan: { argv: PLAN.argv } } },
    seq: Number,
  });

  const listed = await approver.request('exec.approval.list', {});
  t.ok(
    listed.payload.some((a: any) => a.id === id && a.approvalKind === 'exec'),
    'listed while pending',
  );
  t.match((await approver.request('exec.approval.get', { id })).payload, { id, status: 'pending' });

  const early = await requester.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: {
      command: ['echo', 'approved'],
      agentId: 'main',
      runId: id,
      approved: true,
      approvalDecision: 'allow-once',
    },
    idempotencyKey: 'r0',
  });
  t.match(
    early.error,
    { code: 'INVALID_REQUEST', message: 'approval required', details: { code: 'APPROVAL_REQUIRED', runId: id } },
    'no run before the decision',
  );

  const other = await approver.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['echo', 'approved'], runId: id, approved: true },
    idempotencyKey: 'r-other',
  });
  t.match(other.error, { message: 'missing scope: operator.write' }, 'the approver cannot run');

  const waiter = approver.request('exec.approval.waitDecision', { id, timeoutMs: 20_000 });
  const resolvedEvent = approver.event('exec.approval.resolved');
  const final = requester.response(reqId);
  t.match(await approver.request('exec.approval.resolve', { id, decision: 'allow-once' }), {
    ok: true,
    payload: { ok: true },
  });
  t.match(
    await final,
    { ok: true, payload: { id, decision: 'allow-once', createdAtMs: Number, expiresAtMs: Number } },
    'second response of the two-phase request',
  );
  t.match((await resolvedEvent).payload, { id, decision: 'allow-once' });
  t.match((await waiter).payload, { id, decision: 'allow-once' });
  t.match(await approver.request('exec.approval.resolve', { id, decision: 'deny' }), {
    ok: false,
    error: { message: 'approval already resolved' },
  });

  const mismatch = await requester.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['echo', 'other'], runId: id, approved: true, approvalDecision: 'allow-once' },
    idempotencyKey: 'r1',
  });
  t.match(mismatch.error, { code: 'INVALID_REQUEST', details: { code: 'APPROVAL_REQUEST_MISMATCH', field: 'argv' } });

  const run = await requester.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: {
      command: ['echo', 'approved'],
      agentId: 'main',
      runId: id,
      approved: true,
      approvalDecision: 'allow-once',
    },
    idempotencyKey: 'r2',
  });
  t.equal(run.ok, true, 'approved run goes through');
  const received = run.payload.payload.received;
  t.match(
    received,
    {
      command: PLAN.argv,
      rawCommand: PLAN.commandText,
      cwd: '/tmp',
      runId: id,
      approved: true,
      approvalDecision: 'allow-once',
      systemRunPlan: { argv: PLAN.argv },
    },
    'forwarded from the plan',
  );

  const again = await requester.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['echo', 'approved'], runId: id, approved: true, approvalDecision: 'allow-once' },
    idempotencyKey: 'r3',
  });
  t.match(again.error, { details: { code: 'UNKNOWN_APPROVAL_ID' } }, 'allow-once is usable once');
  t.equal(node.invokes.filter((i) => i.command === 'system.run').length, 1, 'the node ran exactly one system.run');
  t.ok(gw);
});

t.test('approval binding: other client, other node, deny, missing runId, forged approved flag', async (t) => {
  const { gw, requester, approver, node } = await setup(t);
  const second = await startFakeNode(gw, planNode);
  await approveAllNodes(requester);
  const ask = async (decision: 'allow-once' | 'allow-always' | 'deny') => {
    const reqId = requester.requestId('exec.approval.request', {
      host: 'node',
      nodeId: node.nodeId,
      systemRunPlan: PLAN,
      twoPhase: true,
    });
    const { payload } = await requester.response(reqId);
    await approver.request('exec.approval.resolve', { id: payload.id, decision });
    await requester.response(reqId);
    return payload.id as string;
  };
  const runParams = (id: string) => ({
    command: PLAN.argv,
    runId: id,
    approved: true,
    approvalDecision: 'allow-always',
  });

  const always = await ask('allow-always');
  const otherClient = (await connectOk(gw, backend)).client;
  t.match(
    (
      await otherClient.request('node.invoke', {
        nodeId: node.nodeId,
        command: 'system.run',
        params: runParams(always),
        idempotencyKey: 'c1',
      })
    ).error,
    { details: { code: 'APPROVAL_CLIENT_MISMATCH' } },
  );
  t.match(
    (
      await requester.request('node.invoke', {
        nodeId: second.nodeId,
        command: 'system.run',
        params: runParams(always),
        idempotencyKey: 'c2',
      })
    ).error,
    { details: { code: 'APPROVAL_NODE_MISMATCH' } },
  );
  t.equal(
    (
      await requester.request('node.invoke', {
        nodeId: node.nodeId,
        command: 'system.run',
        params: runParams(always),
        idempotencyKey: 'c3',
      })
    ).ok,
    true,
  );
  t.equal(
    (
      await requester.request('node.invoke', {
        nodeId: node.nodeId,
        command: 'system.run',
        params: runParams(always),
        idempotencyKey: 'c4',
      })
    ).ok,
    true,
    'allow-always is reusable',
  );

  const denied = await ask('deny');
  t.match(
    (
      await requester.request('node.invoke', {
        nodeId: node.nodeId,
        command: 'system.run',
        params: runParams(denied),
        idempotencyKey: 'c5',
      })
    ).error,
    { message: 'approval required', details: { code: 'APPROVAL_REQUIRED', runId: denied } },
  );
  t.match(
    (
      await requester.request('node.invoke', {
        nodeId: node.nodeId,
        command: 'system.run',
        params: { command: PLAN.argv, approved: true },
        idempotencyKey: 'c6',
      })
    ).error,
    { details: { code: 'MISSING_RUN_ID' } },
  );
  t.match(
    (
      await requester.request('node.invoke', {
        nodeId: node.nodeId,
        command: 'system.run',
        params: { command: PLAN.argv, runId: 'made-up', approved: true },
        idempotencyKey: 'c7',
      })
    ).error,
    { details: { code: 'UNKNOWN_APPROVAL_ID' } },
  );

  // Without an approval claim, a caller-supplied plan is not forwarded and approved is never set.
  const plain = await requester.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['id'], systemRunPlan: PLAN },
    idempotencyKey: 'c8',
  });
  t.notOk('approved' in plain.payload.payload.received);
  t.notOk('systemRunPlan' in plain.payload.payload.received);

  t.match(await approver.request('exec.approval.resolve', { id: 'nope', decision: 'deny' }), {
    ok: false,
    error: { code: 'APPROVAL_NOT_FOUND', message: 'unknown or expired approval id' },
  });
  t.match(
    await requester.request('exec.approval.request', { host: 'node', nodeId: node.nodeId, twoPhase: true }),
    { ok: false, error: { code: 'INVALID_REQUEST' } },
    'host=node needs a plan',
  );
});

t.test('a device-bound approval may be used from another connection of the same device', async (t) => {
  const gw = await startTestGateway(t);
  const identity = generateDeviceIdentity();
  const dev = {
    role: 'operator' as const,
    clientId: 'gateway-client',
    mode: 'backend',
    identity,
    scopes: ALL_OPERATOR_SCOPES,
  };
  const a = (await connectOk(gw, dev)).client;
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  const node = await startFakeNode(gw, planNode);
  await approveAllNodes(a);
  const reqId = a.requestId('exec.approval.request', {
    host: 'node',
    nodeId: node.nodeId,
    systemRunPlan: PLAN,
    twoPhase: true,
  });
  const { payload } = await a.response(reqId);
  await approver.request('exec.approval.resolve', { id: payload.id, decision: 'allow-once' });
  await a.response(reqId);
  const b = (await connectOk(gw, dev)).client;
  const stranger = (await connectOk(gw, { ...dev, identity: generateDeviceIdentity() })).client;
  const params = {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: PLAN.argv, runId: payload.id, approved: true, approvalDecision: 'allow-once' },
  };
  t.match((await stranger.request('node.invoke', { ...params, idempotencyKey: 'x1' })).error, {
    details: { code: 'APPROVAL_DEVICE_MISMATCH' },
  });
  t.equal((await b.request('node.invoke', { ...params, idempotencyKey: 'x2' })).ok, true);
});

t.test('no approval route: the request expires at once unless requireDeliveryRoute is false', async (t) => {
  const gw = await startTestGateway(t);
  const alone = (await connectOk(gw, backend)).client;
  const node = await startFakeNode(gw, planNode);
  await approveAllNodes(alone);
  const res = await alone.request('exec.approval.request', { host: 'node', nodeId: node.nodeId, systemRunPlan: PLAN });
  t.match(res.payload, { id: String, decision: null }, 'single-phase answer with decision null');
  const reqId = alone.requestId('exec.approval.request', {
    host: 'node',
    nodeId: node.nodeId,
    systemRunPlan: PLAN,
    twoPhase: true,
    requireDeliveryRoute: false,
    timeoutMs: 60_000,
  });
  const accepted = await alone.response(reqId);
  t.match(accepted.payload, { status: 'accepted', deliveryRoute: 'none' });
  t.match(
    (await alone.request('exec.approval.get', { id: accepted.payload.id })).payload,
    { status: 'pending' },
    'still pending without a route',
  );
  // Closing a device-less requester drops its pending approval.
  const resolved = gw.pending.listenerCount('resolved');
  t.ok(resolved > 0);
  const outcome = new Promise((resolve) => gw.pending.once('resolved', resolve));
  alone.close();
  t.match(await outcome, { id: accepted.payload.id, decision: null, reason: 'cancelled' });
});

t.test('approvals raised by the local exec host are listed and resolvable through the gateway', async (t) => {
  const pending = new PendingApprovals();
  const gw = await startTestGateway(t, { pending });
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  const requested = approver.event('exec.approval.requested');
  const local = pending.add(
    { host: 'gateway', command: 'ls -la', commandArgv: ['ls', '-la'], cwd: '/tmp' },
    { timeoutMs: 30_000 },
  );
  t.match((await requested).payload, { id: local.id, request: { command: 'ls -la' } });
  const list = await approver.request('exec.approval.list', {});
  t.match(list.payload, [{ id: local.id, request: { command: 'ls -la' }, approvalKind: 'exec' }]);
  t.match(await approver.request('exec.approval.resolve', { id: local.id, decision: 'allow-always' }), { ok: true });
  t.match(await local.outcome, { id: local.id, decision: 'allow-always', reason: 'decided' });
  t.equal(pending.size, 0);
});

t.test('approval events reach read-only operators too; only operator.approvals may answer', async (t) => {
  const gw = await startTestGateway(t);
  const reader = (await connectOk(gw, { ...backend, scopes: ['operator.read'] })).client;
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  const writer = (await connectOk(gw, { ...backend, scopes: ['operator.pairing'] })).client;
  const got = approver.event('exec.approval.requested');
  const seen = reader.event('exec.approval.requested');
  const entry = gw.pending.add({ command: 'true' }, { timeoutMs: 30_000 });
  t.equal((await got).payload.id, entry.id);
  t.equal((await seen).payload.id, entry.id, 'operator.read sees the request (the control page shows it read-only)');
  t.match((await reader.request('exec.approval.list', {})).payload, [{ id: entry.id }]);
  t.match((await reader.request('exec.approval.get', { id: entry.id })).payload, { id: entry.id, status: 'pending' });
  t.match((await reader.request('exec.approval.resolve', { id: entry.id, decision: 'allow-once' })).error, {
    message: 'missing scope: operator.approvals',
  });
  t.equal(gw.pending.size, 1, 'a read-only operator cannot answer');
  // Frames on one socket are ordered: had the broadcast gone to this operator, it would precede this response.
  t.match((await writer.request('exec.approval.list', {})).error, { message: 'missing scope: operator.approvals' });
  t.equal(writer.frames.filter((f) => f.event === 'exec.approval.requested').length, 0, 'no read, no approvals: none');
});

t.test('exec.approval.get: upstream view fields, a unique id prefix, an ambiguous one, escaped controls', async (t) => {
  const { requester, approver, node } = await setup(t);
  const ask = async (id: string, params: Record<string, unknown>): Promise<void> => {
    const reqId = requester.requestId('exec.approval.request', { id, twoPhase: true, timeoutMs: 60_000, ...params });
    t.match(await requester.response(reqId), { ok: true, payload: { status: 'accepted', id } });
  };
  const ESC = String.fromCharCode(27);
  await ask('appr-alpha-1', { host: 'gateway', command: `/usr/bin/echo ${ESC}[2Khidden`, agentId: 'main' });
  await ask('appr-alpha-2', { host: 'node', nodeId: node.nodeId, systemRunPlan: PLAN });
  await ask('appr-beta-1', { host: 'node', nodeId: node.nodeId, systemRunPlan: PLAN });

  const exact = await approver.request('exec.approval.get', { id: 'appr-alpha-1' });
  t.match(exact.payload, {
    id: 'appr-alpha-1',
    commandText: '/usr/bin/echo \\x1b[2Khidden',
    commandPreview: null,
    allowedDecisions: ['allow-once', 'allow-always', 'deny'],
    host: 'gateway',
    nodeId: null,
    agentId: 'main',
    expiresAtMs: Number,
    status: 'pending',
  });
  t.notOk(String(exact.payload.commandText).includes(ESC), 'no raw escape character reaches a display');
  const byPrefix = await approver.request('exec.approval.get', { id: 'APPR-BETA' });
  t.match(byPrefix.payload, {
    id: 'appr-beta-1',
    commandText: PLAN.commandText,
    commandPreview: null,
    host: 'node',
    nodeId: node.nodeId,
    agentId: 'main',
  });
  t.match(await approver.request('exec.approval.get', { id: 'appr-alpha' }), {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: 'ambiguous approval id prefix; use the full id' },
  });
  t.match(await approver.request('exec.approval.get', { id: 'nope' }), {
    ok: false,
    error: { code: 'APPROVAL_NOT_FOUND' },
  });
});

t.test('approval.get / approval.resolve (what `openclaw approvals resolve` calls): upstream snapshot', async (t) => {
  const gw = await startTestGateway(t);
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  const reader = (await connectOk(gw, { ...backend, scopes: ['operator.read'] })).client;
  const entry = gw.pending.add({ host: 'gateway', command: 'true' }, { timeoutMs: 30_000 });
  t.match((await approver.request('approval.get', { id: entry.id })).payload, {
    approval: {
      id: entry.id,
      status: 'pending',
      presentation: { kind: 'exec', allowedDecisions: ['allow-once', 'allow-always', 'deny'] },
    },
  });
  t.match(await approver.request('approval.get', { id: entry.id.slice(0, 6) }), {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: 'approval not found', details: { reason: 'APPROVAL_NOT_FOUND' } },
  });
  t.match(await approver.request('approval.get', { id: 1 }), { ok: false, error: { message: /invalid approval.get/ } });
  t.match(await reader.request('approval.resolve', { id: entry.id, kind: 'exec', decision: 'deny' }), {
    ok: false,
    error: { message: 'missing scope: operator.approvals' },
  });
  t.match(await approver.request('approval.resolve', { id: entry.id, kind: 'plugin', decision: 'deny' }), {
    ok: false,
    error: { message: 'approval not found' },
  });
  t.equal(gw.pending.size, 1, 'a wrong kind resolves nothing');
  const resolved = await approver.request('approval.resolve', { id: entry.id, kind: 'exec', decision: 'allow-once' });
  t.match(resolved.payload, {
    applied: true,
    approval: { id: entry.id, status: 'resolved', decision: 'allow-once', resolver: { kind: 'device' } },
  });
  t.match(await entry.outcome, { decision: 'allow-once' });
  // A local exec-host approval keeps no record once decided: a second resolve finds nothing to apply.
  t.match(await approver.request('approval.resolve', { id: entry.id, kind: 'exec', decision: 'allow-once' }), {
    ok: false,
    error: { message: 'approval not found' },
  });
  t.match(await approver.request('approval.resolve', { id: 'no-such-id', kind: 'exec', decision: 'deny' }), {
    ok: false,
    error: { message: 'approval not found' },
  });
});
