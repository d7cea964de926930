// The in-process exec path (`up`'s own node host) against the socket path: the same requests through
// both give the same decision, the same answer and the same audit record (bar the request id, the
// time and the run's duration), whether the policy denies, allows, misses the allowlist or asks a human.
import t from 'tap';
import fs from 'node:fs';

import { execViaSocket } from '../../lib/exec-host/client.js';
import type { ExecHostRequest } from '../../lib/exec-host/policy.js';
import type { Approver } from '../../lib/exec-host/prompts.js';
import type { ApprovalDecision } from '../../lib/common/approval-queue.js';
import type { ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import type { ExecHost } from '../../lib/exec-host/server.js';
import { startHost, writePolicy } from '../helpers/exec-host.js';

const ECHO = fs.realpathSync('/bin/echo');

/** Answers every prompt with `decision` and counts the prompts. */
function fixedApprover(decision: ApprovalDecision | null): Approver & { prompts: number } {
  const approver = {
    name: 'scripted',
    prompts: 0,
    isAvailable: () => true,
    ask: () => {
      approver.prompts++;
      return Promise.resolve(decision);
    },
  };
  return approver;
}

function auditRecords(host: ExecHost): Record<string, unknown>[] {
  return fs
    .readFileSync(host.auditFile!, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** What must match between the paths: everything but the per-request id, the clock and the peer's exe path. */
function comparable(record: Record<string, unknown>): Record<string, unknown> {
  const { ts: _ts, id: _id, durationMs: _duration, peer, ...rest } = record;
  const { pid, uid, gid } = (peer ?? {}) as Record<string, unknown>;
  return { ...rest, peer: { pid, uid, gid } };
}

function answer(reply: { ok: boolean; payload?: unknown; error?: unknown } | null): unknown {
  if (!reply) return null;
  const payload = reply.payload as Record<string, unknown> | undefined;
  return { ok: reply.ok, error: reply.error, stdout: payload?.stdout, exitCode: payload?.exitCode };
}

/** Sends `request` over the socket, then in-process; returns both answers and both new audit records. */
async function both(
  host: ExecHost,
  token: string,
  request: ExecHostRequest,
): Promise<{ socket: unknown; inProcess: unknown; socketAudit: unknown; inProcessAudit: unknown }> {
  const before = auditRecords(host).length;
  const viaSocket = await execViaSocket(request, { socketPath: host.socketPath, token });
  const afterSocket = auditRecords(host);
  const viaCall = await host.execInProcess(request, new AbortController().signal);
  const afterCall = auditRecords(host);
  return {
    socket: answer(viaSocket),
    inProcess: answer(viaCall),
    socketAudit: afterSocket.slice(before).map(comparable),
    inProcessAudit: afterCall.slice(afterSocket.length).map(comparable),
  };
}

const cases: Array<{
  name: string;
  policy: (d: ApprovalsFile) => void;
  decision?: ApprovalDecision | null;
  request: ExecHostRequest;
  expect: Record<string, unknown>;
  prompts?: number;
}> = [
  {
    name: 'security=deny',
    policy: (d) => {
      d.defaults = { security: 'deny', ask: 'off', askFallback: 'deny' };
    },
    request: { command: ['echo', 'hi'] },
    expect: { ok: false, error: { reason: 'security=deny' } },
  },
  {
    name: 'allowlist hit',
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: ECHO }] } };
    },
    request: { command: ['echo', 'hi'] },
    expect: { ok: true, stdout: 'hi\n', exitCode: 0 },
  },
  {
    name: 'allowlist miss, ask off',
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: '/nonexistent/tool' }] } };
    },
    request: { command: ['echo', 'hi'] },
    expect: { ok: false, error: { reason: 'allowlist-miss' } },
  },
  {
    name: 'shell wrapper with a chained second command under an allowlist',
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: ECHO }] } };
    },
    request: { command: ['/bin/sh', '-c', 'echo hi; touch /tmp/never'] },
    expect: { ok: false },
  },
  {
    name: 'ask on-miss, the human denies',
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
    decision: 'deny',
    request: { command: ['echo', 'hi'] },
    expect: { ok: false, error: { reason: 'user-denied', detail: 'denied by scripted' } },
    prompts: 2,
  },
  {
    name: 'ask on-miss, the human allows once',
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
    },
    decision: 'allow-once',
    request: { command: ['echo', 'once'] },
    expect: { ok: true, stdout: 'once\n' },
    prompts: 2,
  },
  {
    name: 'invalid request (empty command)',
    policy: (d) => {
      d.defaults = { security: 'full', ask: 'off', askFallback: 'deny' };
    },
    request: { command: [] },
    expect: { ok: false, error: { code: 'INVALID_REQUEST' } },
  },
  {
    name: 'env override of PATH refused',
    policy: (d) => {
      d.defaults = { security: 'full', ask: 'off', askFallback: 'deny' };
    },
    request: { command: ['echo', 'hi'], env: { PATH: '/tmp' } },
    expect: { ok: false },
  },
];

for (const c of cases) {
  t.test(`socket and in-process agree: ${c.name}`, async (t) => {
    const approver = fixedApprover(c.decision ?? null);
    const { host, token } = await startHost(t, { approver, policy: c.policy });
    const r = await both(host, token, c.request);
    t.match(r.socket, c.expect, 'the socket answer is the expected decision');
    t.same(r.inProcess, r.socket, 'the in-process answer is identical');
    t.equal((r.socketAudit as unknown[]).length, 1, 'one audit record per request');
    t.same(r.inProcessAudit, r.socketAudit, 'the same audit record');
    t.equal(approver.prompts, c.prompts ?? 0, 'prompted as often on both paths');
  });
}

t.test('in-process: the caller leaving withdraws the prompt, audited as withdrawn', async (t) => {
  let asked = 0;
  const approver: Approver = {
    name: 'never',
    isAvailable: () => true,
    ask: (_prompt, signal) => {
      asked++;
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
    },
  };
  const { host } = await startHost(t, {
    approver,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'always', askFallback: 'full' };
    },
  });
  const controller = new AbortController();
  const pending = host.execInProcess({ command: ['echo', 'hi'] }, controller.signal);
  while (asked === 0) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  t.equal(await pending, null, 'no answer: nobody is waiting for it');
  t.match(auditRecords(host).at(-1), { event: 'exec', outcome: 'withdrawn', peer: { pid: process.pid } });
  t.equal(host.stats.executed, 0, 'askFallback=full did not run it');
});

t.test('in-process after close: null (the node host reports the app unavailable)', async (t) => {
  const { host } = await startHost(t);
  await host.close();
  t.equal(await host.execInProcess({ command: ['echo', 'hi'] }, new AbortController().signal), null);
});

t.test('in-process verdict: given by the exec host, and still enforced against the policy at run time', async (t) => {
  const { host } = await startHost(t);
  const request: ExecHostRequest = { command: ['echo', 'carried'] };
  const verdict = host.evaluateInProcess(request);
  t.match(verdict, { ok: true, evaluation: { outcome: 'allow' } }, 'security=full allows it');
  // The policy changes between the verdict and the run: the exec host evaluates again and denies.
  writePolicy(host.stateDir, (d) => {
    d.defaults = { security: 'deny', ask: 'off', askFallback: 'deny' };
  });
  const reply = await host.execInProcess(request, new AbortController().signal);
  t.match(reply, { ok: false, error: { reason: 'security=deny' } }, 'denied by the policy it holds now');
  t.equal(host.stats.executed, 0, 'nothing ran');

  const denied = host.evaluateInProcess({ command: ['echo', 'hi'] });
  t.match(denied, { ok: true, evaluation: { outcome: 'deny', denial: { reason: 'security=deny' } } });
});

t.test('in-process verdict: the same answer and audit record as without one', async (t) => {
  const { host } = await startHost(t);
  const plain = await host.execInProcess({ command: ['echo', 'same'] }, new AbortController().signal);
  const request: ExecHostRequest = { command: ['echo', 'same'] };
  t.match(host.evaluateInProcess(request), { ok: true, evaluation: { outcome: 'allow' } });
  const carried = await host.execInProcess(request, new AbortController().signal);
  t.same(answer(carried), answer(plain), 'same answer');
  const [a, b] = auditRecords(host).slice(-2).map(comparable);
  t.same(b, a, 'same audit record');
});

t.test('in-process verdict: an unreadable approvals file is reported, never treated as no policy', async (t) => {
  const { host } = await startHost(t);
  fs.writeFileSync(host.approvalsFile, '{ not json', { mode: 0o600 });
  t.match(host.evaluateInProcess({ command: ['echo', 'hi'] }), { ok: false, error: String });
});
