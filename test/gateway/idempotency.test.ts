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

t.test('IdempotencyCache: settled values, restore and change notifications', async (t) => {
  let now = 0;
  let changes = 0;
  const cache = new IdempotencyCache<number>({
    maxEntries: 2,
    maxBytes: 100,
    ttlMs: 1000,
    now: () => now,
    onChange: () => changes++,
  });
  const a = Promise.resolve(1);
  cache.set('a', 'fa', a);
  t.same(cache.persistable(), [], 'an unsettled entry without a dispatched node request is not persisted');
  cache.account('a', a, 10, 1);
  t.equal(changes, 1, 'recording a value notifies');
  t.match(cache.persistable(), [{ key: 'a', entry: { fingerprint: 'fa', value: 1, bytes: 10, expiresAtMs: 1000 } }]);
  t.ok(cache.restore('r', 'fr', 7, 500, 20), 'restored');
  t.equal(await cache.get('r')!.result, 7);
  t.notOk(cache.restore('r', 'fr', 8, 500, 20), 'an existing key is not overwritten');
  t.notOk(cache.restore('old', 'f', 9, 0, 1), 'an expired entry is not restored');
  t.notOk(cache.restore('huge', 'f', 9, 900, 1000), 'an entry above the byte budget is not restored');
  t.equal(cache.bytes, 30);
  cache.delete('a', a);
  t.equal(changes, 2, 'removing a settled entry notifies');
  now = 600;
  t.same(cache.persistable(), [], 'expired entries are not listed');
});
