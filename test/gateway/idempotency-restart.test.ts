/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// The idempotency cache survives a Gateway restart (clean close and kill -9): a node.invoke retried
// with the same key returns the stored result and the node is not asked again.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { startGateway, type GatewayHandle } from '../../lib/gateway/index.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  CLI_GATEWAY_TOKEN,
  approveAllNodes,
  connectOk,
  spawnCliGateway,
  startFakeNode,
  startTestGateway,
  tempStateDir,
  until,
  type InvokeHandler,
} from '../helpers/gateway.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};
const mode = (p: string) => fs.statSync(p).mode & 0o777;
const cacheFile = (stateDir: string) => path.join(stateDir, 'gateway', 'idempotency.json');

/** A node that counts its runs; `system.which` fails with a node error; `hang` is never answered. */
function countingNode() {
  let runs = 0;
  const handler: InvokeHandler = (command, params) => {
    if (command === 'system.which') return { ok: false, error: { code: 'INVALID_REQUEST', message: 'no such binary' } };
    if (params?.command?.[0] === 'hang') return 'ignore';
    runs++;
    return { ok: true, payload: { runs } };
  };
  return { handler, runs: () => runs };
}

async function nodeAndOperator(gw: GatewayHandle, handler: InvokeHandler, identity = generateDeviceIdentity()) {
  const op = (await connectOk(gw, backend)).client;
  const node = await startFakeNode(gw, handler, { identity });
  await approveAllNodes(op);
  return { op, node };
}

const invoke = (
  nodeId: string,
  key: string,
  command = 'system.run',
  params: unknown = { command: ['echo', 'hi'] },
) => ({ nodeId, command, params, idempotencyKey: key });

t.test(
  'after a clean restart a retried key returns the stored result (success and node error); the node is not asked again',
  async (t) => {
    const stateDir = tempStateDir(t);
    const identity = generateDeviceIdentity();
    const counter = countingNode();
    const gw1 = await startGateway({ port: 0, stateDir, token: 'restart-token-0123456789', env: {} });
    const one = await nodeAndOperator(gw1, counter.handler, identity);
    const first = await one.op.request('node.invoke', invoke(one.node.nodeId, 'same'));
    t.match(first, { ok: true, payload: { payload: { runs: 1 } } });
    const failed = await one.op.request('node.invoke', invoke(one.node.nodeId, 'err', 'system.which', { bin: 'x' }));
    t.match(failed, {
      ok: false,
      error: { code: 'UNAVAILABLE', details: { nodeError: { code: 'INVALID_REQUEST', message: 'no such binary' } } },
    });
    await gw1.close();

    t.equal(mode(cacheFile(stateDir)), 0o600, 'cache file 0600');
    t.equal(mode(path.dirname(cacheFile(stateDir))), 0o700, 'its directory 0700');

    const gw2 = await startGateway({ port: 0, stateDir, token: 'restart-token-0123456789', env: {} });
    t.teardown(() => gw2.close());
    const op = (await connectOk(gw2, backend)).client;
    const node = await startFakeNode(gw2, counter.handler, { identity });
    t.same((await op.request('node.invoke', invoke(node.nodeId, 'same'))).payload, first.payload, 'the stored result');
    t.same(
      (await op.request('node.invoke', invoke(node.nodeId, 'err', 'system.which', { bin: 'x' }))).error,
      failed.error,
      'the stored node error',
    );
    t.equal(node.invokes.length, 0, 'nothing reached the node');
    t.match(
      await op.request('node.invoke', invoke(node.nodeId, 'same', 'system.run', { command: ['echo', 'other'] })),
      {
        ok: false,
        error: { code: 'INVALID_REQUEST', message: 'idempotencyKey was already used with different parameters' },
      },
      'the key stays bound to its parameters',
    );
    t.match(
      await op.request('node.invoke', invoke(node.nodeId, 'fresh')),
      { ok: true, payload: { payload: { runs: 2 } } },
      'a new key runs',
    );
    t.equal(counter.runs(), 2);
  },
);

t.test(
  'after kill -9 of a CLI gateway, a result already flushed is returned by the next gateway (stale lock taken over)',
  async (t) => {
    const stateDir = tempStateDir(t);
    const identity = generateDeviceIdentity();
    const counter = countingNode();
    const child = await spawnCliGateway(t, stateDir);
    t.match(child.info, { ready: true }, `child ready (stderr: ${child.stderr()})`);
    const remote = { url: child.info.url as string, token: CLI_GATEWAY_TOKEN } as GatewayHandle;
    const { op, node } = await nodeAndOperator(remote, counter.handler, identity);
    const first = await op.request('node.invoke', invoke(node.nodeId, 'crash-key'));
    t.match(first, { ok: true, payload: { payload: { runs: 1 } } });
    // The write is coalesced off the invoke path; wait for it to land, then crash.
    await until(
      () => fs.existsSync(cacheFile(stateDir)) && fs.readFileSync(cacheFile(stateDir), 'utf8').includes('crash-key'),
    );
    child.child.kill('SIGKILL');
    await child.exited;

    const gw = await startTestGateway(t, { stateDir, token: CLI_GATEWAY_TOKEN });
    const op2 = (await connectOk(gw, backend)).client;
    const node2 = await startFakeNode(gw, counter.handler, { identity });
    t.same((await op2.request('node.invoke', invoke(node2.nodeId, 'crash-key'))).payload, first.payload);
    t.equal(node2.invokes.length, 0, 'not run again');
    t.equal(counter.runs(), 1);
  },
);

t.test('persisted entries are bounded: count, age, file bytes', async (t) => {
  const stateDir = tempStateDir(t);
  const counter = countingNode();
  const gw1 = await startTestGateway(t, { stateDir, idempotency: { maxEntries: 3, ttlMs: 60_000 } });
  const { op, node } = await nodeAndOperator(gw1, counter.handler);
  for (const key of ['a', 'b', 'c', 'd']) t.equal((await op.request('node.invoke', invoke(node.nodeId, key))).ok, true);
  // An in-flight invoke takes a slot too (evicting "b"); cut by the shutdown, it is stored as in flight.
  const lost = op.request('node.invoke', {
    ...invoke(node.nodeId, 'inflight', 'system.run', { command: ['hang'] }),
    timeoutMs: 60_000,
  });
  await until(() => node.invokes.length === 5);
  await gw1.close();
  t.match(await lost, { ok: false, error: { code: 'UNAVAILABLE' } });
  const stored = JSON.parse(fs.readFileSync(cacheFile(stateDir), 'utf8'));
  t.same(
    stored.entries.map((e: any) => e.key.split('\u0000').at(-1)),
    ['c', 'd', 'inflight'],
    'only the newest maxEntries',
  );
  t.match(
    stored.entries[2],
    { inflight: { nodeId: node.nodeId, invokeId: node.invokes[4].id, command: 'system.run', deadlineMs: Number } },
    'the invoke cut by the shutdown is stored as in flight, not as a result',
  );
  t.notOk('result' in stored.entries[2]);

  // A 2 s TTL: the entries written below must outlive the invokes and the close that persists them,
  // even on a loaded box (300 ms could expire "w" before its flush), yet be gone for gw3.
  const gw2 = await startTestGateway(t, { stateDir, idempotency: { ttlMs: 2_000, maxFileBytes: 600 } });
  const two = await nodeAndOperator(gw2, counter.handler);
  // The first gateway's node is gone: only a restored entry can answer for it.
  t.match(
    await two.op.request('node.invoke', invoke(node.nodeId, 'b')),
    { ok: false, error: { code: 'UNAVAILABLE', details: { code: 'NOT_CONNECTED' } } },
    'an evicted key was not stored',
  );
  t.match(
    await two.op.request('node.invoke', invoke(node.nodeId, 'c')),
    { ok: true, payload: { payload: { runs: 3 } } },
    'restored hit (original 60 s expiry kept under the new TTL setting)',
  );
  for (const key of ['x', 'y', 'z', 'w'])
    t.equal((await two.op.request('node.invoke', invoke(two.node.nodeId, key))).ok, true);
  await gw2.close();
  const size = fs.statSync(cacheFile(stateDir)).size;
  t.ok(size <= 600, `file within maxFileBytes (${size} bytes)`);
  const keys = JSON.parse(fs.readFileSync(cacheFile(stateDir), 'utf8')).entries.map((e: any) =>
    e.key.split('\u0000').at(-1),
  );
  t.ok(keys.length >= 1 && keys.length < 6, `newest entries that fit: ${keys.join(',')}`);
  t.equal(keys.at(-1), 'w', 'the newest is kept');

  // Age: entries written with a 2 s TTL are gone after it, even across a restart.
  const written = Date.now();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, written + 2_100 - Date.now())));
  const gw3 = await startTestGateway(t, { stateDir });
  const three = await nodeAndOperator(gw3, counter.handler, undefined);
  const before = counter.runs();
  t.match(
    await three.op.request('node.invoke', invoke(three.node.nodeId, 'w')),
    { ok: true },
    'an expired key runs again',
  );
  t.equal(counter.runs(), before + 1);
});

t.test('a corrupt or unsafe cache file is ignored (the gateway starts) and replaced by a valid one', async (t) => {
  const stateDir = tempStateDir(t);
  fs.mkdirSync(path.join(stateDir, 'gateway'), { mode: 0o700 });
  fs.writeFileSync(cacheFile(stateDir), '{"version":1,"entries":[{"key":', { mode: 0o600 });
  const counter = countingNode();
  const gw = await startTestGateway(t, { stateDir, idempotency: { flushDelayMs: 10 } });
  const { op, node } = await nodeAndOperator(gw, counter.handler);
  t.equal((await op.request('node.invoke', invoke(node.nodeId, 'k'))).ok, true);
  await gw.close();
  t.match(JSON.parse(fs.readFileSync(cacheFile(stateDir), 'utf8')), {
    version: 1,
    entries: [{ key: `${node.nodeId}\u0000k` }],
  });

  fs.rmSync(cacheFile(stateDir));
  fs.symlinkSync('/etc/hostname', cacheFile(stateDir));
  const gw2 = await startTestGateway(t, { stateDir });
  t.ok(gw2.port > 0, 'a symlinked cache file is not read');
  await gw2.close();
});

t.test(
  'an invoke cut by a restart: the retry waits for the result the node re-delivers; nothing runs twice',
  async (t) => {
    const stateDir = tempStateDir(t);
    const identity = generateDeviceIdentity();
    let runs = 0;
    const handler: InvokeHandler = () => (++runs === 1 ? 'ignore' : { ok: true, payload: { runs } });
    const gw1 = await startGateway({ port: 0, stateDir, token: 'restart-token-0123456789', env: {} });
    const one = await nodeAndOperator(gw1, handler, identity);
    const cut = one.op.request('node.invoke', { ...invoke(one.node.nodeId, 'long'), timeoutMs: 60_000 });
    await until(() => one.node.invokes.length === 1);
    const invokeId = one.node.invokes[0].id as string;
    await gw1.close();
    t.match(await cut, { ok: false, error: { code: 'UNAVAILABLE', message: 'gateway shutting down' } });

    const gw2 = await startGateway({ port: 0, stateDir, token: 'restart-token-0123456789', env: {} });
    t.teardown(() => gw2.close());
    const op = (await connectOk(gw2, backend)).client;
    const node = await startFakeNode(gw2, handler, { identity });
    const retry = op.request('node.invoke', { ...invoke(node.nodeId, 'long'), timeoutMs: 60_000 });
    t.match(
      await op.request('node.invoke', invoke(node.nodeId, 'long', 'system.run', { command: ['other'] })),
      { ok: false, error: { message: 'idempotencyKey was already used with different parameters' } },
      'the key is held while the outcome is awaited',
    );
    // What a node host's outbox does after reconnecting: deliver the result of the old invoke id.
    const redelivered = await node.client.request('node.invoke.result', {
      id: invokeId,
      nodeId: node.nodeId,
      ok: true,
      payloadJSON: JSON.stringify({ finished: 'before the restart' }),
    });
    t.same(redelivered.payload, { ok: true }, 'accepted, not ignored');
    t.match(
      await retry,
      {
        ok: true,
        payload: { nodeId: node.nodeId, command: 'system.run', payload: { finished: 'before the restart' } },
      },
      'the retry gets the re-delivered result',
    );
    t.match(
      await op.request('node.invoke', invoke(node.nodeId, 'long')),
      { ok: true, payload: { payload: { finished: 'before the restart' } } },
      'and keeps it',
    );
    t.equal(node.invokes.length, 0, 'the command was not sent again');
    t.equal(runs, 1);
    t.same(
      (
        await node.client.request('node.invoke.result', {
          id: invokeId,
          nodeId: node.nodeId,
          ok: true,
          payloadJSON: '{}',
        })
      ).payload,
      { ok: true, ignored: true },
      'a second delivery is ignored',
    );
  },
);

t.test(
  'an invoke cut by a restart whose result never comes back: the retry fails at the original deadline, the next one runs',
  async (t) => {
    const stateDir = tempStateDir(t);
    const identity = generateDeviceIdentity();
    let runs = 0;
    const handler: InvokeHandler = () => (++runs === 1 ? 'ignore' : { ok: true, payload: { runs } });
    const gw1 = await startGateway({ port: 0, stateDir, token: 'restart-token-0123456789', env: {} });
    const one = await nodeAndOperator(gw1, handler, identity);
    // 3 s: the close below must cut the invoke before it times out on its own, even on a loaded box.
    const cut = one.op.request('node.invoke', { ...invoke(one.node.nodeId, 'lost'), timeoutMs: 3_000 });
    await until(() => one.node.invokes.length === 1);
    await gw1.close();
    await cut;

    const gw2 = await startGateway({ port: 0, stateDir, token: 'restart-token-0123456789', env: {} });
    t.teardown(() => gw2.close());
    const op = (await connectOk(gw2, backend)).client;
    const node = await startFakeNode(gw2, handler, { identity });
    t.match(await op.request('node.invoke', invoke(node.nodeId, 'lost')), {
      ok: false,
      error: {
        code: 'UNAVAILABLE',
        message: 'invoke interrupted by a gateway restart; its outcome is unknown',
        details: { nodeCommandDispatched: true },
        retryable: false,
      },
    });
    t.equal(node.invokes.length, 0, 'not run while the outcome was awaited');
    t.match(
      await op.request('node.invoke', invoke(node.nodeId, 'lost')),
      { ok: true, payload: { payload: { runs: 2 } } },
      'a later retry runs',
    );
  },
);

t.test('a node disconnect (the gateway keeps running) still forgets the key: the retry runs', async (t) => {
  const identity = generateDeviceIdentity();
  let runs = 0;
  const handler: InvokeHandler = () => (++runs === 1 ? 'ignore' : { ok: true, payload: { runs } });
  const gw = await startTestGateway(t);
  const { op, node } = await nodeAndOperator(gw, handler, identity);
  const dropped = op.request('node.invoke', { ...invoke(node.nodeId, 'drop'), timeoutMs: 60_000 });
  await until(() => node.invokes.length === 1);
  node.client.close();
  t.match(await dropped, { ok: false, error: { code: 'UNAVAILABLE', details: { nodeCommandDispatched: true } } });
  const again = await startFakeNode(gw, handler, { identity });
  t.match(await op.request('node.invoke', invoke(again.nodeId, 'drop')), {
    ok: true,
    payload: { payload: { runs: 2 } },
  });
});

t.test('kill -9 with an invoke in flight: the next gateway resumes it from the file', async (t) => {
  const stateDir = tempStateDir(t);
  const identity = generateDeviceIdentity();
  let runs = 0;
  const handler: InvokeHandler = () => (++runs === 1 ? 'ignore' : { ok: true, payload: { runs } });
  const child = await spawnCliGateway(t, stateDir);
  t.match(child.info, { ready: true }, `child ready (stderr: ${child.stderr()})`);
  const remote = { url: child.info.url as string, token: CLI_GATEWAY_TOKEN } as GatewayHandle;
  const one = await nodeAndOperator(remote, handler, identity);
  // Sent without awaiting a response: the crashed gateway never answers, its connection just drops.
  one.op.send({
    type: 'req',
    id: 'cut',
    method: 'node.invoke',
    params: { ...invoke(one.node.nodeId, 'crash-inflight'), timeoutMs: 60_000 },
  });
  await until(() => one.node.invokes.length === 1);
  const invokeId = one.node.invokes[0].id as string;
  await until(
    () => fs.existsSync(cacheFile(stateDir)) && fs.readFileSync(cacheFile(stateDir), 'utf8').includes(invokeId),
  );
  child.child.kill('SIGKILL');
  await child.exited;
  t.match(await one.op.closed, { code: 1006 }, 'the operator of the crashed gateway loses its connection');

  const gw = await startTestGateway(t, { stateDir, token: CLI_GATEWAY_TOKEN });
  const op = (await connectOk(gw, backend)).client;
  const node = await startFakeNode(gw, handler, { identity });
  const retry = op.request('node.invoke', { ...invoke(node.nodeId, 'crash-inflight'), timeoutMs: 60_000 });
  t.same(
    (
      await node.client.request('node.invoke.result', {
        id: invokeId,
        nodeId: node.nodeId,
        ok: true,
        payloadJSON: '{"survived":"kill -9"}',
      })
    ).payload,
    { ok: true },
  );
  t.match(await retry, { ok: true, payload: { payload: { survived: 'kill -9' } } });
  t.equal(node.invokes.length, 0, 'not run again');
});
