// The id issuer on its own: the edges the socket tests cannot reach cheaply (a full millisecond, a bad source).
import t from 'tap';

import { SnapshotIdIssuer } from '../../lib/bridge/snapshot-id.js';

const MS = 1_795_329_363_759;

t.test('9000 ids fill one millisecond exactly; the next id moves to the next millisecond', async (t) => {
  const issuer = new SnapshotIdIssuer();
  const suffixes = new Set<number>();
  let wrongMs = 0;
  for (let i = 0; i < 9000; i += 1) {
    const [ms, suffix] = issuer.next(MS, () => false).split('-');
    if (Number(ms) !== MS) wrongMs += 1;
    suffixes.add(Number(suffix));
  }
  t.equal(wrongMs, 0, 'all in the millisecond asked for');
  t.equal(suffixes.size, 9000, 'no suffix twice');
  t.equal(Math.min(...suffixes), 1000);
  t.equal(Math.max(...suffixes), 9999);
  t.match(
    issuer.next(MS, () => false),
    new RegExp(`^${MS + 1}-\\d{4}$`),
    'exhausted: the next millisecond, same format',
  );
});

t.test('ids in use elsewhere are skipped, probing past a fixed source', async (t) => {
  const taken = new Set([`${MS}-9999`, `${MS}-1000`]);
  const issuer = new SnapshotIdIssuer(() => 9999);
  t.equal(
    issuer.next(MS, (id) => taken.has(id)),
    `${MS}-1001`,
    'wraps from 9999 to 1000 and skips both',
  );
  t.equal(
    issuer.next(MS, (id) => taken.has(id)),
    `${MS}-1002`,
  );
});

t.test('a source outside 1000…9999 is a programming error, not a malformed id', async (t) => {
  for (const bad of [999, 10_000, 1234.5, Number.NaN]) {
    const issuer = new SnapshotIdIssuer(() => bad);
    t.throws(() => issuer.next(MS, () => false), RangeError, String(bad));
  }
});
