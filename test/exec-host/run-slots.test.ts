// Run slots cannot be starved (issue 7, item 8). Real exec host, real sockets, real client processes,
// real `sleep` commands; every assertion is about answers and process liveness, never durations.
//   - a client that starts eight long runs without a timeout and disappears: it got at most its share,
//     the rest were answered busy, and its runs die with it; everyone else is served;
//   - a request that finds no slot is answered EXEC_HOST_BUSY, never left in silence;
//   - a run without a timeout gets the default one, a longer one is cut to the maximum;
//   - a requester that leaves while queued, prompted or running: its command never runs or is killed.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import { repo } from '../helpers/cli.js';
import { startHost, waitFor } from '../helpers/exec-host.js';

t.setTimeout(180_000);

/** Running (a zombie counts as gone: it was killed, only the pid entry remains). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A command that records its pid, then sleeps long (exec: the recorded pid is the sleep itself). */
function sleeper(pidFile: string): string[] {
  return ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 600`];
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

interface ClientLine {
  i: number;
  reply?: { ok: boolean; payload?: Record<string, unknown>; error?: Record<string, unknown> };
  error?: string;
}

/** test/helpers/exec-client.ts in its own process: another pid, another share. */
function clientProcess(
  t: { teardown(fn: () => void): void },
  args: { socketPath: string; token: string; requests: Array<{ command: string[]; timeoutMs?: number }> },
): { child: ChildProcess; lines: ClientLine[] } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'test/helpers/exec-client.ts'), JSON.stringify(args)],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  const lines: ClientLine[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as ClientLine));
  return { child, lines };
}

t.test('eight long runs without a timeout, then the client vanishes: share, busy answers, runs killed', async (t) => {
  const { host, token, root } = await startHost(t, { runQueueWaitMs: 1_000 });
  const pidFiles = Array.from({ length: 8 }, (_, i) => path.join(root, `run-${i}.pid`));
  const hog = clientProcess(t, {
    socketPath: host.socketPath,
    token,
    requests: pidFiles.map((f) => ({ command: sleeper(f) })),
  });
  t.ok(await waitFor(() => hog.lines.length === 4, 60_000), 'four requests were answered while four run');
  t.ok(
    hog.lines.every((l) => l.reply?.ok === false && l.reply.error?.reason === 'busy'),
    'the answers are EXEC_HOST_BUSY',
    { found: hog.lines },
  );
  t.match(hog.lines[0]!.reply!.error, { code: 'UNAVAILABLE', message: /^EXEC_HOST_BUSY: /, detail: 'peer-limit' });
  const pids = pidFiles.map(readPid).filter((p): p is number => p !== undefined);
  t.equal(pids.length, 4, 'exactly its share (4 of 8 slots) ran');
  t.ok(
    pids.every((p) => alive(p)),
    'and they are running',
  );

  // Meanwhile another client is served at once from the slots left.
  t.match(await execViaSocket({ command: ['/bin/echo', 'served'] }, { socketPath: host.socketPath, token }), {
    ok: true,
    payload: { stdout: 'served\n' },
  });

  hog.child.kill('SIGKILL');
  t.ok(await waitFor(() => pids.every((p) => !alive(p)), 30_000), 'every run of the vanished client was killed');
  t.ok(await waitFor(() => host.stats.withdrawn === 4, 30_000), 'counted as withdrawn');
  const mine = pidFiles.slice(0, 4).map((f) => `${f}.again`);
  const controller = new AbortController();
  const runs = mine.map((f) =>
    execViaSocket({ command: sleeper(f) }, { socketPath: host.socketPath, token, signal: controller.signal }).catch(
      (err: Error & { code?: string }) => err.code,
    ),
  );
  t.ok(await waitFor(() => mine.every((f) => readPid(f) !== undefined), 60_000), 'all its slots were free again');
  const again = mine.map((f) => readPid(f)!);
  controller.abort();
  t.same(await Promise.all(runs), Array(4).fill('ERR_EXEC_HOST_CANCELLED'));
  t.ok(await waitFor(() => again.every((p) => !alive(p)), 30_000), 'cancelled by the client: killed');
});

t.test('no free slot: a typed busy answer, not silence; a waiter that leaves never runs', async (t) => {
  const { host, token, root } = await startHost(t, { maxConcurrentRuns: 1, maxRunsPerPeer: 2, runQueueWaitMs: 1_000 });
  const opts = { socketPath: host.socketPath, token, timeoutMs: 60_000 };
  const pidFile = path.join(root, 'holder.pid');
  const holder = new AbortController();
  const held = execViaSocket({ command: sleeper(pidFile) }, { ...opts, signal: holder.signal }).catch(() => 'gone');
  t.ok(await waitFor(() => readPid(pidFile) !== undefined, 30_000), 'the only slot is taken');

  const other = clientProcess(t, { socketPath: host.socketPath, token, requests: [{ command: ['/bin/echo', 'x'] }] });
  t.ok(await waitFor(() => other.lines.length === 1, 60_000), 'the waiting request was answered');
  t.match(other.lines[0]!.reply, {
    ok: false,
    error: {
      code: 'UNAVAILABLE',
      message: /^EXEC_HOST_BUSY: all 1 run slots/,
      reason: 'busy',
      detail: 'queue-timeout',
    },
  });

  const canary = path.join(root, 'canary');
  const leaving = new AbortController();
  const queued = execViaSocket({ command: ['/usr/bin/touch', canary] }, { ...opts, signal: leaving.signal }).catch(
    (err: Error & { code?: string }) => err.code,
  );
  t.ok(await waitFor(() => host.stats.queuedRuns === 1, 30_000), 'a second request of ours waits for the slot');
  leaving.abort();
  t.equal(await queued, 'ERR_EXEC_HOST_CANCELLED');
  t.ok(await waitFor(() => host.stats.queuedRuns === 0, 30_000), 'its place in the queue is given up');
  holder.abort();
  await held;
  t.ok(await waitFor(() => !alive(readPid(pidFile)!), 30_000), 'the holder left: its run was killed');
  t.match(await execViaSocket({ command: ['/bin/echo', 'next'] }, opts), { ok: true, payload: { stdout: 'next\n' } });
  t.notOk(fs.existsSync(canary), 'the request that left the queue never ran');
});

t.test('runs get the default timeout; a longer one is cut to the maximum', async (t) => {
  const { host, token, root } = await startHost(t, {
    defaultRunTimeoutMs: 1_000,
    maxRunTimeoutMs: 1_500,
    runner: { killGraceMs: 200 },
  });
  const opts = { socketPath: host.socketPath, token, timeoutMs: 60_000 };
  const first = path.join(root, 'default.pid');
  t.match(await execViaSocket({ command: sleeper(first) }, opts), { ok: true, payload: { timedOut: true } });
  t.ok(await waitFor(() => !alive(readPid(first)!), 30_000), 'no timeout asked: the default one ended it');
  const second = path.join(root, 'capped.pid');
  t.match(await execViaSocket({ command: sleeper(second), timeoutMs: 24 * 3_600_000 }, opts), {
    ok: true,
    payload: { timedOut: true },
  });
  t.ok(await waitFor(() => !alive(readPid(second)!), 30_000), 'a day asked: cut to the maximum');
});

t.test('a prompt is withdrawn when its client leaves (after a half-close too), and nothing runs', async (t) => {
  const pending = new PendingApprovals();
  const { host, token, root } = await startHost(t, {
    pending,
    promptTimeoutMs: 120_000,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'always', askFallback: 'full' };
    },
  });
  const canary = path.join(root, 'canary');
  const resolved: Array<{ reason?: string; detail?: string }> = [];
  pending.on('resolved', (outcome) => resolved.push(outcome));
  const leaving = new AbortController();
  // execViaSocket half-closes after its line, as upstream clients do: only the full close may withdraw.
  const request = execViaSocket(
    { command: ['/usr/bin/touch', canary] },
    { socketPath: host.socketPath, token, timeoutMs: 120_000, signal: leaving.signal },
  ).catch((err: Error & { code?: string }) => err.code);
  t.ok(await waitFor(() => pending.size === 1, 30_000), 'an operator is asked');
  const [entry] = pending.list();
  leaving.abort();
  t.equal(await request, 'ERR_EXEC_HOST_CANCELLED');
  t.ok(await waitFor(() => pending.size === 0, 30_000), 'the prompt is withdrawn');
  t.match(resolved, [{ reason: 'cancelled', detail: 'withdrawn: the requester went away' }]);
  t.notOk(pending.resolve(entry!.id, 'allow-once'), 'approving it afterwards does nothing');
  t.ok(await waitFor(() => host.stats.withdrawn === 1, 30_000));
  t.notOk(fs.existsSync(canary), 'askFallback=full did not run it either: nobody is left to answer');
});
