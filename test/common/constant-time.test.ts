import t from 'tap';
import { timingSafeEqualString } from '../../lib/common/constant-time.js';

t.test('equal strings compare equal', async (t) => {
  t.ok(timingSafeEqualString('', ''));
  t.ok(timingSafeEqualString('abc', 'abc'));
  t.ok(timingSafeEqualString('päß-🔑', 'päß-🔑'));
  const long = 'x'.repeat(100_000);
  t.ok(timingSafeEqualString(long, 'x'.repeat(100_000)));
});

t.test('different strings compare unequal', async (t) => {
  t.notOk(timingSafeEqualString('abc', 'abd'));
  t.notOk(timingSafeEqualString('abc', 'ab'), 'prefix');
  t.notOk(timingSafeEqualString('ab', 'abc'), 'longer');
  t.notOk(timingSafeEqualString('', 'a'));
  t.notOk(timingSafeEqualString('ABC', 'abc'), 'case-sensitive (an uppercase MAC fails)');
  t.notOk(timingSafeEqualString('e\u0301', '\u00e9'), 'no Unicode normalisation');
});

t.test('lone surrogates are not collapsed (a UTF-8 compare would call these equal)', async (t) => {
  t.ok(Buffer.from('a\uD800', 'utf8').equals(Buffer.from('a\uDC00', 'utf8')), 'precondition: UTF-8 loses them');
  t.notOk(timingSafeEqualString('a\uD800', 'a\uDC00'));
  t.notOk(timingSafeEqualString('a\uD800', 'a\uFFFD'));
  t.ok(timingSafeEqualString('a\uD800', 'a\uD800'));
});
