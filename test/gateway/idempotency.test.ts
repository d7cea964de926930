import t from 'tap';

import { IdempotencyCache } from '../../lib/gateway/idempotency.js';

t.test('IdempotencyCache bounds entries, bytes and age', async (t) => {
  let now = 0;
  const cache = new IdempotencyCache<number>({ maxEntries: 3, maxBytes: 100, ttlMs: 1000, now: () => now });
  const p = (n: number) => Promise.resolve(n);
  const results = [p(1), p(2), p(3), p(4)];
  results.forEach((r, i) => cache.set(`k${i}`, 'f', r));
  t.equal(cache.size, 3, 'oldest evicted past maxEntries');
  t.notOk(cache.get('k0'));
  cache.account('k1', results[1]!, 60);
  cache.account('k2', results[2]!, 60);
  t.notOk(cache.get('k1'), 'oldest evicted past maxBytes');
  t.equal(cache.bytes, 60);
  cache.account('k3', results[3]!, 1000);
  t.notOk(cache.get('k3'), 'a result above the whole budget is not kept');
  t.ok(cache.get('k2'));
  now = 5000;
  t.notOk(cache.get('k2'), 'expired');
  t.equal(cache.bytes, 0);
  cache.set('a', 'f', results[0]!);
  cache.delete('a', results[1]!);
  t.ok(cache.get('a'), 'delete only removes the matching run');
  cache.delete('a', results[0]!);
  t.notOk(cache.get('a'));
});
