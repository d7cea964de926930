/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Issue 7 item 14: remote requesters cannot fill the approvals queue the exec host prompts through. Timeouts
// are clamped to the 30 min an approval is usable, each requester has at most 16 waiting, requesters together
// at most 256 - 32, and the exec host's own prompts keep the 32 reserved slots: with the queue "full" of
// remote requests, a real prompt from a real exec host still reaches an operator and its command runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t, { type Test } from 'tap';

import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { startExecHost } from '../../lib/exec-host/server.js';
import { startNodeHost } from '../../lib/node-host/host.js';
import { EXEC_APPROVAL_TTL_MS } from '../../lib/protocol/constants.js';
import { connectOk, startTestGateway, type RawClient } from '../helpers/gateway.js';

t.setTimeout(120_000);

const cliOperator = { role: 'operator' as const, clientId: 'cli', mode: 'cli', identity: null };
const DAYS_24 = 24 * 24 * 60 * 60_000;

t.test('PendingApprovals: per-owner cap, remote share, local reserve', async (t) => {
  const pending = new PendingApprovals({ maxPending: 10, reservedForLocal: 3, maxPerOwner: 4 });
  for (let i = 0; i < 4; i++) pending.add({ n: i }, { owner: 'a' });
  t.throws(() => pending.add({}, { owner: 'a' }), { code: 'ERR_APPROVALS_OWNER_LIMIT' });
  for (let i = 0; i < 3; i++) pending.add({ n: i }, { owner: 'b' });
  t.throws(() => pending.add({}, { owner: 'c' }), { code: 'ERR_APPROVALS_FULL' }, 'remote share (7) used up');
  for (let i = 0; i < 3; i++) pending.add({ local: i });
  t.throws(() => pending.add({ local: 'x' }), { code: 'ERR_APPROVALS_FULL' }, 'the whole queue is full');
  const first = pending.list()[0]!;
  pending.cancel(first.id);
  t.doesNotThrow(() => pending.add({}, { owner: 'a' }), "a finished entry frees its owner's slot");
  pending.close();
});

async function stack(t: Test) {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-limits-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const nodeState = path.join(root, 'node');
  fs.mkdirSync(nodeState, { mode: 0o700 });
  fs.writeFileSync(
    path.join(nodeState, 'exec-approvals.json'),
    JSON.stringify({ version: 1, defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' } }),
    { mode: 0o600 },
  );
  const pending = new PendingApprovals();
  const gw = await startTestGateway(t, { pending, autoApproveNodes: true });
  const app = await startExecHost({ stateDir: nodeState, pending, auditLog: false, promptTimeoutMs: 60_000 });
  t.teardown(() => app.close());
  const host = startNodeHost({ url: gw.url, token: gw.token, stateDir: nodeState, execHost: 'app', log: () => {} });
  t.teardown(() => host.close());
  await host.ready;
  await gw.nodes.waitFor(host.nodeId);
  return { root, gw, pending, nodeId: host.nodeId };
}

/** Files one long-lived approval request; resolves with the first (accepted or error) answer. */
async function file(client: RawClient, n: number): Promise<any> {
  const id = client.requestId('exec.approval.request', {
    command: `sleep ${n}`,
    commandArgv: ['sleep', String(n)],
    timeoutMs: DAYS_24,
    twoPhase: true,
  });
  return client.response(id);
}

t.test('a flood of remote approval requests leaves room for the exec host’s own prompt', async (t) => {
  const { root, gw, pending, nodeId } = await stack(t);
  const approver = (await connectOk(gw, cliOperator)).client;

  const flooder = (await connectOk(gw, cliOperator)).client;
  const accepted: any[] = [];
  for (let n = 0; n < 16; n++) accepted.push(await file(flooder, n));
  t.ok(
    accepted.every((a) => a.ok && a.payload.status === 'accepted'),
    '16 requests from one requester accepted',
  );
  t.equal(
    accepted[0].payload.expiresAtMs - accepted[0].payload.createdAtMs,
    EXEC_APPROVAL_TTL_MS,
    'a 24-day timeout is clamped to the 30 min an approval is usable',
  );
  const seventeenth = await file(flooder, 16);
  t.match(
    seventeenth.error,
    { code: 'UNAVAILABLE', details: { code: 'APPROVALS_PER_REQUESTER_LIMIT', limit: 16 }, retryable: true },
    'the 17th from the same requester is refused',
  );

  // More requesters fill the share remote requesters may use (256 - 32 reserved).
  let refusedFull = 0;
  for (let c = 0; c < 20 && refusedFull === 0; c++) {
    const more = (await connectOk(gw, cliOperator)).client;
    for (let n = 0; n < 16; n++) {
      const res = await file(more, 100 * c + n);
      if (!res.ok) {
        refusedFull++;
        t.match(res.error, { code: 'UNAVAILABLE', message: /too many pending approvals from requesters/ });
        break;
      }
    }
  }
  t.equal(pending.size, 256 - 32, `remote requests hold ${pending.size} of 256 slots`);
  t.equal(refusedFull, 1, 'the next remote request is refused');

  // A command outside the (empty) allowlist: the exec host asks through the shared queue.
  const canary = path.join(root, 'canary');
  const prompt = approver.next(
    (f) => f.type === 'event' && f.event === 'exec.approval.requested' && f.payload.request.host === 'app',
    20_000,
  );
  const runId = approver.requestId('node.invoke', {
    nodeId,
    command: 'system.run',
    params: { command: ['/usr/bin/touch', canary], agentId: 'main' },
    idempotencyKey: 'touch-1',
    timeoutMs: 60_000,
  });
  const asked = await prompt.catch(() => undefined);
  t.ok(asked, 'the prompt was not denied unasked');
  if (!asked) return;
  t.pass(`the exec host's prompt reached operators (queue holds ${pending.size})`);
  const resolved = await approver.request('exec.approval.resolve', { id: asked.payload.id, decision: 'allow-once' });
  t.equal(resolved.ok, true);
  const ran = await approver.response(runId, 60_000);
  t.equal(ran.ok, true, `the approved command ran: ${JSON.stringify(ran.error ?? null)}`);
  t.ok(fs.existsSync(canary), 'and its effect is there');
});
