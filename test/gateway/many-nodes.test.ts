// One Gateway, many nodes (issue 10 part 3): an invoke reaches exactly the node it names, a closed node's
// session is forgotten while the others keep working, a node replaced by its own reconnect stays registered
// when the old socket closes, and a burst of connects does not cost one health broadcast per connect.
import t from 'tap';

import { ALL_OPERATOR_SCOPES, connectOk, startFakeNode, startTestGateway, until } from '../helpers/gateway.js';

const operatorOpts = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};
const COUNT = 120;
const BATCH = 20; // below the pre-auth budget per IP (32): every handshake of a batch stays admitted

t.test('many nodes: invokes reach the named node, closed nodes are forgotten, health coalesces', async (t) => {
  const gw = await startTestGateway(t, { autoApproveNodes: true });
  const op = (await connectOk(gw, operatorOpts)).client;
  const nodes: Array<Awaited<ReturnType<typeof startFakeNode>>> = [];
  for (let start = 0; start < COUNT; start += BATCH) {
    const batch = Array.from({ length: BATCH }, (_, j) =>
      startFakeNode(gw, (command) => ({ ok: true, payload: { index: start + j, command } })),
    );
    nodes.push(...(await Promise.all(batch)));
  }
  t.equal(gw.nodes.list().length, COUNT, 'every node is registered');
  t.same(new Set(gw.nodes.list().map((s) => s.nodeId)), new Set(nodes.map((n) => n.nodeId)), 'by its device id');

  const invoke = (nodeId: string, key: string) =>
    op.request('node.invoke', {
      nodeId,
      command: 'system.which',
      params: { bins: ['sh'] },
      idempotencyKey: key,
      timeoutMs: 10_000,
    });
  for (const index of [0, 57, COUNT - 1]) {
    const res = await invoke(nodes[index]!.nodeId, `k-${index}`);
    t.match(res, { ok: true, payload: { ok: true, payload: { index } } }, `node ${index} answered its own invoke`);
  }
  t.same(
    nodes.map((n, i) => (n.invokes.length > 0 ? i : -1)).filter((i) => i >= 0),
    [0, 57, COUNT - 1],
    'no other node was asked',
  );

  // Health: the latest state arrives, but not one broadcast per connect.
  await op.next((f) => f.type === 'event' && f.event === 'health' && f.payload.nodes === COUNT);
  const healthSeen = op.frames.filter((f) => f.event === 'health').length + 1;
  t.ok(healthSeen < COUNT, `${healthSeen} health broadcasts for ${COUNT} connects`);

  // Close the even-numbered nodes: their sessions go, the odd ones stay reachable.
  const closed = nodes.filter((_, i) => i % 2 === 0);
  for (const node of closed) node.client.close();
  await until(() => gw.nodes.list().length === COUNT / 2);
  t.ok(
    closed.every((n) => gw.nodes.get(n.nodeId) === undefined),
    'a closed node has no session',
  );
  const gone = await invoke(closed[3]!.nodeId, 'k-gone');
  t.match(gone, { ok: false, error: { code: 'UNAVAILABLE', details: { code: 'NOT_CONNECTED' } } });
  t.match(await invoke(nodes[7]!.nodeId, 'k-7'), { ok: true, payload: { ok: true, payload: { index: 7 } } });
  t.match(await op.request('health', {}), { ok: true, payload: { nodes: COUNT / 2 } }, 'health counts the rest');
  await op.next((f) => f.type === 'event' && f.event === 'health' && f.payload.nodes === COUNT / 2);

  // A node reconnecting with its identity replaces its old socket; that socket's close must not drop it.
  const old = nodes[9]!;
  const oldConnId = gw.nodes.get(old.nodeId)!.conn.connId;
  const again = await startFakeNode(gw, () => ({ ok: true, payload: { index: 'again' } }), {
    identity: old.identity!,
  });
  t.match(await old.client.closed, { code: 1000 }, 'the old socket is closed as replaced');
  await until(() => gw.connectionCount() === 1 + COUNT / 2); // the Gateway has processed the old socket's close
  t.not(gw.nodes.get(old.nodeId)?.conn.connId, oldConnId, 'the node stays registered under its new connection');
  t.ok(gw.nodes.get(old.nodeId));
  t.match(await invoke(old.nodeId, 'k-again'), { ok: true, payload: { ok: true, payload: { index: 'again' } } });
  t.equal(again.invokes.length, 1, 'the new connection got the invoke');
  t.equal(gw.nodes.list().length, COUNT / 2);
});
