/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
import fs from 'node:fs';

import t from 'tap';

import {
  ALL_OPERATOR_SCOPES,
  approveAllNodes,
  connectOk,
  startFakeNode,
  startTestGateway,
  until,
  type Tap,
} from '../helpers/gateway.js';

const operatorOpts = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

async function setup(t: Tap, handler: Parameters<typeof startFakeNode>[1], gwOptions = {}) {
  const gw = await startTestGateway(t, gwOptions);
  const op = await connectOk(gw, operatorOpts);
  const node = await startFakeNode(gw, handler);
  await approveAllNodes(op.client);
  return { gw, op: op.client, node };
}

t.test('invoke round trip: operator → gateway → node → gateway → operator', async (t) => {
  const { op, node } = await setup(t, (command, params) => ({ ok: true, payload: { echoed: params, command } }));
  const res = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.which',
    params: { bins: ['sh'] },
    idempotencyKey: 'k1',
    timeoutMs: 5000,
  });
  t.match(res, {
    ok: true,
    payload: {
      ok: true,
      nodeId: node.nodeId,
      command: 'system.which',
      payload: { echoed: { bins: ['sh'] }, command: 'system.which' },
    },
  });
  t.equal(typeof res.payload.payloadJSON, 'string');
  const request = node.invokes[0];
  t.match(request, { id: String, nodeId: node.nodeId, command: 'system.which', timeoutMs: 5000, idempotencyKey: 'k1' });
  t.equal(typeof request.paramsJSON, 'string', 'params travel as a JSON string');

  // system.run gets a runId and only the forwardable keys.
  await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['echo', 'hi'], evil: 1, approved: undefined },
    idempotencyKey: 'k2',
  });
  const run = JSON.parse(node.invokes[1].paramsJSON);
  t.match(run, { command: ['echo', 'hi'], runId: String });
  t.notOk('evil' in run, 'unknown system.run keys are dropped');
});

t.test('node errors, list and describe', async (t) => {
  let nodeError = { code: 'SYSTEM_RUN_DENIED', message: 'SYSTEM_RUN_DISABLED: security=deny' };
  const { op, node } = await setup(t, () => ({ ok: false, error: nodeError }));
  const res = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['echo', 'hi'] },
    idempotencyKey: 'e1',
  });
  t.match(res.error, {
    code: 'UNAVAILABLE',
    message: 'SYSTEM_RUN_DENIED: SYSTEM_RUN_DISABLED: security=deny',
    details: {
      nodeError: { code: 'SYSTEM_RUN_DENIED', message: 'SYSTEM_RUN_DISABLED: security=deny' },
      nodeCommandDispatched: true,
    },
    retryable: false,
  });
  // An upstream node repeats its code in the message ("SYSTEM_RUN_DENIED: approval required"): shown once.
  nodeError = { code: 'SYSTEM_RUN_DENIED', message: 'SYSTEM_RUN_DENIED: approval required' };
  const doubled = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['echo', 'hi'] },
    idempotencyKey: 'e2',
  });
  t.match(doubled.error, {
    code: 'UNAVAILABLE',
    message: 'SYSTEM_RUN_DENIED: approval required',
    details: { nodeError: { code: 'SYSTEM_RUN_DENIED', message: 'SYSTEM_RUN_DENIED: approval required' } },
  });
  const list = await op.request('node.list', {});
  t.match(list.payload, {
    ts: Number,
    nodes: [{ nodeId: node.nodeId, connected: true, paired: true, platform: 'linux', caps: ['system'] }],
  });
  t.same(
    list.payload.nodes[0].commands,
    ['system.execApprovals.get', 'system.execApprovals.set', 'system.run', 'system.run.prepare', 'system.which'],
    'file.write withheld',
  );
  const described = await op.request('node.describe', { nodeId: node.nodeId });
  t.match(described.payload, { nodeId: node.nodeId, connected: true });
  const unknown = await op.request('node.describe', { nodeId: 'nope' });
  t.match(unknown.error, { code: 'INVALID_REQUEST', message: 'unknown nodeId' });
});

t.test('timeout, then the late result is ignored', async (t) => {
  const held: any[] = [];
  const { op, node } = await setup(t, (_c, _p, request) => (held.push(request), 'ignore'));
  const res = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.which',
    params: { bins: [] },
    idempotencyKey: 't1',
    timeoutMs: 200,
  });
  t.match(res.error, {
    code: 'UNAVAILABLE',
    message: 'TIMEOUT: node invoke timed out',
    details: { nodeError: { code: 'TIMEOUT' } },
  });
  // After a stalled event loop the timeout can reach the operator before the request reaches the node.
  await until(() => held.length === 1);
  const late = await node.client.request('node.invoke.result', {
    id: held[0].id,
    nodeId: node.nodeId,
    ok: true,
    payloadJSON: '{}',
  });
  t.match(late, { ok: true, payload: { ok: true, ignored: true } });
  const unknownId = await node.client.request('node.invoke.result', {
    id: 'never-issued',
    nodeId: node.nodeId,
    ok: true,
    payloadJSON: null,
    error: null,
  });
  t.match(unknownId.payload, { ok: true, ignored: true }, 'null payloadJSON/error are normalised away');
  const mismatch = await node.client.request('node.invoke.result', {
    id: held[0].id,
    nodeId: 'someone-else',
    ok: true,
  });
  t.match(mismatch.error, { code: 'INVALID_REQUEST', message: 'nodeId mismatch' });
});

t.test('node disconnect mid-invoke fails the pending invoke at once', async (t) => {
  let sawRequest!: () => void;
  const requested = new Promise<void>((resolve) => {
    sawRequest = resolve;
  });
  const { gw, op, node } = await setup(t, () => (sawRequest(), 'ignore'));
  const started = Date.now();
  const pending = op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['sleep', '100'] },
    idempotencyKey: 'd1',
    timeoutMs: 60_000,
  });
  await requested;
  node.client.ws.terminate();
  const res = await pending;
  t.match(res.error, { code: 'UNAVAILABLE', message: 'node disconnected (system.run)' });
  t.ok(Date.now() - started < 30_000, 'well before the 60 s timeout');
  const after = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.run',
    params: { command: ['x'] },
    idempotencyKey: 'd2',
  });
  t.match(after.error, { code: 'UNAVAILABLE', message: 'node not connected', details: { code: 'NOT_CONNECTED' } });
  t.equal(gw.nodes.list().length, 0);
});

t.test('command gating: undeclared, not allowlisted, execApprovals via node.invoke, unapproved node', async (t) => {
  const gw = await startTestGateway(t);
  const op = (await connectOk(gw, operatorOpts)).client;
  const node = await startFakeNode(gw, () => ({ ok: true, payload: {} }), {
    commands: ['system.run', 'system.which', 'file.write', 'camera.snap'],
  });

  const unapproved = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.which',
    params: {},
    idempotencyKey: 'g0',
  });
  t.match(
    unapproved.error,
    { code: 'INVALID_REQUEST', details: { reason: 'command not approved', requestId: String } },
    'gated until node pairing is approved',
  );
  const inventory = await node.client.request('node.runnerInventory.update', {
    protocolFeatures: ['node-worker-supervisor-v6'],
    workerHost: { enabled: false },
  });
  t.match(inventory.error, {
    code: 'UNAVAILABLE',
    message:
      /^node capability surface is awaiting operator approval; run `openclaw nodes approve [0-9a-f-]+` \(see `openclaw nodes pending`\), then this node retries automatically$/,
  });

  const resolvedEvent = node.client.event('node.pair.resolved');
  await approveAllNodes(op);
  t.match((await resolvedEvent).payload, { nodeId: node.nodeId, decision: 'approved', requestId: String });
  t.notOk(
    'seq' in (node.client.frames.find((f) => f.event === 'node.pair.resolved') ?? {}),
    'targeted event has no seq',
  );
  t.match(await node.client.request('node.runnerInventory.update', { protocolFeatures: [] }), {
    ok: true,
    payload: { nodeId: node.nodeId },
  });

  const notify = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.notify',
    params: {},
    idempotencyKey: 'g1',
  });
  t.match(notify.error, {
    code: 'INVALID_REQUEST',
    message: 'node command not allowed: the node (platform: linux) does not support "system.notify"',
    details: { reason: 'command not declared by node', command: 'system.notify' },
  });
  const snap = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'camera.snap',
    params: {},
    idempotencyKey: 'g2',
  });
  t.match(snap.error, { details: { reason: 'command not allowlisted' } }, 'dangerous commands are opt-in');
  const write = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'file.write',
    params: {},
    idempotencyKey: 'g3',
  });
  t.match(write.error, { details: { reason: 'command not allowlisted' } });
  const approvals = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.execApprovals.get',
    params: {},
    idempotencyKey: 'g4',
  });
  t.match(approvals.error, { code: 'INVALID_REQUEST', message: /use exec\.approvals\.node\.\*/ });
  t.equal(node.invokes.length, 0, 'nothing reached the node');
});

t.test('idempotency: same key → same result and a single execution; different params → error', async (t) => {
  let executions = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { op, node } = await setup(t, async () => {
    executions++;
    await gate;
    return { ok: true, payload: { n: executions } };
  });
  const params = { nodeId: node.nodeId, command: 'system.run', params: { command: ['date'] }, idempotencyKey: 'same' };
  const first = op.request('node.invoke', params);
  const second = op.request('node.invoke', params);
  await node.client.event('node.invoke.request');
  release();
  const [a, b] = await Promise.all([first, second]);
  t.same(a.payload, b.payload, 'identical results');
  const third = await op.request('node.invoke', params);
  t.same(third.payload, a.payload, 'a later retry gets the remembered result');
  t.equal(executions, 1, 'the node ran it once');
  const other = await op.request('node.invoke', { ...params, params: { command: ['rm', '-rf', '/'] } });
  t.match(other.error, { code: 'INVALID_REQUEST', message: /idempotencyKey was already used/ });
  t.equal(executions, 1);
});

t.test('a newer connection of the same node replaces the old one', async (t) => {
  const gw = await startTestGateway(t);
  const first = await startFakeNode(gw, () => ({ ok: true, payload: 'first' }));
  const second = await startFakeNode(gw, () => ({ ok: true, payload: 'second' }), { identity: first.identity });
  t.match(await first.client.closed, { code: 1000 });
  t.equal(gw.nodes.list().length, 1);
  const op = (await connectOk(gw, operatorOpts)).client;
  await approveAllNodes(op);
  const res = await op.request('node.invoke', {
    nodeId: second.nodeId,
    command: 'system.which',
    params: {},
    idempotencyKey: 'r1',
  });
  t.equal(res.payload.payload, 'second', 'invokes go to the newer connection');
});

t.test('replays the c2s requests of the real 2026.9.6 node host and answers like §12', async (t) => {
  const gw = await startTestGateway(t);
  const op = (await connectOk(gw, operatorOpts)).client;
  const records = fs
    .readFileSync(new URL('../fixtures/openclaw-2026.9.6-frames.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const connect = records.find((r: any) => r.dir === 'c2s' && r.frame.method === 'connect').frame.params;
  const capturedHello = records.find((r: any) => r.dir === 's2c' && r.frame.payload?.type === 'hello-ok').frame.payload;
  const node = await startFakeNode(gw, () => ({ ok: true, payload: {} }), {
    commands: connect.commands,
    caps: connect.caps,
    displayName: connect.client.displayName,
  });
  const hello = node.res.payload;
  for (const key of Object.keys(capturedHello)) if (key !== 'canvasHostUrl') t.ok(key in hello, `hello-ok has ${key}`);
  for (const key of ['maxPayload', 'maxBufferedBytes', 'tickIntervalMs'])
    t.equal(hello.policy[key], capturedHello.policy[key], `policy.${key}`);
  t.same(Object.keys(hello.auth).sort(), Object.keys(capturedHello.auth).sort(), 'auth has the captured keys');

  const answers: Record<string, any> = {};
  for (const record of records) {
    if (record.dir !== 'c2s' || record.frame.method === 'connect' || record.frame.method === 'node.invoke.result')
      continue;
    const frame = record.frame;
    answers[frame.method] = await node.client.request(frame.method, frame.params);
  }
  t.match(answers['node.event'], { ok: true, payload: { ok: true } });
  t.match(answers['node.skills.update'], { ok: true, payload: { nodeId: node.nodeId, skills: [] } });
  t.match(answers['node.pluginTools.update'], { ok: true, payload: { nodeId: node.nodeId, tools: [] } });
  t.match(
    answers['node.runnerInventory.update'],
    { ok: false, error: { code: 'UNAVAILABLE' } },
    'gated before node pairing',
  );
  await approveAllNodes(op);
  t.match(
    await node.client.request(
      'node.runnerInventory.update',
      connect.caps && { protocolFeatures: ['node-worker-supervisor-v6'], workerHost: { enabled: false } },
    ),
    { ok: true },
  );
  const described = await op.request('node.describe', { nodeId: node.nodeId });
  t.same(
    described.payload.commands,
    [
      'browser.proxy',
      'browser.proxy.upload.v1',
      'desktop.stream',
      'fs.listDir',
      'mcp.tools.call.v1',
      'ollama.chat',
      'ollama.models',
      'system.execApprovals.get',
      'system.execApprovals.set',
      'system.run',
      'system.run.prepare',
      'system.which',
      'terminal.upload',
    ],
    'the 13 commands 2026.9.6 approved; the 8 file/workspace ones withheld',
  );
});

t.test('tick reaches nodes with a seq', async (t) => {
  const gw = await startTestGateway(t, { tickIntervalMs: 50 });
  const node = await startFakeNode(gw, () => ({ ok: true }));
  const tick = await node.client.event('tick');
  t.match(tick, { payload: { ts: Number }, seq: Number });
});

t.test('idempotency byte bound: a result sent as a payload value is measured by its JSON size', async (t) => {
  const held: any[] = [];
  const { op, node } = await setup(t, (_c, _p, request) => (held.push(request), 'ignore'), {
    idempotency: { maxBytes: 100_000 },
  });
  const answer = async (key: string, payload: unknown): Promise<any> => {
    const pending = op.request('node.invoke', {
      nodeId: node.nodeId,
      command: 'system.which',
      params: { bins: ['sh'] },
      idempotencyKey: key,
      timeoutMs: 10_000,
    });
    const count = held.length;
    await until(() => held.length > count);
    // A value, not payloadJSON text: the form upstream nodes may also send.
    const ack = await node.client.request('node.invoke.result', {
      id: held[held.length - 1].id,
      nodeId: node.nodeId,
      ok: true,
      payload,
    });
    t.match(ack, { ok: true, payload: { ok: true } });
    return pending;
  };
  const small = await answer('small', { n: 1 });
  t.match(small.payload, { ok: true, payload: { n: 1 } });
  const smallAgain = await op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.which',
    params: { bins: ['sh'] },
    idempotencyKey: 'small',
    timeoutMs: 10_000,
  });
  t.same(smallAgain.payload, small.payload, 'a small value is remembered');
  t.equal(held.length, 1, 'and not run again');

  const big = { blob: 'x'.repeat(80_000) }; // 160 kB as UTF-16: above the 100 kB budget
  const first = await answer('big', big);
  t.equal(first.payload.payload.blob.length, 80_000);
  // Remembered (the bug), the retry answers from the cache and the node never sees it.
  const retry = op.request('node.invoke', {
    nodeId: node.nodeId,
    command: 'system.which',
    params: { bins: ['sh'] },
    idempotencyKey: 'big',
    timeoutMs: 10_000,
  });
  const reached = await Promise.race([until(() => held.length === 3).then(() => true), retry.then(() => false)]);
  t.ok(reached, 'the oversized value was not kept: the retry reached the node again');
  if (reached)
    await node.client.request('node.invoke.result', { id: held[2].id, nodeId: node.nodeId, ok: true, payload: big });
  t.equal((await retry).payload.payload.blob.length, 80_000);
});
