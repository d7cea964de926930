import t from 'tap';
import { PassThrough } from 'node:stream';

import { encodeLine, parseUntrustedJson, readLine } from '../../lib/common/jsonl.js';

t.test('reads the first line across chunks', async (t) => {
  const s = new PassThrough();
  const p = readLine(s, { maxLineBytes: 100, timeoutMs: 5000 });
  s.write('{"a":');
  s.write('1}\n{"b":2}\n');
  t.equal(await p, '{"a":1}');
});

t.test('accept skips declined lines', async (t) => {
  const s = new PassThrough();
  const p = readLine(s, { maxLineBytes: 100, timeoutMs: 5000, accept: (l) => l.includes('yes') });
  s.write('no\nnope\nyes please\n');
  t.equal(await p, 'yes please');
});

t.test('line cap is enforced before the newline arrives', async (t) => {
  const s = new PassThrough();
  const p = readLine(s, { maxLineBytes: 10, timeoutMs: 5000 });
  s.write('x'.repeat(11));
  await t.rejects(p, { code: 'ERR_LINE_TOO_LONG' });
  const ok = readLine(s, { maxLineBytes: 10, timeoutMs: 5000 });
  const fresh = new PassThrough();
  const exact = readLine(fresh, { maxLineBytes: 10, timeoutMs: 5000 });
  fresh.write(`${'y'.repeat(10)}\n`);
  t.equal(await exact, 'y'.repeat(10));
  s.destroy();
  await t.rejects(ok, { code: 'ERR_EOF' });
});

t.test('deadline and EOF', async (t) => {
  const s = new PassThrough();
  await t.rejects(readLine(s, { maxLineBytes: 10, timeoutMs: 50 }), { code: 'ERR_READ_TIMEOUT' });
  const e = new PassThrough();
  const p = readLine(e, { maxLineBytes: 10, timeoutMs: 5000 });
  e.end('partial');
  await t.rejects(p, { code: 'ERR_EOF' });
});

t.test('untrusted JSON', async (t) => {
  t.same(parseUntrustedJson(encodeLine({ a: [1] }).trim()), { a: [1] });
  t.throws(() => parseUntrustedJson('['.repeat(10_000)), { code: 'ERR_JSON_TOO_DEEP' });
  t.throws(() => parseUntrustedJson('{'), { code: 'ERR_JSON_INVALID' });
  const o = parseUntrustedJson('{"__proto__":{"polluted":1},"x":{"constructor":{"prototype":{"p":1}}}}') as Record<
    string,
    unknown
  >;
  t.equal(Object.hasOwn(o, '__proto__'), false);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.same(o.x, {});
});

t.test('duplicate keys are rejected, escapes normalised, no false positives', async (t) => {
  t.throws(() => parseUntrustedJson('{"command":["echo"],"command":["rm"]}'), { code: 'ERR_JSON_DUPLICATE_KEY' });
  t.throws(() => parseUntrustedJson('{"a":1,"\\u0061":2}'), { code: 'ERR_JSON_DUPLICATE_KEY' });
  t.throws(() => parseUntrustedJson('{"x":{"k":1,"k":2}}'), { code: 'ERR_JSON_DUPLICATE_KEY' });
  t.same(parseUntrustedJson('[{"k":1},{"k":2}]'), [{ k: 1 }, { k: 2 }]);
  t.same(parseUntrustedJson('{"k":{"k":"k"},"j":["k","k"],"s":"a\\"k\\":"}'), {
    k: { k: 'k' },
    j: ['k', 'k'],
    s: 'a"k":',
  });
});

t.test('strict UTF-8 lines', async (t) => {
  const s = new PassThrough();
  const p = readLine(s, { maxLineBytes: 100, timeoutMs: 5000, strictUtf8: true });
  s.write(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]));
  await t.rejects(p, { code: 'ERR_INVALID_UTF8' });
  const ok = new PassThrough();
  const q = readLine(ok, { maxLineBytes: 100, timeoutMs: 5000, strictUtf8: true });
  ok.write(Buffer.from('"é"\n'));
  t.equal(await q, '"é"');
});
