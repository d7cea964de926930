// The replay cache's on-disk journal: restarts within the window, expiry, torn and corrupt files,
// refused paths, compaction bounds, permissions and nonce encoding. Real files in temp dirs.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import {
  MAX_JOURNAL_LINE_BYTES,
  MAX_NONCE_LENGTH,
  REPLAY_JOURNAL_FILE_NAME,
  ReplayCache,
  ReplayJournalError,
} from '../../lib/exec-host/replay-cache.js';
import { tmpRoot } from '../helpers/exec-host.js';

const MINUTE = 60_000;

function journalIn(t: Parameters<typeof tmpRoot>[0]): string {
  return path.join(tmpRoot(t, 'ocipc-replay-'), 'state', REPLAY_JOURNAL_FILE_NAME);
}

function open(
  t: { teardown(fn: () => unknown): void },
  file: string,
  windowMs = MINUTE,
  extra: { maxEntries?: number; compactMinLines?: number } = {},
): ReplayCache {
  const cache = new ReplayCache(windowMs, { file, ...extra });
  t.teardown(() => cache.close());
  return cache;
}

/** Every line of the journal, parsed; fails the test on a line that is not `{nonce, expires}`. */
function journalEntries(file: string): { nonce: string; expires: number }[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error(`journal ${file} does not end with a newline`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const v = JSON.parse(line) as { nonce: string; expires: number };
      if (typeof v.nonce !== 'string' || !Number.isSafeInteger(v.expires) || Object.keys(v).length !== 2)
        throw new Error(`bad journal line ${line}`);
      return v;
    });
}

t.test('without a file nothing changes: in-memory replay, expiry and the full rule', async (t) => {
  const root = tmpRoot(t, 'ocipc-replay-');
  const cache = new ReplayCache(1000, 2);
  t.equal(cache.file, undefined);
  t.equal(cache.recovery, undefined);
  t.equal(cache.maxEntries, 2);
  t.equal(cache.remember('a', 0), 'ok');
  t.equal(cache.remember('a', 999), 'replay', 'remembered for the whole window');
  t.equal(cache.remember('b', 10), 'ok');
  t.equal(cache.remember('c', 20), 'full', 'full refuses new nonces instead of forgetting old ones');
  t.equal(cache.remember('a', 1000), 'ok', 'accepted again once expired (and that made room)');
  t.equal(cache.remember('c', 1010), 'ok');
  t.equal(cache.size, 2);
  t.same(fs.readdirSync(root), [], 'no file written anywhere');
  const options = new ReplayCache(1000, { maxEntries: 7 });
  t.equal(options.maxEntries, 7);
  cache.close();
  t.equal(cache.remember('d', 5000), 'ok', 'close() is a no-op for a memory-only cache');
});

t.test('a second instance on the same file rejects what the first accepted', async (t) => {
  const file = journalIn(t);
  const first = open(t, file);
  t.same(first.recovery, { state: 'fresh', loaded: 0, dropped: 0 });
  t.equal(first.remember('n1'), 'ok');
  t.equal(first.remember('n2'), 'ok');
  t.equal(journalEntries(file).length, 2, 'appended before ok was returned');
  // No close(): the first instance may have died; its appends are already in the file.
  const second = open(t, file);
  t.equal(second.recovery?.state, 'clean');
  t.equal(second.recovery?.loaded, 2);
  t.equal(second.remember('n1'), 'replay');
  t.equal(second.remember('n2'), 'replay');
  t.equal(second.remember('n3'), 'ok');
  first.close();
  const third = open(t, file);
  t.equal(third.remember('n3'), 'replay', 'a nonce recorded by the second instance survives too');
  t.equal(third.remember('n1'), 'replay');
});

t.test('entries expire across a restart; live ones keep their original expiry', async (t) => {
  const file = journalIn(t);
  const now = Date.now();
  const first = open(t, file);
  t.equal(first.remember('old', now - 2 * MINUTE), 'ok');
  t.equal(first.remember('live', now - MINUTE / 2), 'ok');
  first.close();
  const second = open(t, file);
  t.same(second.recovery, { state: 'clean', loaded: 1, dropped: 1 });
  t.same(
    journalEntries(file).map((e) => e.nonce),
    ['live'],
    'the expired entry is dropped from the file',
  );
  t.equal(journalEntries(file)[0]!.expires, now + MINUTE / 2, 'expiry carried over, not restarted');
  t.equal(second.remember('old'), 'ok', 'expired before the restart: accepted');
  t.equal(second.remember('live'), 'replay', 'still in its window after the restart');
  t.equal(second.remember('live', now + MINUTE / 2), 'ok', 'and accepted once its window has passed');
});

t.test('the same nonce accepted twice in the file: the later expiry wins', async (t) => {
  const file = journalIn(t);
  fs.mkdirSync(path.dirname(file), { mode: 0o700 });
  const now = Date.now();
  fs.writeFileSync(
    file,
    `{"nonce":"x","expires":${now - 1000}}\n{"nonce":"x","expires":${now + MINUTE}}\n{"expires":${now + MINUTE},"nonce":"y"}\n`,
    { mode: 0o600 },
  );
  const cache = open(t, file);
  t.same(cache.recovery, { state: 'clean', loaded: 2, dropped: 1 });
  t.equal(cache.remember('x'), 'replay');
  t.equal(cache.remember('y'), 'replay', 'key order inside a line does not matter');
});

t.test('a truncated last line (crash mid-append) is dropped, the rest is kept', async (t) => {
  for (const tail of ['{"nonce":"torn","exp', '{', '{"non', '{"nonce":"caf\xc3']) {
    await t.test(JSON.stringify(tail), async (t) => {
      const file = journalIn(t);
      const first = open(t, file);
      first.remember('a');
      first.remember('b');
      first.close();
      fs.appendFileSync(file, Buffer.from(tail, 'latin1'));
      const second = open(t, file);
      t.equal(second.recovery?.state, 'torn-tail');
      t.equal(second.recovery?.loaded, 2);
      t.equal(second.remember('a'), 'replay');
      t.equal(second.remember('b'), 'replay');
      t.equal(second.remember('torn'), 'ok', 'the torn entry was never acknowledged');
      t.same(
        journalEntries(file).map((e) => e.nonce),
        ['a', 'b', 'torn'],
        'the torn bytes are gone, so the next append did not glue onto them',
      );
      second.close();
      const third = open(t, file);
      t.equal(third.recovery?.state, 'clean');
      t.equal(third.remember('torn'), 'replay');
    });
  }
});

t.test('a corrupt journal never throws and never fails open: quarantine, then refuse for one window', async (t) => {
  const now = Date.now();
  const valid = `{"nonce":"seen","expires":${now + MINUTE}}\n`;
  const cases: [string, Buffer | string][] = [
    ['garbage line between valid ones', `${valid}this is not json\n${valid}`],
    ['binary junk without a newline', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01])],
    ['text without a newline that is not a journal line', 'hello'],
    ['wrong field types', `{"nonce":1,"expires":"soon"}\n`],
    ['an extra key', `{"nonce":"a","expires":${now + MINUTE},"x":1}\n`],
    ['an empty nonce', `{"nonce":"","expires":${now + MINUTE}}\n`],
    ['a nonce over the cap', `{"nonce":"${'n'.repeat(MAX_NONCE_LENGTH + 1)}","expires":${now + MINUTE}}\n`],
    ['a non-numeric expiry', `{"nonce":"a","expires":"1e3"}\n`],
    ['an array', `["a",${now + MINUTE}]\n`],
    ['null', 'null\n'],
    ['an empty line', `${valid}\n${valid}`],
    [
      'invalid UTF-8',
      Buffer.concat([
        Buffer.from('{"nonce":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(`","expires":${now + MINUTE}}\n`),
      ]),
    ],
    ['a line over the byte cap', `{"nonce":"${'x'.repeat(MAX_JOURNAL_LINE_BYTES)}`],
  ];
  for (const [name, content] of cases) {
    await t.test(name, async (t) => {
      const file = journalIn(t);
      fs.mkdirSync(path.dirname(file), { mode: 0o700 });
      fs.writeFileSync(file, content, { mode: 0o600 });
      const before = Date.now();
      const cache = open(t, file);
      const after = Date.now();
      const rec = cache.recovery!;
      t.equal(rec.state, 'corrupt');
      t.type(rec.reason, 'string');
      t.equal(rec.loaded, 0, 'nothing from a corrupt file is trusted');
      t.equal(rec.quarantinedTo, `${file}.corrupt`);
      t.same(fs.readFileSync(`${file}.corrupt`), Buffer.from(content), 'the original bytes are kept for inspection');
      t.ok(
        rec.blindUntilMs! >= before + MINUTE && rec.blindUntilMs! <= after + MINUTE,
        'blind for one window from the start',
      );
      t.equal(cache.remember('fresh'), 'unverifiable', 'a new nonce is refused while blind');
      t.equal(cache.remember('seen'), 'unverifiable');
      t.equal(cache.remember('fresh', rec.blindUntilMs! - 1), 'unverifiable', 'until the very end of the window');
      t.equal(cache.remember('fresh', rec.blindUntilMs!), 'ok', 'then requests are accepted again');
      t.equal(cache.remember('fresh', rec.blindUntilMs! + 1), 'replay');
      t.same(
        journalEntries(file).map((e) => e.nonce),
        ['fresh'],
        'a fresh, valid journal replaced the corrupt one',
      );
    });
  }
});

t.test('a journal with more lines than any compacted one is treated as corrupt, not loaded', async (t) => {
  const file = journalIn(t);
  fs.mkdirSync(path.dirname(file), { mode: 0o700 });
  const exp = Date.now() + MINUTE;
  // maxEntries 4, compactMinLines 4: a healthy journal never exceeds 4·4 + 2·4 lines.
  fs.writeFileSync(file, Array.from({ length: 25 }, (_, i) => `{"nonce":"n${i}","expires":${exp}}\n`).join(''), {
    mode: 0o600,
  });
  const cache = open(t, file, MINUTE, { maxEntries: 4, compactMinLines: 4 });
  t.equal(cache.recovery?.state, 'corrupt');
  t.match(cache.recovery?.reason, /over 24 lines/);
  t.equal(cache.remember('n0'), 'unverifiable');
});

t.test('paths that are not our regular file are refused with a typed error', async (t) => {
  await t.test('symlink to a real journal', async (t) => {
    const file = journalIn(t);
    const target = path.join(path.dirname(path.dirname(file)), 'elsewhere.jsonl');
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    fs.writeFileSync(target, 'keep me', { mode: 0o600 });
    fs.symlinkSync(target, file);
    t.throws(() => new ReplayCache(MINUTE, { file }), { code: 'ERR_REPLAY_JOURNAL_SYMLINK' });
    t.ok(fs.lstatSync(file).isSymbolicLink(), 'the link is left in place');
    t.equal(fs.readFileSync(target, 'utf8'), 'keep me', 'the target is neither read into trust nor written');
    let caught: unknown;
    try {
      new ReplayCache(MINUTE, { file });
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof ReplayJournalError, 'a ReplayJournalError');
  });
  await t.test('dangling symlink', async (t) => {
    const file = journalIn(t);
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    const target = path.join(path.dirname(file), 'missing-target');
    fs.symlinkSync(target, file);
    t.throws(() => new ReplayCache(MINUTE, { file }), { code: 'ERR_REPLAY_JOURNAL_SYMLINK' });
    t.notOk(fs.existsSync(target), 'nothing created through the link');
  });
  await t.test('FIFO (and no hang)', async (t) => {
    const file = journalIn(t);
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    t.equal(spawnSync('mkfifo', ['-m', '600', file]).status, 0);
    t.throws(() => new ReplayCache(MINUTE, { file }), { code: 'ERR_REPLAY_JOURNAL_NOT_FILE' });
  });
  await t.test('directory', async (t) => {
    const file = journalIn(t);
    fs.mkdirSync(file, { recursive: true, mode: 0o700 });
    t.throws(() => new ReplayCache(MINUTE, { file }), { code: 'ERR_REPLAY_JOURNAL_NOT_FILE' });
  });
  await t.test('unix socket', async (t) => {
    const file = journalIn(t);
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(file, resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    t.throws(() => new ReplayCache(MINUTE, { file }), { code: 'ERR_REPLAY_JOURNAL_NOT_FILE' });
  });
  await t.test(
    'owned by another uid',
    { skip: process.getuid?.() !== 0 ? 'needs root to chown' : false },
    async (t) => {
      const file = journalIn(t);
      fs.mkdirSync(path.dirname(file), { mode: 0o700 });
      fs.writeFileSync(file, '', { mode: 0o600 });
      fs.chownSync(file, 65534, 65534);
      t.throws(() => new ReplayCache(MINUTE, { file }), { code: 'ERR_REPLAY_JOURNAL_OWNER' });
    },
  );
  await t.test('relative path (would make ensurePrivateDir touch the cwd)', async (t) => {
    t.throws(() => new ReplayCache(MINUTE, { file: REPLAY_JOURNAL_FILE_NAME }), { code: 'ERR_REPLAY_JOURNAL_PATH' });
    t.notOk(fs.existsSync(REPLAY_JOURNAL_FILE_NAME));
  });
  await t.test('symlinked state directory', async (t) => {
    const root = tmpRoot(t, 'ocipc-replay-');
    fs.mkdirSync(path.join(root, 'real'), { mode: 0o700 });
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'state'));
    t.throws(() => new ReplayCache(MINUTE, { file: path.join(root, 'state', REPLAY_JOURNAL_FILE_NAME) }), {
      code: 'ERR_STATE_DIR_SYMLINK',
    });
    t.same(fs.readdirSync(path.join(root, 'real')), []);
  });
});

t.test('the journal is 0600 whatever the umask, in a 0700 directory, also after compaction', async (t) => {
  const file = journalIn(t);
  const old = process.umask(0);
  let cache: ReplayCache;
  try {
    cache = open(t, file, 1000, { compactMinLines: 2 });
  } finally {
    process.umask(old);
  }
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  const t0 = Date.now();
  let rewrites = 0;
  for (let i = 0; i < 10; i++) {
    // Compare per call: the file system may hand a freed inode number to a later rewrite.
    const ino = fs.statSync(file).ino;
    cache.remember(`n${i}`, t0 + i * 1000);
    const st = fs.statSync(file);
    if (st.ino !== ino) rewrites++;
    if ((st.mode & 0o777) !== 0o600) t.fail(`mode ${(st.mode & 0o777).toString(8)} after call ${i}`);
  }
  t.ok(rewrites >= 3, `compaction replaced the file (${rewrites} times), always 0600`);
  cache.close();
  fs.chmodSync(file, 0o644);
  open(t, file);
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'a widened journal is tightened on load');
  t.same(fs.readdirSync(path.dirname(file)), [REPLAY_JOURNAL_FILE_NAME], 'no temp files left behind');
});

t.test('compaction keeps every live entry and bounds the file', async (t) => {
  const file = journalIn(t);
  const windowMs = MINUTE;
  const step = 600; // ~100 live entries at any time
  const n = 3000;
  const compactMinLines = 64;
  // Simulated clock ending 5 s ago, so most entries of the last window are still live at the reload.
  const t0 = Date.now() - (n - 1) * step - 5000;
  const cache = open(t, file, windowMs, { compactMinLines });
  let inode = fs.statSync(file).ino;
  let rewrites = 0;
  let maxLines = 0;
  let boundViolations = 0;
  for (let i = 0; i < n; i++) {
    if (cache.remember(`nonce-${i}`, t0 + i * step) !== 'ok') throw new Error(`remember ${i} failed`);
    const lines = journalEntries(file).length;
    maxLines = Math.max(maxLines, lines);
    if (lines > Math.max(compactMinLines, 2 * cache.size)) boundViolations++;
    const ino = fs.statSync(file).ino;
    if (ino !== inode) {
      rewrites++;
      inode = ino;
    }
  }
  t.equal(boundViolations, 0, 'after every call: lines <= max(compactMinLines, 2 × live)');
  t.ok(maxLines <= 2 * (windowMs / step) + 2, `at most ~2× the live entries on disk (max ${maxLines})`);
  t.ok(rewrites >= n / ((2 * windowMs) / step) - 2, `rewritten regularly (${rewrites} times)`);
  t.ok(fs.statSync(file).size < maxLines * 64, 'size bounded by lines × line length');
  const entries = journalEntries(file);
  t.equal(new Set(entries.map((e) => e.nonce)).size, entries.length, 'no duplicates');
  t.ok(
    entries.every((e, i) => i === 0 || e.expires >= entries[i - 1]!.expires),
    'in expiry order',
  );
  const expected = new Set(
    Array.from({ length: n }, (_, i) => i)
      .filter((i) => t0 + i * step + windowMs > t0 + (n - 1) * step)
      .map((i) => `nonce-${i}`),
  );
  for (const e of entries) expected.delete(e.nonce);
  t.equal(expected.size, 0, 'every entry live at the last call is in the file');

  const before = Date.now();
  const reloaded = open(t, file, windowMs, { compactMinLines });
  const after = Date.now();
  let missing = 0;
  let checked = 0;
  for (let i = 0; i < n; i++) {
    const expires = t0 + i * step + windowMs;
    if (expires > after + 1000) {
      checked++;
      if (reloaded.remember(`nonce-${i}`, after) !== 'replay') missing++;
    } else if (expires <= before) {
      if (i % 100 === 0) t.equal(reloaded.remember(`nonce-${i}`, after), 'ok', `nonce-${i} expired before the reload`);
    }
  }
  t.ok(checked > 50, `checked ${checked} live entries`);
  t.equal(missing, 0, 'every entry still live at the reload is remembered');
});

t.test('nonces are encoded safely, one short line each, and round-trip exactly', async (t) => {
  const file = journalIn(t);
  const nonces = [
    '000102030405060708090a0b0c0d0e0f',
    'with\nnewline',
    'quote" and \\ backslash',
    'line\u2028separator',
    'lone \ud800 surrogate',
    'emoji 🦞',
    '{"nonce":"inner","expires":1}',
    '\u0000'.repeat(MAX_NONCE_LENGTH),
    '\ud800'.repeat(MAX_NONCE_LENGTH),
  ];
  const cache = open(t, file);
  // Names by index: some nonces would garble the TAP output.
  nonces.forEach((nonce, i) => t.equal(cache.remember(nonce), 'ok', `nonce #${i}`));
  t.equal(cache.remember('x'.repeat(MAX_NONCE_LENGTH + 1)), 'invalid', 'over the nonce cap');
  t.equal(cache.remember(''), 'invalid', 'empty');
  t.equal(cache.remember('nan-clock', Number.NaN), 'invalid', 'a NaN clock would write an unparseable line');
  const raw = fs.readFileSync(file);
  const lines = raw.toString('utf8').split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.equal(lines.length, nonces.length, 'one line per accepted nonce, none for refused ones');
  t.ok(
    lines.every((l) => Buffer.byteLength(l) < MAX_JOURNAL_LINE_BYTES),
    'every line under the line cap, even fully escaped',
  );
  t.same(
    journalEntries(file).map((e) => e.nonce),
    nonces,
  );
  cache.close();
  const reloaded = open(t, file);
  t.equal(reloaded.recovery?.state, 'clean');
  t.equal(reloaded.recovery?.loaded, nonces.length);
  nonces.forEach((nonce, i) => t.equal(reloaded.remember(nonce), 'replay', `nonce #${i} after the restart`));
  t.equal(reloaded.remember('with'), 'ok', 'a prefix of a remembered nonce is a different nonce');
});

t.test('the full rule holds with a journal; close() makes the cache refuse', async (t) => {
  const file = journalIn(t);
  const cache = open(t, file, MINUTE, { maxEntries: 2 });
  t.equal(cache.remember('a'), 'ok');
  t.equal(cache.remember('b'), 'ok');
  t.equal(cache.remember('c'), 'full');
  t.equal(journalEntries(file).length, 2, 'a refused nonce is not written');
  cache.close();
  t.equal(cache.remember('b'), 'replay', 'the memory still answers replays');
  t.equal(
    cache.remember('d', Date.now() + MINUTE),
    'journal-error',
    'room again, but a closed journal cannot record: refuse',
  );
  t.equal(journalEntries(file).length, 2);
});

t.test('a temp file left by a rewrite cut short is removed on load; nothing else is', async (t) => {
  const file = journalIn(t);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { mode: 0o700 });
  const stale = `.${REPLAY_JOURNAL_FILE_NAME}.4242.0123456789ab.tmp`;
  const others = [
    `.exec-approvals.json.4242.0123456789ab.tmp`,
    `.${REPLAY_JOURNAL_FILE_NAME}.4242.notours.tmp`,
    'keep.txt',
  ];
  fs.writeFileSync(path.join(dir, stale), '{"nonce":"half', { mode: 0o600 });
  for (const name of others) fs.writeFileSync(path.join(dir, name), 'x', { mode: 0o600 });
  const staleDir = `.${REPLAY_JOURNAL_FILE_NAME}.4243.0123456789ab.tmp`;
  fs.mkdirSync(path.join(dir, staleDir));
  open(t, file);
  t.same(
    fs.readdirSync(dir).sort(),
    [...others, staleDir, REPLAY_JOURNAL_FILE_NAME].sort(),
    "only the journal's own stale temp file is gone",
  );
});

t.test('a journal larger than the read chunk loads completely (lines across chunk boundaries)', async (t) => {
  const file = journalIn(t);
  const writer = open(t, file);
  // Mixed lengths so that line ends fall at many offsets around each 64 KiB boundary.
  const nonces = Array.from({ length: 3000 }, (_, i) => `${i}-${'z'.repeat(i % 97)}`);
  for (const nonce of nonces) writer.remember(nonce);
  writer.close();
  t.ok(fs.statSync(file).size > 3 * 64 * 1024, `journal is ${fs.statSync(file).size} bytes`);
  const reloaded = open(t, file);
  t.same(reloaded.recovery, { state: 'clean', loaded: nonces.length, dropped: 0 });
  t.equal(nonces.filter((n) => reloaded.remember(n) !== 'replay').length, 0, 'every nonce is a replay');
});
