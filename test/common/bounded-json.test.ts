// The one bounded parser for untrusted JSON (issue 7 item 11): depth is refused before parsing, duplicates
// after, and a value that passed can always be serialised again.
import t from 'tap';

import { BoundedJsonError, jsonNestingDepth, parseBoundedJson } from '../../lib/common/bounded-json.js';

t.test('depth: exactly the bound passes, one more is ERR_JSON_TOO_DEEP; strings do not count', async (t) => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
  t.same(parseBoundedJson(nest(64)), JSON.parse(nest(64)));
  t.throws(() => parseBoundedJson(nest(65)), { code: 'ERR_JSON_TOO_DEEP' });
  t.throws(() => parseBoundedJson(nest(5), { maxDepth: 4 }), BoundedJsonError);
  t.same(parseBoundedJson(JSON.stringify({ s: '[[[[[[{{{{{{"\\' })), { s: '[[[[[[{{{{{{"\\' });
  t.equal(jsonNestingDepth('{"a":[{"b":"]]]]"}]}'), 3);
  t.equal(jsonNestingDepth(nest(1_000_000), 64), 65, 'the scan stops just past the bound');
  t.equal(parseBoundedJson('1'), 1);
});

t.test('invalid text and duplicate keys have stable codes; duplicates can be allowed', async (t) => {
  t.throws(() => parseBoundedJson('{'), { code: 'ERR_JSON_INVALID' });
  t.throws(() => parseBoundedJson(''), { code: 'ERR_JSON_INVALID' });
  t.throws(() => parseBoundedJson('{"a":1,"\\u0061":2}'), { code: 'ERR_JSON_DUPLICATE_KEY' });
  t.same(parseBoundedJson('{"a":1,"a":2}', { rejectDuplicateKeys: false }), { a: 2 });
  const proto = parseBoundedJson('{"__proto__":{"x":1},"y":{"constructor":2}}', { dropPrototypeKeys: true });
  t.same(proto, { y: {} });
  t.equal(({} as Record<string, unknown>).x, undefined, 'no prototype pollution');
});

t.test('anything accepted serialises again (the crash was JSON.stringify of a deep value)', async (t) => {
  const value = parseBoundedJson('{"a":' + '['.repeat(62) + ']'.repeat(62) + '}');
  t.doesNotThrow(() => JSON.stringify(value));
});

t.test('valueNestedDeeperThan: iterative depth of a parsed value (JSON5 configs)', async (t) => {
  const { valueNestedDeeperThan } = await import('../../lib/common/bounded-json.js');
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.equal(valueNestedDeeperThan(deep, 128), true, 'no stack overflow on 100 000 levels');
  t.equal(valueNestedDeeperThan({ a: [{ b: 1 }] }, 3), false);
  t.equal(valueNestedDeeperThan({ a: [{ b: {} }] }, 3), true);
});
