// Policy, prompts and persistence through a real exec host: Always Allow, askFallback on a prompt
// timeout, the PendingApprovals queue, lastUsed write-back, env injection, the `request` path, audit log.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import { execViaSocket, requestApprovalViaSocket } from '../../lib/exec-host/client.js';
import { readApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import type { Approver } from '../../lib/exec-host/prompts.js';
import { PendingApprovals, type ApprovalDecision } from '../../lib/common/approval-queue.js';
import { startHost, tmpRoot } from '../helpers/exec-host.js';

const ECHO = fs.realpathSync('/bin/echo');
const TOUCH = fs.realpathSync('/usr/bin/touch');

/** A scripted human: answers each prompt with the next decision (undefined = never answers). */
function scriptedApprover(answers: (ApprovalDecision | undefined)[]): Approver & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: 'scripted',
    asked,
    isAvailable: () => true,
    ask: (prompt, signal) => {
      asked.push(prompt.commandText);
      const answer = answers.shift();
      if (answer === undefined)
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
      return Promise.resolve(answer);
    },
  };
}

t.test('Always Allow persists the resolved path; later runs need no prompt and update lastUsed*', async (t) => {
  const approver = scriptedApprover(['allow-always']);
  const { host, token } = await startHost(t, {
    approver,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
  });
  const opts = { socketPath: host.socketPath, token };
  const first = await execViaSocket({ command: ['echo', 'one'] }, opts);
  t.match(first, { ok: true, payload: { stdout: 'one\n' } });
  t.same(approver.asked, ['echo one']);
  const entries = readApprovals(host.approvalsFile)?.agents?.main?.allowlist ?? [];
  t.equal(entries.length, 1);
  t.match(entries[0], { pattern: ECHO, lastResolvedPath: ECHO, lastUsedCommand: 'echo one' });
  t.match(entries[0].id, /^[0-9a-f-]{36}$/);
  t.equal(fs.statSync(host.approvalsFile).mode & 0o777, 0o600);
  const firstUsed = entries[0].lastUsedAt ?? 0;
  await new Promise((r) => setTimeout(r, 5));
  const second = await execViaSocket({ command: ['echo', 'two'] }, opts);
  t.match(second, { ok: true, payload: { stdout: 'two\n' } });
  t.same(approver.asked, ['echo one'], 'no second prompt');
  // Usage bookkeeping is coalesced off the hot path: wait (bounded) for the write-back.
  const deadline = Date.now() + 15_000;
  let after = readApprovals(host.approvalsFile)!.agents!.main.allowlist![0];
  while (after.lastUsedCommand !== 'echo two' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    after = readApprovals(host.approvalsFile)!.agents!.main.allowlist![0];
  }
  t.equal(after.lastUsedCommand, 'echo two');
  t.ok((after.lastUsedAt ?? 0) > firstUsed, 'lastUsedAt advanced');
});

t.test('no decision before the prompt timeout → askFallback', async (t) => {
  for (const [fallback, expectRun] of [
    ['deny', false],
    ['full', true],
    ['allowlist', false],
  ] as const) {
    const approver = scriptedApprover([undefined]);
    const { host, token, root } = await startHost(t, {
      approver,
      promptTimeoutMs: 300,
      policy: (d) => {
        d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: fallback };
      },
    });
    const canary = path.join(root, 'canary');
    const started = Date.now();
    const r = await execViaSocket({ command: ['touch', canary] }, { socketPath: host.socketPath, token });
    t.ok(Date.now() - started >= 250, `waited for the prompt (${fallback})`);
    t.equal(approver.asked.length, 1);
    if (expectRun) {
      t.match(r, { ok: true, payload: { exitCode: 0 } }, 'askFallback full runs');
      t.ok(fs.existsSync(canary));
    } else {
      t.match(
        r,
        {
          ok: false,
          error: {
            code: 'UNAVAILABLE',
            reason: fallback === 'deny' ? 'approval-required' : 'allowlist-miss',
            // Which one it was: nobody answered (not a denial, not a missing prompt), and which fallback applied.
            detail: `nobody answered within 300 ms; askFallback=${fallback}`,
          },
        },
        `askFallback ${fallback} denies, and says why`,
      );
      t.notOk(fs.existsSync(canary), 'nothing ran');
      const audit = fs
        .readFileSync(host.auditFile!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      t.match(audit.at(-1), {
        event: 'exec',
        outcome: 'denied',
        detail: `nobody answered within 300 ms; askFallback=${fallback}`,
        prompt: { end: 'timeout', afterMs: 300 },
      });
    }
  }
});

t.test("no approver at all → askFallback immediately; Don't Allow → user-denied", async (t) => {
  const { host, token } = await startHost(t, {
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
  });
  const started = Date.now();
  t.match(await execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token }), {
    ok: false,
    error: {
      message: 'SYSTEM_RUN_DENIED: approval required',
      reason: 'approval-required',
      detail: 'nobody could be asked (no terminal, no desktop dialog, no operator queue); askFallback=deny',
    },
  });
  t.ok(Date.now() - started < 5000, 'no waiting without a UI');
  const denyHost = await startHost(t, {
    approver: scriptedApprover(['deny']),
    policy: (d) => {
      d.defaults = { security: 'full', ask: 'always' };
    },
  });
  t.match(await execViaSocket({ command: ['true'] }, { socketPath: denyHost.host.socketPath, token: denyHost.token }), {
    ok: false,
    error: {
      code: 'UNAVAILABLE',
      message: 'SYSTEM_RUN_DENIED: user denied',
      reason: 'user-denied',
      detail: 'denied by scripted',
    },
  });
});

t.test("ask=always offers only Allow Once / Don't Allow, and Always Allow is refused", async (t) => {
  const offered: ApprovalDecision[][] = [];
  const approver: Approver = {
    name: 'x',
    isAvailable: () => true,
    ask: async (p) => {
      offered.push(p.allowedDecisions);
      return 'allow-always';
    },
  };
  const { host, token } = await startHost(t, {
    approver,
    promptTimeoutMs: 2000,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'always', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: ECHO }] } };
    },
  });
  const r = await execViaSocket({ command: ['echo', 'x'] }, { socketPath: host.socketPath, token });
  t.same(offered, [['allow-once', 'deny']]);
  t.match(r, { ok: false }, 'an answer that was not offered counts as no decision → askFallback deny');
});

t.test('the PendingApprovals queue answers when an operator resolves it', async (t) => {
  const pending = new PendingApprovals();
  pending.on('requested', (approval) => {
    t.match(approval.request, { commandText: 'echo queued', agentId: 'main', resolvedPath: ECHO, host: 'app' });
    setTimeout(() => pending.resolve(approval.id, 'allow-once', 'operator'), 20);
  });
  const { host, token } = await startHost(t, {
    pending,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
  });
  const r = await execViaSocket({ command: ['echo', 'queued'] }, { socketPath: host.socketPath, token });
  t.match(r, { ok: true, payload: { stdout: 'queued\n' } });
  t.equal(pending.size, 0);
  t.notOk(readApprovals(host.approvalsFile)?.agents?.main?.allowlist?.length, 'allow-once persists nothing');
});

t.test('a prompter and the queue race: the first answer wins, the other is withdrawn', async (t) => {
  const pending = new PendingApprovals();
  const { host, token } = await startHost(t, {
    pending,
    approver: scriptedApprover(['allow-once']),
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
  });
  const r = await execViaSocket({ command: ['echo', 'raced'] }, { socketPath: host.socketPath, token });
  t.match(r, { ok: true });
  t.equal(pending.size, 0, 'queue entry cancelled once the prompter answered');
});

t.test('env injection through the socket is blocked', async (t) => {
  const { host, token, root } = await startHost(t, {
    evaluate: {
      baseEnv: {
        PATH: '/usr/bin:/bin',
        HOME: '/root',
        LD_PRELOAD: '/tmp/evil.so',
        GCONV_PATH: '/tmp/g',
        NODE_OPTIONS: '--require /tmp/x',
        OPENCLAW_EXEC_TOKEN: 'secret',
        DYLD_INSERT_LIBRARIES: '/x',
      },
    },
  });
  const canary = path.join(root, 'canary');
  const opts = { socketPath: host.socketPath, token };
  for (const key of [
    'LD_PRELOAD',
    'LD_AUDIT',
    'GCONV_PATH',
    'DYLD_INSERT_LIBRARIES',
    'NODE_OPTIONS',
    'BASH_ENV',
    'IFS',
    'PATH',
    'PYTHONPATH',
    'PERL5OPT',
    'GIT_SSH_COMMAND',
  ]) {
    const r = await execViaSocket({ command: [TOUCH, canary], env: { [key]: '/tmp/x' } }, opts);
    t.match(
      r,
      {
        ok: false,
        error: {
          code: 'INVALID_REQUEST',
          message: new RegExp(`^SYSTEM_RUN_DENIED: environment override rejected \\(${key}`),
        },
      },
      key,
    );
  }
  t.notOk(fs.existsSync(canary), 'nothing ran');
  const r = await execViaSocket({ command: ['/usr/bin/env'], env: { SAFE: 'yes' } }, opts);
  t.equal(r.ok, true);
  const lines = r.ok ? r.payload.stdout.trim().split('\n') : [];
  t.ok(lines.includes('SAFE=yes'));
  t.ok(lines.includes('HOME=/root'));
  for (const bad of ['LD_PRELOAD', 'GCONV_PATH', 'DYLD_INSERT_LIBRARIES', 'OPENCLAW_EXEC_TOKEN']) {
    t.notOk(
      lines.some((l) => l.startsWith(`${bad}=`)),
      `${bad} from the daemon env not inherited`,
    );
  }
  t.notOk(
    lines.some((l) => l.startsWith('NODE_OPTIONS=--require')),
    'daemon NODE_OPTIONS not inherited',
  );
  t.notOk(
    lines.some((l) => l.includes(token) || l.includes(host.socketPath)),
    'no token or socket path in the child env',
  );
});

t.test('the `request` path: token compared, decision relayed', async (t) => {
  const { host, token } = await startHost(t, { approver: scriptedApprover(['allow-once']) });
  t.equal(
    await requestApprovalViaSocket(
      { command: 'ls -la', cwd: '/tmp' },
      { socketPath: host.socketPath, token: 'wrong'.padEnd(32, 'x') },
    ),
    'deny',
  );
  t.equal(
    await requestApprovalViaSocket({ command: 'ls -la', cwd: '/tmp' }, { socketPath: host.socketPath, token }),
    'allow-once',
  );
});

t.test('audit log: one JSON line per decision, mode 0600, rotated by size', async (t) => {
  const { host, token } = await startHost(t, { auditLog: { maxBytes: 2000, keep: 2 } });
  for (let i = 0; i < 12; i++)
    await execViaSocket({ command: ['echo', `audit${i}`] }, { socketPath: host.socketPath, token });
  const file = host.auditFile!;
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.ok(fs.existsSync(`${file}.1`), 'rotated');
  t.equal(fs.statSync(`${file}.1`).mode & 0o777, 0o600);
  t.ok(fs.statSync(file).size <= 2000);
  const records = [fs.readFileSync(`${file}.1`, 'utf8'), fs.readFileSync(file, 'utf8')]
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = records.at(-1) as {
    event: string;
    outcome: string;
    command: string;
    peer: { pid: number; uid: number; exe: string };
    exitCode: number;
  };
  t.match(last, { event: 'exec', outcome: 'ran', command: 'echo audit11', exitCode: 0 });
  t.equal(last.peer.pid, process.pid, 'peer pid is ours');
  t.equal(last.peer.uid, process.geteuid!());
  t.equal(last.peer.exe, fs.realpathSync(process.execPath));
});

t.test('TOCTOU: a binary swapped while the prompt is open is not run (case 26)', async (t) => {
  const dir = tmpRoot(t, 'ocipc-swap-');
  const tool = path.join(dir, 'tool');
  const canary = path.join(dir, 'canary');
  fs.writeFileSync(tool, '#!/bin/sh\necho good\n', { mode: 0o755 });
  const approver: Approver = {
    name: 'swapper',
    isAvailable: () => true,
    ask: async () => {
      // While the human "thinks", the attacker renames another binary over the checked path.
      const evil = path.join(dir, 'evil');
      fs.writeFileSync(evil, `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
      fs.renameSync(evil, tool);
      return 'allow-once';
    },
  };
  const { host, token } = await startHost(t, {
    approver,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
  });
  const r = await execViaSocket({ command: [tool] }, { socketPath: host.socketPath, token });
  t.match(r, { ok: false, error: { code: 'UNAVAILABLE', reason: 'execution-plan-miss' } });
  t.notOk(fs.existsSync(canary), 'the swapped-in binary never ran');
});
