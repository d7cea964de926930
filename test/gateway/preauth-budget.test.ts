// Issue 7 item 13: idle unauthenticated sockets from one local process do not lock other local clients out.
// Upstream (and this Gateway before) answered the 33rd pre-auth socket from 127.0.0.1 with HTTP 503, so a
// process parking 32 idle sockets denied the operator who has the token. Now the oldest idle one makes room.
import t from 'tap';

import { PreauthBudget } from '../../lib/gateway/preauth-budget.js';
import { RawClient, connectOk, startTestGateway, until } from '../helpers/gateway.js';

t.setTimeout(120_000);

t.test('PreauthBudget: per key, oldest first, release is idempotent', async (t) => {
  const budget = new PreauthBudget<string>(2);
  t.equal(budget.admit('ip', 'a'), undefined);
  t.equal(budget.admit('ip', 'b'), undefined);
  t.equal(budget.admit('other', 'x'), undefined, 'another key has its own budget');
  t.equal(budget.admit('ip', 'c'), 'a', 'at the cap the oldest goes');
  budget.release('ip', 'b');
  budget.release('ip', 'b');
  t.equal(budget.count('ip'), 1);
  t.equal(budget.admit('ip', 'd'), undefined);
});

t.test('200 idle pre-auth sockets from 127.0.0.1, then the operator with the token connects', async (t) => {
  const gw = await startTestGateway(t); // the default cap: 32 per IP
  const idle: RawClient[] = [];
  for (let i = 0; i < 200; i++) {
    const client = await RawClient.open(gw.url);
    idle.push(client);
  }
  t.teardown(() => idle.forEach((c) => c.close()));
  await until(() => gw.connectionCount() <= 32);
  t.ok(gw.connectionCount() <= 32, `pre-auth sockets held: ${gw.connectionCount()} (cap 32)`);
  const started = Date.now();
  const op = await connectOk(gw, { role: 'operator', clientId: 'cli', mode: 'cli', identity: null });
  t.equal(op.res.ok, true, `the operator got hello-ok in ${Date.now() - started} ms`);
  t.match((await op.client.request('node.list', {})).payload, { nodes: [] }, 'and is served');
  const closed = await Promise.all(idle.slice(0, 150).map((c) => c.closed));
  t.ok(
    closed.every((c) => c.code === 1013),
    'the displaced idle sockets were closed 1013 (try again later), not left hanging',
  );
  op.client.close();
});
