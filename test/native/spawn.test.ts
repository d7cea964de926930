import t from 'tap';
import { spawn as cpSpawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { SpawnError, isNativeSpawnAvailable, nativeSpawn } from '../../lib/index.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';
const sh = (script: string, extra: Partial<Parameters<typeof nativeSpawn>[0]> = {}) =>
  nativeSpawn({ file: '/bin/sh', argv: ['sh', '-c', script], env: { PATH }, ...extra });

/** A process that no longer exists, or a zombie nobody has reaped yet, is gone. */
function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * A signalled process is not gone at once: the result can arrive when its pipes close, a moment before
 * the kernel marks it a zombie. Polls (bounded; a grandchild that was never killed sleeps for 1000 s).
 */
async function goneSoon(pid: number, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!gone(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return gone(pid);
}

t.test('available on Linux and macOS builds', async (t) => {
  t.equal(isNativeSpawnAvailable(), process.platform === 'linux' || process.platform === 'darwin');
});

t.test('stdout, stderr, exit code, pid, duration', async (t) => {
  const r = await sh('echo out; echo err >&2; exit 7');
  t.equal(r.stdout.toString(), 'out\n');
  t.equal(r.stderr.toString(), 'err\n');
  t.equal(r.exitCode, 7);
  t.equal(r.signal, null);
  t.equal(r.timedOut, false);
  t.equal(r.stdoutTruncated, false);
  t.ok(r.pid > 0);
  t.ok(r.durationMs > 0 && r.durationMs < 30_000);
  t.equal((await nativeSpawn({ file: '/bin/true', argv: ['true'], env: {} })).exitCode, 0);
});

t.test('argv is passed verbatim: no shell, no globbing', async (t) => {
  const args = ['$HOME', '*', 'a b', '"q"', ';rm -rf /', ''];
  const r = await nativeSpawn({ file: '/usr/bin/printf', argv: ['printf', '[%s]', ...args], env: {} });
  t.equal(r.stdout.toString(), args.map((a) => `[${a}]`).join(''));
});

t.test('a signal ends the child: exitCode null, signal name', async (t) => {
  const r = await sh('kill -USR1 $$; sleep 5');
  t.equal(r.exitCode, null);
  t.equal(r.signal, 'SIGUSR1');
  t.equal(r.timedOut, false);
});

t.test('cwd and env: exactly what was given, nothing inherited', async (t) => {
  const dir = fs.realpathSync(t.testdir());
  const r = await nativeSpawn({ file: '/usr/bin/env', argv: ['env'], env: { FOO: 'bar baz', EMPTY: '' }, cwd: dir });
  t.same(r.stdout.toString().trim().split('\n').sort(), ['EMPTY=', 'FOO=bar baz']);
  const pwd = await sh('pwd', { cwd: dir });
  t.equal(pwd.stdout.toString(), `${dir}\n`);
  await t.rejects(sh('pwd', { cwd: path.join(dir, 'missing') }), { code: 'ENOENT', name: 'SpawnError' });
});

t.test('stdin: /dev/null by default, or the given bytes (large ones too)', async (t) => {
  t.equal((await nativeSpawn({ file: '/bin/cat', argv: ['cat'], env: {} })).stdout.length, 0);
  const small = await nativeSpawn({ file: '/bin/cat', argv: ['cat'], env: {}, stdin: Buffer.from('hello\n') });
  t.equal(small.stdout.toString(), 'hello\n');
  // Larger than any pipe buffer: stdin and stdout must be pumped at the same time.
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const r = await nativeSpawn({
    file: '/bin/cat',
    argv: ['cat'],
    env: {},
    stdin: big,
    maxOutputBytes: 4 * 1024 * 1024,
  });
  t.equal(r.stdoutTruncated, false);
  t.ok(r.stdout.equals(big), '3 MiB round trip intact');
  // A child that never reads its stdin: EPIPE is absorbed, the result still arrives.
  const ignored = await nativeSpawn({ file: '/bin/true', argv: ['true'], env: {}, stdin: big });
  t.equal(ignored.exitCode, 0);
});

t.test('output caps keep the tail of each stream', async (t) => {
  // 200000 numbered lines on stdout, 3 lines on stderr.
  const r = await sh(
    'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; echo e1 >&2; echo e2 >&2; echo e3 >&2',
    { maxOutputBytes: 1000 },
  );
  t.equal(r.stdout.length, 1000);
  t.equal(r.stdoutTruncated, true);
  t.ok(r.stdout.toString().endsWith('line 19999\n'), 'the last line survives');
  t.equal(r.stderr.toString(), 'e1\ne2\ne3\n');
  t.equal(r.stderrTruncated, false);
  const exact = await sh('printf 12345', { maxOutputBytes: 5 });
  t.equal(exact.stdout.toString(), '12345');
  t.equal(exact.stdoutTruncated, false, 'exactly at the cap is not truncated');
});

t.test('timeout: SIGTERM to the whole process group, grandchildren included', async (t) => {
  // 2 s: the shell must have started its grandchild and printed its pid before the timeout, on a loaded box.
  const r = await sh('sleep 1000 & echo $!; wait', { timeoutMs: 2_000 });
  t.equal(r.timedOut, true);
  t.equal(r.signal, 'SIGTERM');
  const grandchild = Number(r.stdout.toString().trim());
  t.ok(grandchild > 0);
  t.ok(await goneSoon(grandchild), 'the background grandchild was killed too');
});

t.test('timeout: SIGKILL after the grace period when SIGTERM is ignored', async (t) => {
  // 2 s: the trap must be set before SIGTERM arrives, or the shell dies of SIGTERM instead, on a loaded box.
  const r = await sh('trap "" TERM; sleep 1000 & echo $!; wait', { timeoutMs: 2_000, killGraceMs: 300 });
  t.equal(r.timedOut, true);
  t.equal(r.signal, 'SIGKILL');
  t.ok(r.durationMs >= 2_250, `waited for the grace period (${r.durationMs} ms)`);
  t.ok(await goneSoon(Number(r.stdout.toString().trim())), 'grandchild that ignored SIGTERM got SIGKILL');
});

t.test('a leftover grandchild holding the pipes does not hold the result beyond the grace period', async (t) => {
  const r = await sh('sleep 30 & echo $!', { killGraceMs: 200 });
  const grandchild = Number(r.stdout.toString().trim());
  t.teardown(() => {
    try {
      process.kill(grandchild, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  t.equal(r.exitCode, 0);
  t.equal(r.timedOut, false);
  t.ok(r.durationMs < 10_000, `returned after ${r.durationMs} ms, not after the sleep`);
});

t.test('the child gets a clean slate: own process group, default signals, no inherited fds', async (t) => {
  const r = await sh('echo $$; cut -d" " -f5 /proc/$$/stat; ls /proc/$$/fd');
  const [pid, pgid, ...fds] = r.stdout.toString().trim().split('\n');
  t.equal(pid, String(r.pid));
  t.equal(pgid, String(r.pid), 'process group leader');
  t.same(fds.join(' ').split(/\s+/).sort(), ['0', '1', '2'], 'only stdio is open');
  // grep reads its own status: mask and ignored dispositions survive exec, so this is what we set up
  // (a shell would block signals around its own forks and blur the picture).
  const g = await nativeSpawn({
    file: '/bin/grep',
    argv: ['grep', '-E', '^(SigBlk|SigIgn)', '/proc/self/status'],
    env: {},
  });
  const [sigBlk, sigIgn] = g.stdout.toString().trim().split('\n');
  t.match(sigBlk, /^SigBlk:\s+0+$/, 'empty signal mask');
  // Standard signals 1-31 are bits 0-30. glibc's sigfillset omits its internal signals 32/33, so
  // posix_spawn cannot reset those; glibc programs reinstall their own handlers for them.
  t.match(sigIgn, /^SigIgn:\s+[0-9a-f]{16}$/);
  const ignored = BigInt(`0x${sigIgn.split(/\s+/)[1]}`);
  t.equal(ignored & 0x7fffffffn, 0n, 'no ignored standard signals (Node ignores SIGPIPE; the child must not)');
});

t.test('exec failures reject with SpawnError and the errno code', async (t) => {
  await t.rejects(nativeSpawn({ file: '/nonexistent/x', argv: ['x'], env: {} }), {
    code: 'ENOENT',
    name: 'SpawnError',
  });
  await t.rejects(nativeSpawn({ file: 'no-such-program-xyz', argv: ['x'], env: { PATH } }), { code: 'ENOENT' });
  const dir = t.testdir();
  const notExec = path.join(dir, 'script');
  fs.writeFileSync(notExec, '#!/bin/sh\necho hi\n', { mode: 0o644 });
  await t.rejects(nativeSpawn({ file: notExec, argv: ['script'], env: {} }), SpawnError);
  await t.rejects(nativeSpawn({ file: notExec, argv: ['script'], env: {} }), { code: 'EACCES' });
  // Bare names are looked up in the child's PATH, not ours.
  fs.chmodSync(notExec, 0o755);
  const found = await nativeSpawn({ file: 'script', argv: ['script'], env: { PATH: dir } });
  t.equal(found.stdout.toString(), 'hi\n');
  await t.rejects(nativeSpawn({ file: 'sh', argv: ['sh'], env: { PATH: dir } }), { code: 'ENOENT' });
});

t.test('bad options are TypeErrors from TypeScript', async (t) => {
  const base = { file: '/bin/true', argv: ['true'], env: {} };
  t.throws(() => nativeSpawn({ ...base, argv: [] }), TypeError);
  t.throws(() => nativeSpawn({ ...base, file: '' }), TypeError);
  t.throws(() => nativeSpawn({ ...base, argv: ['a\0b'] }), TypeError);
  t.throws(() => nativeSpawn({ ...base, env: { 'A=B': 'x' } }), TypeError);
  t.throws(() => nativeSpawn({ ...base, env: { A: 1 as unknown as string } }), TypeError);
  t.throws(() => nativeSpawn({ ...base, timeoutMs: -1 }), TypeError);
  t.throws(() => nativeSpawn({ ...base, maxOutputBytes: 1e12 }), TypeError);
  t.throws(() => nativeSpawn({ ...base, stdin: 'text' as unknown as Uint8Array }), TypeError);
});

t.test("libuv children and native children do not steal each other's exit status", async (t) => {
  const viaNode = new Promise<number | null>((resolve) => {
    const child = cpSpawn('/bin/sh', ['-c', 'sleep 0.2; exit 7'], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
  const natives = Array.from({ length: 10 }, (_, i) => sh(`sleep 0.1; exit ${i + 10}`));
  const results = await Promise.all(natives);
  t.same(
    results.map((r) => r.exitCode),
    Array.from({ length: 10 }, (_, i) => i + 10),
  );
  t.equal(await viaNode, 7);
});

t.test('300 concurrent spawns (beyond the 256 supervised at once) all complete with their own output', async (t) => {
  const n = 300;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => nativeSpawn({ file: '/bin/echo', argv: ['echo', `run-${i}`], env: {} })),
  );
  t.equal(results.filter((r, i) => r.exitCode === 0 && r.stdout.toString() === `run-${i}\n`).length, n);
  t.equal(new Set(results.map((r) => r.pid)).size, n, 'distinct pids');
});

t.test('long-running children hold neither the JS thread nor the libuv threadpool', async (t) => {
  // More sleepers than threadpool threads (default 4): if each parked a pool thread, the fs call below
  // would queue behind them until they exit.
  // 5 s sleepers: the checks below (up to 2.5 s of pool wait plus 300 ms of ticks) must all happen while
  // they still run, even on a loaded box.
  const sleepers = Array.from({ length: 8 }, () => nativeSpawn({ file: '/bin/sleep', argv: ['sleep', '5'], env: {} }));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => fs.promises.stat(process.execPath)));
  const poolMs = performance.now() - t0;
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 300));
  clearInterval(timer);
  const stillRunning = await Promise.race([Promise.all(sleepers).then(() => false), Promise.resolve(true)]);
  t.equal(stillRunning, true, 'the sleepers were still running while the pool and timers worked');
  t.ok(poolMs < 2500, `threadpool answered in ${poolMs.toFixed(0)} ms while 8 children ran`);
  t.ok(ticks >= 5, `timers kept firing (${ticks} ticks in 300 ms)`);
  const done = await Promise.all(sleepers);
  t.same(
    done.map((r) => r.exitCode),
    Array(8).fill(0),
  );
});

t.test('no descriptor leaks across successful, failed and timed-out spawns', async (t) => {
  await nativeSpawn({ file: '/bin/true', argv: ['true'], env: {} }); // the supervisor's wake pipe exists now
  const openFds = () => fs.readdirSync('/proc/self/fd').length;
  const before = openFds();
  await Promise.all(Array.from({ length: 50 }, () => sh('echo x; echo y >&2', { stdin: Buffer.from('in') })));
  await Promise.all(
    Array.from({ length: 20 }, () => nativeSpawn({ file: '/nonexistent', argv: ['x'], env: {} }).catch(() => null)),
  );
  await Promise.all(Array.from({ length: 5 }, () => sh('sleep 10', { timeoutMs: 50 })));
  t.equal(openFds(), before);
});
