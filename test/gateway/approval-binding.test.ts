/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Issue 7 item 9: an approval authorises exactly the argv, cwd, env, agent, session and node it was shown
// with, whatever the shape of the request that asked for it; an approval with nothing to bind to authorises
// no run. End to end with a real node host and a real exec host (app mode): a refused run executes nothing
// (a canary file stays absent), although approved runs skip the exec host's allowlist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { startExecHost } from '../../lib/exec-host/server.js';
import { startNodeHost } from '../../lib/node-host/host.js';
import { ALL_OPERATOR_SCOPES, connectOk, startTestGateway, type RawClient, type Tap } from '../helpers/gateway.js';

t.setTimeout(120_000);

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

const TOUCH = fs.existsSync('/usr/bin/touch') ? '/usr/bin/touch' : '/bin/touch';
const ECHO = fs.existsSync('/usr/bin/echo') ? '/usr/bin/echo' : '/bin/echo';

async function stack(t: Tap) {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bind-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const nodeState = path.join(root, 'node');
  fs.mkdirSync(nodeState, { mode: 0o700 });
  // Only echo is allowlisted; anything else would need a human, and nobody answers (askFallback deny).
  fs.writeFileSync(
    path.join(nodeState, 'exec-approvals.json'),
    JSON.stringify({
      version: 1,
      defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
      agents: { main: { allowlist: [{ pattern: ECHO }] } },
    }),
    { mode: 0o600 },
  );
  const gw = await startTestGateway(t, { autoApproveNodes: true });
  const app = await startExecHost({ stateDir: nodeState, auditLog: false, promptTimeoutMs: 300 });
  t.teardown(() => app.close());
  const host = startNodeHost({ url: gw.url, token: gw.token, stateDir: nodeState, execHost: 'app', log: () => {} });
  t.teardown(() => host.close());
  await host.ready;
  await gw.nodes.waitFor(host.nodeId);
  const requester = (await connectOk(gw, backend)).client;
  const approver = (await connectOk(gw, { ...backend, scopes: ['operator.approvals'] })).client;
  return { root, gw, nodeId: host.nodeId, requester, approver };
}

/** Files the request, answers it as a human would, returns the approval id and what the human saw. */
async function approve(
  requester: RawClient,
  approver: RawClient,
  params: Record<string, unknown>,
  decision = 'allow-once',
): Promise<{ id: string; shown: any }> {
  const seen = approver.event('exec.approval.requested');
  const reqId = requester.requestId('exec.approval.request', { ...params, twoPhase: true, timeoutMs: 60_000 });
  const accepted = await requester.response(reqId);
  if (!accepted.ok) throw new Error(`request refused: ${JSON.stringify(accepted.error)}`);
  const shown = (await seen).payload.request;
  const resolved = await approver.request('exec.approval.resolve', { id: accepted.payload.id, decision });
  if (!resolved.ok) throw new Error(`resolve failed: ${JSON.stringify(resolved.error)}`);
  return { id: accepted.payload.id, shown };
}

let key = 0;
function run(requester: RawClient, nodeId: string, params: Record<string, unknown>) {
  return requester.request('node.invoke', {
    nodeId,
    command: 'system.run',
    params: { approved: true, approvalDecision: 'allow-once', agentId: 'main', ...params },
    idempotencyKey: `run-${++key}`,
    timeoutMs: 20_000,
  });
}

t.test('approvals without a run binding (no plan, host gateway, text only) authorise no run', async (t) => {
  const { root, nodeId, requester, approver } = await stack(t);
  const canary = path.join(root, 'canary');
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['no host, argv only', { commandArgv: ['echo', 'hello'], agentId: 'main' }],
    ['host gateway, argv', { host: 'gateway', nodeId, commandArgv: ['echo', 'hello'], agentId: 'main' }],
    ['command text only', { command: 'echo hello', agentId: 'main' }],
  ];
  for (const [name, params] of shapes) {
    const { id } = await approve(requester, approver, params);
    const res = await run(requester, nodeId, { command: [TOUCH, canary], runId: id });
    t.match(
      res.error,
      { code: 'INVALID_REQUEST', details: { code: 'APPROVAL_REQUEST_MISMATCH', runId: id } },
      `${name}: refused at the Gateway`,
    );
    // The same approval for exactly what it showed is no better: there is no node/plan binding.
    const same = await run(requester, nodeId, { command: ['echo', 'hello'], runId: id });
    t.match(same.error, { details: { code: 'APPROVAL_REQUEST_MISMATCH' } }, `${name}: not even the shown argv`);
  }
  t.notOk(fs.existsSync(canary), 'nothing executed');
});

t.test('a planned approval runs exactly its plan: argv, cwd, env, agent and session are bound', async (t) => {
  const { root, nodeId, requester, approver } = await stack(t);
  const canary = path.join(root, 'canary');
  const prepare = async (argv: string[], extra: Record<string, unknown> = {}) => {
    const res = await requester.request('node.invoke', {
      nodeId,
      command: 'system.run.prepare',
      params: { command: argv, agentId: 'main', cwd: root, ...extra },
      idempotencyKey: `prep-${++key}`,
    });
    if (!res.ok) throw new Error(`prepare failed: ${JSON.stringify(res.error)}`);
    return res.payload.payload.plan;
  };
  const request = (plan: any, extra: Record<string, unknown> = {}) => ({
    host: 'node',
    nodeId,
    systemRunPlan: plan,
    ...extra,
  });

  const plan = await prepare(['echo', 'hello']);
  const variants: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['another argv', {}, { command: [TOUCH, canary] }],
    ['another cwd', {}, { command: plan.argv, cwd: '/' }],
    ['env added', {}, { command: plan.argv, env: { LC_ALL: 'C' } }],
    ['env changed', { env: { LC_ALL: 'C' } }, { command: plan.argv, env: { LC_ALL: 'POSIX' } }],
    ['env dropped', { env: { LC_ALL: 'C' } }, { command: plan.argv }],
    ['another agent', {}, { command: plan.argv, agentId: 'other' }],
    ['another session', {}, { command: plan.argv, sessionKey: 'agent:other' }],
  ];
  for (const [name, requestExtra, runParams] of variants) {
    const { id } = await approve(requester, approver, request(plan, requestExtra));
    const res = await run(requester, nodeId, { ...runParams, runId: id });
    t.match(res.error, { code: 'INVALID_REQUEST', details: { code: 'APPROVAL_REQUEST_MISMATCH' } }, name);
  }
  t.notOk(fs.existsSync(canary), 'no mismatched run executed');

  const { id } = await approve(requester, approver, request(plan, { env: { LC_ALL: 'C' } }));
  const ok = await run(requester, nodeId, { command: plan.argv, env: { LC_ALL: 'C' }, runId: id });
  t.equal(ok.ok, true, `the bound run goes through: ${JSON.stringify(ok.error ?? null)}`);
  t.match(ok.payload?.payload, { stdout: 'hello\n' });
});

t.test('what a human is shown is what is bound, not the caller-supplied text', async (t) => {
  const { root, nodeId, requester, approver } = await stack(t);
  const canary = path.join(root, 'canary');
  // A forged plan: commandText and commandArgv say "echo hello", the argv would touch a file.
  const forged = {
    argv: [TOUCH, canary],
    cwd: root,
    commandText: 'echo hello',
    commandPreview: 'echo hello',
    agentId: 'main',
    sessionKey: null,
  };
  const { id, shown } = await approve(requester, approver, {
    host: 'node',
    nodeId,
    systemRunPlan: forged,
    command: 'echo hello',
    commandArgv: ['echo', 'hello'],
    cwd: '/',
    agentId: 'main',
  });
  t.same(shown.commandArgv, forged.argv, 'the argv shown is the argv bound');
  t.equal(shown.command, `${TOUCH} ${canary}`, 'the text shown is rendered from that argv');
  t.equal(shown.cwd, root, 'the cwd shown is the plan cwd');
  t.equal(shown.systemRunPlan.commandText, `${TOUCH} ${canary}`, 'the forwarded plan text is rewritten too');
  // What was shown (and approved) is what runs; nothing else does.
  const other = await run(requester, nodeId, { command: ['echo', 'hello'], cwd: '/', runId: id });
  t.match(other.error, { details: { code: 'APPROVAL_REQUEST_MISMATCH' } }, 'the decoy argv/cwd is not the binding');
  t.notOk(fs.existsSync(canary));
});
