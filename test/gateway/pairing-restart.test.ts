// Pending pairing requests survive a Gateway restart (persisted 0600 with their TTL), so an
// operator can approve after the restart.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { PAIRING_REQUEST_TTL_MS, generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
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
const REMOTE = { 'x-test-remote': '1' };
const remoteAware = {
  isLocal: (info: { headers: Record<string, unknown> }) => info.headers['x-test-remote'] === undefined,
};
const mode = (file: string): number => fs.statSync(file).mode & 0o777;
const readJson = (file: string): Record<string, Record<string, unknown>> => JSON.parse(fs.readFileSync(file, 'utf8'));

t.test('a pending device request is approved after a restart; the device then connects', async (t) => {
  const stateDir = tempStateDir(t);
  const gw1 = await startTestGateway(t, { stateDir, ...remoteAware });
  const identity = generateDeviceIdentity();
  const first = await connectRaw(gw1, { role: 'node', identity, headers: REMOTE });
  t.match(first.res.error, { code: 'NOT_PAIRED', details: { code: 'PAIRING_REQUIRED', requestId: String } });
  const requestId = first.res.error.details.requestId as string;
  const file = path.join(stateDir, 'devices', 'pending.json');
  t.equal(mode(file), 0o600, 'pending.json 0600');
  t.match(readJson(file)[requestId], { requestId, deviceId: identity.deviceId, role: 'node', ts: Number });
  await gw1.close();

  const gw2 = await startTestGateway(t, { stateDir, ...remoteAware });
  const op = (await connectOk(gw2, backend)).client;
  const list = await op.request('device.pair.list', {});
  t.match(
    list.payload.pending,
    [{ requestId, deviceId: identity.deviceId, publicKey: identity.publicKey, role: 'node' }],
    'listed after the restart',
  );
  const retry = await connectRaw(gw2, { role: 'node', identity, headers: REMOTE });
  t.equal(retry.res.error.details.requestId, requestId, 'the device retrying after the restart gets the same request');
  t.match(await op.request('device.pair.approve', { requestId }), {
    ok: true,
    payload: { requestId, device: { deviceId: identity.deviceId } },
  });
  t.notOk(requestId in readJson(file), 'removed from pending.json once approved');
  t.ok((await connectOk(gw2, { role: 'node', identity, headers: REMOTE })).res.ok, 'the device connects');
});

t.test("a node's pending command surface is approved after a restart, before the node reconnects", async (t) => {
  const stateDir = tempStateDir(t);
  const identity = generateDeviceIdentity();
  const handler = () => ({ ok: true as const, payload: { ran: true } });
  const gw1 = await startTestGateway(t, { stateDir });
  const node1 = await startFakeNode(gw1, handler, { identity });
  const op1 = (await connectOk(gw1, backend)).client;
  const [pending] = (await op1.request('node.pair.list', {})).payload.pending;
  t.match(pending, { requestId: String, nodeId: node1.nodeId, commands: Array });
  const file = path.join(stateDir, 'nodes', 'pending.json');
  t.equal(mode(file), 0o600);
  await gw1.close();

  const gw2 = await startTestGateway(t, { stateDir });
  const op = (await connectOk(gw2, backend)).client;
  t.match(
    (await op.request('node.pair.list', {})).payload.pending,
    [{ requestId: pending.requestId, nodeId: node1.nodeId }],
    'listed with no node connected',
  );
  t.match(await op.request('node.pair.approve', { requestId: pending.requestId }), { ok: true });
  const node2 = await startFakeNode(gw2, handler, { identity });
  t.same((await op.request('node.pair.list', {})).payload.pending, [], 'no new request on reconnect');
  t.match(
    await op.request('node.invoke', {
      nodeId: node2.nodeId,
      command: 'system.run',
      params: { command: ['true'] },
      idempotencyKey: 'k',
    }),
    { ok: true, payload: { payload: { ran: true } } },
  );
});

t.test('requests past their TTL (or malformed) are dropped when loaded', async (t) => {
  const stateDir = tempStateDir(t);
  fs.mkdirSync(path.join(stateDir, 'nodes'), { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'nodes', 'pending.json');
  const base = { caps: [], commands: ['system.run'], platform: 'linux' };
  fs.writeFileSync(
    file,
    JSON.stringify({
      old: { ...base, requestId: 'old', nodeId: 'n-old', ts: Date.now() - PAIRING_REQUEST_TTL_MS - 1000 },
      fresh: { ...base, requestId: 'fresh', nodeId: 'n-fresh', ts: Date.now() - 1000 },
      junk: { requestId: 'junk', ts: 'yesterday' },
      renamed: { ...base, requestId: 'other-id', nodeId: 'n-x', ts: Date.now() },
    }),
    { mode: 0o600 },
  );
  const gw = await startTestGateway(t, { stateDir });
  const op = (await connectOk(gw, backend)).client;
  t.same(
    (await op.request('node.pair.list', {})).payload.pending.map((r: { requestId: string }) => r.requestId),
    ['fresh'],
  );
  t.same(Object.keys(readJson(file)), ['fresh'], 'the file is rewritten without them');
});
