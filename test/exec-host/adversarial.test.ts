// Adversarial cases of shared/spec/security-cases.md §3 not covered elsewhere, against a real exec host
// over its real Unix socket. Each rejection also asserts that nothing ran (a canary file).
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildExecLine, execViaSocket } from '../../lib/exec-host/client.js';
import { encodeLine } from '../../lib/common/jsonl.js';
import { signExecRequest } from '../../lib/exec-host/hmac.js';
import { parseReply, rawExchange, startHost, tmpRoot, waitFor } from '../helpers/exec-host.js';
import { OTHER_UID as NOBODY, spawnNodeAs } from '../helpers/other-uid.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const TOUCH = fs.realpathSync('/usr/bin/touch');
const FIND = fs.realpathSync('/usr/bin/find');
const here = path.dirname(fileURLToPath(import.meta.url));

/** Direct children of this process that are zombies (state Z in /proc/<pid>/stat). */
function zombieChildren(): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === process.pid && fields[0] === 'Z') out.push(Number(entry));
  }
  return out;
}

t.test('auth protocol', async (t) => {
  const { host, token, root } = await startHost(t);
  const canary = path.join(root, 'canary');
  const touch = { command: [TOUCH, canary] };

  t.test('case 12: a wrong MAC is answered with reason hmac, counted, and the connection closed', async (t) => {
    const before = host.stats.authFailures;
    const bad = buildExecLine(touch, 'B'.repeat(32));
    const r = await rawExchange(host.socketPath, bad.line, { end: false });
    t.same(parseReply(r.text)?.error, { code: 'INVALID_REQUEST', message: 'invalid auth', reason: 'hmac' });
    t.ok(r.closedByServer, 'the server closed the connection (the client never half-closed)');
    t.equal(host.stats.authFailures, before + 1);
    const hmacSource = fs.readFileSync(path.join(here, '../../lib/exec-host/hmac.ts'), 'utf8');
    t.match(
      hmacSource,
      /timingSafeEqualString\(signExecRequest\(/,
      'the MAC is compared by the constant-time comparator (test/common/constant-time.test.ts)',
    );
    t.notOk(fs.existsSync(canary), 'nothing ran');
  });

  t.test('case 14: replay on the same connection, on a new connection, and after the TTL', async (t) => {
    // Same connection: one request per connection, so a second line (even freshly signed) is never read.
    const first = buildExecLine({ command: ['true'] }, token);
    const second = buildExecLine(touch, token);
    const same = await rawExchange(host.socketPath, first.line + first.line + second.line, { end: false });
    t.equal(same.text.trim().split('\n').length, 1, 'exactly one reply');
    t.equal(parseReply(same.text)?.id, first.id);
    t.ok(same.closedByServer);
    t.notOk(fs.existsSync(canary), 'the second line on the connection did not run');

    // After the TTL: accepted near the edge, then replayed once it has expired. 8 s old leaves 2 s for the
    // first exchange on a loaded box; 2.2 s later the ts is over 10.2 s old, past the 10 s TTL for certain.
    const old = buildExecLine(touch, token, { ts: Date.now() - 8_000 });
    t.equal(parseReply((await rawExchange(host.socketPath, old.line)).text)?.ok, true, 'first use ran');
    t.ok(fs.existsSync(canary));
    fs.rmSync(canary);
    await new Promise((r) => setTimeout(r, 2_200));
    const late = parseReply((await rawExchange(host.socketPath, old.line)).text);
    t.same(late?.error, { code: 'INVALID_REQUEST', message: 'expired request', reason: 'ttl' });
    t.notOk(fs.existsSync(canary), 'the replay after the TTL did not run');
    // (Replay on a new connection within the TTL: server-protocol.test.ts "replay: …".)
  });

  t.test('case 15: reflection of a server message or of a MAC made for another message', async (t) => {
    const { line } = buildExecLine({ command: ['echo', 'hi'] }, token);
    const reply = (await rawExchange(host.socketPath, line)).text;
    t.match(parseReply(reply), { type: 'exec-res', ok: true });
    const droppedBefore = host.stats.dropped;
    const back = await rawExchange(host.socketPath, reply);
    t.equal(back.text, '', 'an exec-res sent to the server gets no reply');
    t.equal(host.stats.dropped, droppedBefore + 1, 'and is dropped');
    const signed = JSON.parse(line) as Record<string, unknown>;
    const reflected = await rawExchange(
      host.socketPath,
      encodeLine({ ...signed, id: 'refl', requestJson: JSON.stringify(touch) }),
    );
    t.same(
      parseReply(reflected.text)?.error,
      { code: 'INVALID_REQUEST', message: 'invalid auth', reason: 'hmac' },
      'a MAC for one request does not authorise another',
    );
    const asPayload = await rawExchange(
      host.socketPath,
      encodeLine({ ...signed, id: 'refl2', requestJson: reply.trim() }),
    );
    t.same(
      parseReply(asPayload.text)?.error,
      { code: 'INVALID_REQUEST', message: 'invalid auth', reason: 'hmac' },
      'the server reply as requestJson',
    );
    t.notOk(fs.existsSync(canary), 'nothing ran');
  });

  t.test('case 16: argv, env or cwd altered, or keys reordered, under a valid MAC', async (t) => {
    const nonce = 'c16';
    const ts = Date.now();
    const requestJson = JSON.stringify({ command: [TOUCH, canary], cwd: root, env: { A: '1' } });
    const hmac = signExecRequest(token, nonce, ts, requestJson);
    const variants = {
      'key order': JSON.stringify({ cwd: root, command: [TOUCH, canary], env: { A: '1' } }),
      'env altered': JSON.stringify({ command: [TOUCH, canary], cwd: root, env: { A: '2' } }),
      'cwd altered': JSON.stringify({ command: [TOUCH, canary], cwd: '/', env: { A: '1' } }),
      'argv altered': JSON.stringify({ command: [TOUCH, `${canary}2`], cwd: root, env: { A: '1' } }),
      'escaped spelling': requestJson.replace('"A"', '"\\u0041"'),
    };
    for (const [what, body] of Object.entries(variants)) {
      const r = parseReply(
        (await rawExchange(host.socketPath, encodeLine({ type: 'exec', id: what, nonce, ts, hmac, requestJson: body })))
          .text,
      );
      t.equal((r?.error as { reason?: string } | undefined)?.reason, 'hmac', what);
    }
    t.notOk(fs.existsSync(canary) || fs.existsSync(`${canary}2`), 'nothing ran');
    const control = parseReply(
      (await rawExchange(host.socketPath, encodeLine({ type: 'exec', id: 'ok', nonce, ts, hmac, requestJson }))).text,
    );
    t.equal(control?.ok, true, 'control: the exact signed bytes run');
    t.ok(fs.existsSync(canary));
    fs.rmSync(canary);
  });
});

t.test('case 23 on the wire: find -exec under an allowlisted find is denied; plain find runs', async (t) => {
  const { host, token, root } = await startHost(t, {
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: FIND }] } };
    },
  });
  const canary = path.join(root, 'canary');
  const opts = { socketPath: host.socketPath, token };
  t.match(
    await execViaSocket({ command: [FIND, root, '-maxdepth', '0'] }, opts),
    { ok: true, payload: { stdout: `${root}\n` } },
    'control',
  );
  t.match(await execViaSocket({ command: [FIND, root, '-maxdepth', '0', '-exec', TOUCH, canary, ';'] }, opts), {
    ok: false,
    error: { reason: 'allowlist-miss' },
  });
  t.notOk(fs.existsSync(canary), 'nothing ran');
});

t.test('case 27: /proc/<child>/fd of a command run by the host holds only 0, 1 and 2', async (t) => {
  const { host, token, root } = await startHost(t);
  const pidFile = path.join(root, 'child.pid');
  // The host holds its listening socket, the accepted connection, and the lock/audit files right now.
  const running = execViaSocket(
    { command: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], timeoutMs: 60_000 },
    { socketPath: host.socketPath, token, timeoutMs: 60_000 },
  );
  t.ok(
    await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').endsWith('\n'), 20_000),
    'child started',
  );
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  t.ok(
    await waitFor(() => {
      try {
        return fs.readlinkSync(`/proc/${pid}/exe`).endsWith('/sleep');
      } catch {
        return false;
      }
    }, 10_000),
    'child exec-ed sleep',
  );
  const fds = fs.readdirSync(`/proc/${pid}/fd`).sort();
  t.same(
    fds,
    ['0', '1', '2'],
    `only stdio: ${fds.map((fd) => `${fd}->${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`).join(' ')}`,
  );
  t.equal(fs.readlinkSync(`/proc/${pid}/fd/0`), '/dev/null', 'stdin is /dev/null');
  process.kill(pid, 'SIGKILL');
  t.match(await running, { ok: true, payload: { success: false } });
});

t.test('case 21: after floods, timeouts and background children, no zombie children remain', async (t) => {
  // One client, 22 runs at once: allowed a share that fits them all (run-slot limits are tested elsewhere).
  const { host, token } = await startHost(t, {
    runner: { killGraceMs: 200 },
    maxConcurrentRuns: 22,
    maxRunsPerPeer: 22,
  });
  const opts = { socketPath: host.socketPath, token, timeoutMs: 60_000 };
  const runs = await Promise.all([
    ...Array.from({ length: 20 }, () => execViaSocket({ command: ['/bin/sh', '-c', 'true & true & exit 3'] }, opts)),
    execViaSocket({ command: ['/usr/bin/yes'], timeoutMs: 300 }, opts),
    execViaSocket({ command: ['/bin/sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 300 }, opts),
  ]);
  t.ok(
    runs.slice(0, 20).every((r) => r.ok && r.payload.exitCode === 3),
    'all answered',
  );
  t.match(runs[20], { ok: true, payload: { timedOut: true } });
  t.ok(runs[20].ok && runs[20].payload.stdout.length <= 210_000, 'yes output capped');
  t.match(runs[21], { ok: true, payload: { timedOut: true } });
  t.ok(await waitFor(() => zombieChildren().length === 0, 15_000), `no zombies: ${zombieChildren().join(',')}`);
});

t.test(
  'case 18: 40 oversize lines (200 MB in all) from another process are cut off; host RSS stays bounded',
  async (t) => {
    const { host, token } = await startHost(t);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const droppedBefore = host.stats.dropped;
    const attacker = spawn(
      '/usr/bin/env',
      [
        '-u',
        'NODE_OPTIONS',
        process.execPath,
        '-e',
        `
    const net = require('node:net');
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let closed = 0;
    for (let i = 0; i < 40; i++) {
      const s = net.connect(process.argv[1]);
      let sent = 0;
      const pump = () => { while (sent < 5 * (1 << 20) && !s.destroyed) { sent += chunk.length; if (!s.write(chunk)) { s.once('drain', pump); return; } } };
      s.on('connect', pump);
      s.on('error', () => {});
      s.on('close', () => { if (++closed === 40) process.exit(0); });
    }
    setTimeout(() => process.exit(1), 60000);
  `,
        host.socketPath,
      ],
      { stdio: 'inherit' },
    );
    const code = await new Promise<number | null>((r) => attacker.on('exit', r));
    t.equal(code, 0, 'every attacker connection was closed by the host');
    t.ok(host.stats.dropped - droppedBefore >= 40, 'each counted as dropped');
    const growthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    t.comment(`host process RSS growth: ${growthMb.toFixed(1)} MiB for 200 MiB offered`);
    t.ok(growthMb < 64, `RSS growth ${growthMb.toFixed(1)} MiB < 64 MiB`);
    t.equal(
      (await execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token })).ok,
      true,
      'still serving',
    );
  },
);

t.test(
  'case 20: 500 sockets trickling 1 byte/s are closed at the default 5 s deadline; legitimate p99 meanwhile',
  async (t) => {
    const { host, token } = await startHost(t);
    const attackers = Array.from(
      { length: 500 },
      () =>
        new Promise<{ closedAfterMs: number; bytes: number }>((resolve) => {
          const s = net.connect(host.socketPath);
          const started = Date.now();
          let bytes = 0;
          const timer = setInterval(() => {
            if (!s.destroyed) {
              s.write('{');
              bytes++;
            }
          }, 1_000);
          s.on('connect', () => {
            s.write('{');
            bytes++;
          });
          s.on('error', () => {});
          s.on('close', () => {
            clearInterval(timer);
            resolve({ closedAfterMs: Date.now() - started, bytes });
          });
          setTimeout(() => s.destroy(), 30_000).unref();
        }),
    );
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const started = Date.now();
      const r = await execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token, timeoutMs: 20_000 });
      latencies.push(Date.now() - started);
      t.equal(r.ok, true, `legit request ${i}`);
    }
    const results = await Promise.all(attackers);
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1];
    const closed = results.map((r) => r.closedAfterMs).sort((a, b) => a - b);
    t.comment(
      `legit exec latency under attack: p50 ${latencies[20]} ms, p99 ${p99} ms; attackers closed after ${closed[0]}-${closed[closed.length - 1]} ms`,
    );
    t.ok(p99 < 3_000, `p99 ${p99} ms < 3000 ms`);
    t.ok(
      results.every((r) => r.bytes >= 4),
      'every attacker kept trickling (the deadline is not reset by data)',
    );
    t.ok(
      closed[0] >= 4_500 && closed[closed.length - 1] < 15_000,
      'closed at the 5 s pre-auth deadline, not before and not never',
    );
  },
);

t.test(
  'case 10: identity is the connect-time credential even when the fd is passed by SCM_RIGHTS',
  { skip: process.getuid?.() !== 0 ? 'SKIPPED LOUDLY: needs root to run a second uid' : false },
  async (t) => {
    const root = tmpRoot(t);
    const { host, token } = await startHost(t, { root });
    const canary = path.join(root, 'canary');
    fs.chmodSync(root, 0o711);
    fs.chmodSync(host.stateDir, 0o711);
    fs.chmodSync(host.socketPath, 0o666);
    // A uid-65534 helper with an IPC channel (fd passing over it is SCM_RIGHTS): it connects on request and
    // hands the connected socket over, or writes a line on a socket handed to it and reports the reply.
    const helper = spawnNodeAs(
      t,
      [
        '-e',
        `
    const net = require('node:net');
    process.on('message', (m, handle) => {
      if (m.op === 'connect') { const s = net.connect(m.path, () => { process.send({ op: 'socket' }, s); }); s.on('error', () => {}); }
      if (m.op === 'write') {
        let out = '';
        handle.on('data', (c) => { out += c; });
        handle.on('error', () => {});
        handle.on('close', () => process.send({ op: 'reply', out }));
        handle.end(m.line);
      }
    });
  `,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    t.teardown(() => helper.kill('SIGKILL'));
    const nextMessage = (): Promise<[{ op: string; out?: string }, net.Socket | undefined]> =>
      new Promise((resolve) =>
        helper.once('message', (m: { op: string }, h: unknown) => resolve([m, h as net.Socket | undefined])),
      );

    // 1. Connected by uid 65534, then used by root: still uid 65534 → deny, nothing runs.
    const rejectedBefore = host.stats.rejectedPeers;
    const gotSocket = nextMessage();
    helper.send({ op: 'connect', path: host.socketPath });
    const [, passed] = await gotSocket;
    t.ok(passed, 'root received the socket connected by 65534');
    const { line } = buildExecLine({ command: [TOUCH, canary] }, token);
    const reply = await new Promise<string>((resolve) => {
      let out = '';
      passed!.on('data', (c: Buffer) => {
        out += c.toString();
      });
      passed!.on('error', () => {});
      passed!.on('close', () => resolve(out));
      passed!.end(line);
    });
    t.match(parseReply(reply), { type: 'decision', decision: 'deny' });
    t.equal(host.stats.rejectedPeers, rejectedBefore + 1);
    t.notOk(fs.existsSync(canary), 'nothing ran');

    // 2. Connected by root, then written by uid 65534: attributed to root (the connect-time uid).
    const ours = net.connect(host.socketPath);
    await new Promise((r) => ours.once('connect', r));
    const signed = buildExecLine({ command: [TOUCH, canary] }, token);
    const gotReply = nextMessage();
    helper.send({ op: 'write', line: signed.line }, ours);
    const [answer] = await gotReply;
    ours.destroy();
    t.match(parseReply(answer.out ?? ''), { type: 'exec-res', id: signed.id, ok: true });
    t.ok(fs.existsSync(canary), 'ran as the connect-time (root) peer');
    const audit = fs
      .readFileSync(host.auditFile!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id?: string; event?: string; peer?: { uid: number } });
    t.equal(audit.find((r) => r.id === signed.id)?.peer?.uid, 0, 'audit attributes it to uid 0, not 65534');
    t.equal(audit.filter((r) => r.event === 'peer-rejected').at(-1)?.peer?.uid, NOBODY, 'and the first one to 65534');
  },
);

t.test('case 26: a binary swapped while its allowed run waits for a run slot is not run', async (t) => {
  const { host, token, root } = await startHost(t, { maxConcurrentRuns: 1, maxRunsPerPeer: 2 });
  const tool = path.join(root, 'tool');
  const canary = path.join(root, 'canary');
  const started = path.join(root, 'started');
  const go = path.join(root, 'go');
  fs.writeFileSync(tool, '#!/bin/sh\necho good\n', { mode: 0o755 });
  const opts = { socketPath: host.socketPath, token, timeoutMs: 60_000 };
  // Occupy the only run slot until the test says go.
  const blocker = execViaSocket(
    { command: ['/bin/sh', '-c', `touch ${started}; while [ ! -e ${go} ]; do sleep 0.05; done`] },
    opts,
  );
  t.ok(await waitFor(() => fs.existsSync(started), 20_000), 'the slot is taken');
  const queued = execViaSocket({ command: [tool] }, opts);
  t.ok(
    await waitFor(() => host.stats.queuedRuns === 1, 20_000),
    'the tool run passed the policy check and waits for the slot',
  );
  const evil = path.join(root, 'evil');
  fs.writeFileSync(evil, `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
  fs.renameSync(evil, tool);
  fs.writeFileSync(go, '');
  t.match(await blocker, { ok: true, payload: { exitCode: 0 } });
  t.match(await queued, { ok: false, error: { code: 'UNAVAILABLE', reason: 'execution-plan-miss' } });
  t.notOk(fs.existsSync(canary), 'the swapped-in binary never ran');
  t.equal(host.stats.queuedRuns, 0);
  fs.writeFileSync(tool, '#!/bin/sh\necho good\n', { mode: 0o755 });
  t.match(
    await execViaSocket({ command: [tool] }, opts),
    { ok: true, payload: { stdout: 'good\n' } },
    'control: an unswapped run goes through',
  );
});
