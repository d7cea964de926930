// The replay journal across real process deaths: a child process remembers nonces and is SIGKILLed
// (also mid-stream, possibly mid-compaction); a fresh instance must answer 'replay' for everything the
// child acknowledged. And a child whose writes hit RLIMIT_FSIZE (EFBIG) refuses instead of accepting.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { REPLAY_JOURNAL_FILE_NAME, ReplayCache } from '../../lib/exec-host/replay-cache.js';
import { tmpRoot } from '../helpers/exec-host.js';

const MODULE_URL = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/exec-host/replay-cache.ts'),
).href;
const MINUTE = 60_000;

interface Child {
  /** Resolves once `count` stdout lines have arrived (or rejects if the child exits first). */
  lines(count: number): Promise<string[]>;
  all: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs `body` as an ES module in a child node with tsx, `cache` bound to a ReplayCache on `file`. */
function runChild(
  t: { teardown(fn: () => unknown): void },
  file: string,
  cacheArgs: string,
  body: string,
  prefix: string[] = [],
): Child {
  const code = `import { ReplayCache } from ${JSON.stringify(MODULE_URL)};
const cache = new ReplayCache(${cacheArgs});
import { writeSync } from 'node:fs';
// write(2) on fd 1 before going on (process.stdout may buffer); fd 1 is non-blocking, so wait out EAGAIN.
const pause = new Int32Array(new SharedArrayBuffer(4));
const say = (s) => {
  for (;;) {
    try { writeSync(1, s + '\\n'); return; } catch (err) { if (err.code !== 'EAGAIN') throw err; }
    Atomics.wait(pause, 0, 0, 1);
  }
};
${body}`;
  const argv = [...prefix, process.execPath, '--import', 'tsx', '--input-type=module', '-e', code];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, JOURNAL: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const all: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: { count: number; resolve: (l: string[]) => void; reject: (e: Error) => void }[] = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    all.push(...parts);
    for (const w of waiters.splice(0)) {
      if (all.length >= w.count) w.resolve(all.slice());
      else waiters.push(w);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`child exited (${code ?? signal}) after ${all.length} lines: ${stderr}`));
      resolve({ code, signal, stderr });
    });
  });
  return {
    all,
    exited,
    kill: (signal) => child.kill(signal),
    lines: (count) =>
      new Promise((resolve, reject) => {
        if (all.length >= count) resolve(all.slice());
        else waiters.push({ count, resolve, reject });
      }),
  };
}

function journalIn(t: Parameters<typeof tmpRoot>[0]): string {
  return path.join(tmpRoot(t, 'ocipc-replay-restart-'), 'state', REPLAY_JOURNAL_FILE_NAME);
}

t.test(
  'a nonce remembered by a process that is then SIGKILLed is a replay for the next one',
  { timeout: 120_000 },
  async (t) => {
    const file = journalIn(t);
    const nonce = '000102030405060708090a0b0c0d0e0f';
    const child = runChild(
      t,
      file,
      `${MINUTE}, { file: process.env.JOURNAL }`,
      `
say(cache.remember(${JSON.stringify(nonce)}));
setInterval(() => {}, 1000); // alive until killed: no close(), no exit handlers
`,
    );
    t.same(await child.lines(1), ['ok'], 'the child accepted the nonce');
    child.kill('SIGKILL');
    const { signal } = await child.exited;
    t.equal(signal, 'SIGKILL', 'the child died by SIGKILL');
    const fresh = new ReplayCache(MINUTE, { file });
    t.teardown(() => fresh.close());
    t.equal(fresh.recovery?.state, 'clean');
    t.equal(fresh.remember(nonce), 'replay', 'the restarted cache rejects the captured nonce');
    t.equal(fresh.remember('000102030405060708090a0b0c0d0e10'), 'ok', 'and accepts a new one');
  },
);

t.test(
  'SIGKILL at an arbitrary point of a busy stream (compactions included) loses no acknowledged nonce',
  { timeout: 300_000 },
  async (t) => {
    // Simulated clock, ten minutes ahead of real time so nothing expires by the wall clock before the
    // reload: 1 ms per nonce, 1000 ms window, so ~1000 live entries and a rewrite every ~1000 appends.
    const t0 = Date.now() + 10 * MINUTE;
    for (const killAfter of [1500, 4321, 9000]) {
      await t.test(`killed after ${killAfter} acknowledgements`, async (t) => {
        const file = journalIn(t);
        const acks = path.join(path.dirname(path.dirname(file)), 'acks');
        // Acks go to a regular file (write(2) completes before the next nonce); progress to stdout every 100.
        const child = runChild(
          t,
          file,
          `1000, { file: process.env.JOURNAL, compactMinLines: 64 }`,
          `
import { openSync } from 'node:fs';
const acks = openSync(${JSON.stringify(acks)}, 'a');
for (let i = 0; i < 2_000_000; i++) {
  const r = cache.remember('nonce-' + i, ${t0} + i);
  if (r !== 'ok') { say('refused ' + i + ' ' + r); process.exit(1); }
  writeSync(acks, i + '\\n');
  if (i % 100 === 99) say(String(i));
}
`,
        );
        await child.lines(killAfter / 100);
        child.kill('SIGKILL');
        const { signal, stderr } = await child.exited;
        t.equal(signal, 'SIGKILL', `killed mid-stream ${stderr}`);
        t.notOk(
          child.all.some((l) => l.startsWith('refused')),
          'no nonce refused',
        );
        // Complete lines of the ack file: nonces the child had accepted when it died (a torn last line is not an ack).
        const acked = fs.readFileSync(acks, 'utf8').split('\n').slice(0, -1).map(Number);
        t.ok(acked.length >= killAfter, `at least ${killAfter} acknowledged (${acked.length})`);
        t.ok(
          acked.every((v, i) => v === i),
          'acknowledged in order',
        );
        const last = acked.length - 1;
        const fresh = new ReplayCache(1000, { file, compactMinLines: 64 });
        t.teardown(() => fresh.close());
        t.ok(
          fresh.recovery?.state === 'clean' || fresh.recovery?.state === 'torn-tail',
          `recovered (${fresh.recovery?.state})`,
        );
        t.ok(
          fresh.recovery!.loaded <= 2 * 1000 + 64 + 1,
          `the file stayed bounded (${fresh.recovery!.loaded} entries loaded)`,
        );
        // Every nonce still live at the child's last instant must be a replay. The child may have run one
        // more remember() (clock t0 + last + 1) before dying unacknowledged, and that expired nonce last-999.
        let missing = 0;
        const from = Math.max(0, last - 998);
        for (let i = from; i <= last; i++) if (fresh.remember(`nonce-${i}`, t0 + last) !== 'replay') missing++;
        t.equal(missing, 0, `all ${last - from + 1} live acknowledged nonces (${from}..${last}) are replays`);
        t.same(
          fs.readdirSync(path.dirname(file)),
          [REPLAY_JOURNAL_FILE_NAME],
          'no other files: a temp file of a rewrite cut short by the kill is removed on load',
        );
      });
    }
  },
);

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

t.test(
  'writes failing with EFBIG (RLIMIT_FSIZE) refuse the nonce and never leave a torn line',
  { skip: hasPrlimit ? false : 'prlimit(1) not installed', timeout: 120_000 },
  async (t) => {
    const file = journalIn(t);
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    // tap injects its process-info hook into children through NODE_OPTIONS; that hook restores default signal
    // handling at exit and writes a report file, which this file-size limit would turn into a SIGXFSZ death
    // (seen on Node 24), so the child runs without it.
    // The file-size limit applies to the child only. Journal lines are 63 bytes, so the write that crosses
    // 4000 bytes is a partial one (exercising the cut-back), and later ones fail with EFBIG.
    const child = runChild(
      t,
      file,
      `${MINUTE}, { file: process.env.JOURNAL }`,
      `
const results = [];
for (let i = 0; i < 200; i++) results.push(cache.remember('nonce-' + String(i).padStart(20, '0')));
const firstError = results.indexOf('journal-error');
say(JSON.stringify({ firstError, after: results.slice(firstError), retry: cache.remember('nonce-' + String(firstError).padStart(20, '0')) }));
`,
      ['env', '-u', 'NODE_OPTIONS', 'prlimit', '--fsize=4000'],
    );
    const [line] = await child.lines(1);
    const { code } = await child.exited;
    t.equal(code, 0, 'the child was not killed by SIGXFSZ: node ignores it, so write() fails with EFBIG');
    const { firstError, after, retry } = JSON.parse(line!) as { firstError: number; after: string[]; retry: string };
    t.ok(firstError > 0, `accepted until the limit (${firstError} nonces)`);
    t.ok(
      after.every((r) => r === 'journal-error'),
      'every nonce past the limit refused, none silently accepted',
    );
    t.equal(retry, 'journal-error', 'a refused nonce stays refusable (it was not remembered in memory)');
    const text = fs.readFileSync(file, 'utf8');
    t.ok(text.length <= 4000);
    t.ok(text.endsWith('\n'), 'the partial write was cut back: no torn line');
    t.equal(text.split('\n').length - 1, firstError, 'exactly the accepted nonces are in the file');
    const fresh = new ReplayCache(MINUTE, { file });
    t.teardown(() => fresh.close());
    t.equal(fresh.recovery?.state, 'clean');
    t.equal(fresh.recovery?.loaded, firstError);
    let missing = 0;
    for (let i = 0; i < firstError; i++)
      if (fresh.remember(`nonce-${String(i).padStart(20, '0')}`) !== 'replay') missing++;
    t.equal(missing, 0, 'every accepted nonce is a replay after the restart');
    t.equal(
      fresh.remember(`nonce-${String(firstError).padStart(20, '0')}`),
      'ok',
      'the refused one was never accepted',
    );
  },
);
