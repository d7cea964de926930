/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// The Gateway methods the control page stands on: exec.approvals.get|set over the host's policy file
// (token redacted, baseHash rule), audit.activity.list over a real exec host's audit log, and
// node.list's lastSeenAtMs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { approvalsFilePath, updateApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import { AUDIT_FILE_NAME } from '../../lib/exec-host/audit-log.js';
import { execViaSocket, loadClientConfig } from '../../lib/exec-host/client.js';
import { startExecHost } from '../../lib/exec-host/server.js';
import { ALL_OPERATOR_SCOPES, connectOk, startTestGateway, tempStateDir, until } from '../helpers/gateway.js';

const backend = (scopes: string[]) => ({
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes,
});
const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

t.test('exec.approvals.get: the host file without its socket token, hash over its bytes', async (t) => {
  const stateDir = tempStateDir(t); // short: the exec socket path must fit sun_path
  const gw = await startTestGateway(t, { stateDir });
  const { client } = await connectOk(gw, backend(['operator.read']));
  const missing = (await client.request('exec.approvals.get', {})).payload;
  t.match(missing, { exists: false, hash: sha256(''), file: { version: 1 } });
  t.equal(missing.path, approvalsFilePath(stateDir));

  const host = await startExecHost({ stateDir, auditLog: false });
  t.teardown(() => host.close());
  const text = fs.readFileSync(approvalsFilePath(stateDir), 'utf8');
  const token = JSON.parse(text).socket.token as string;
  t.ok(token.length >= 32, 'the exec host wrote a socket token');
  const got = await client.request('exec.approvals.get', {});
  t.equal(got.payload.hash, sha256(text));
  t.same(got.payload.file.socket, { path: host.socketPath }, 'socket path shown, token not');
  t.notOk(JSON.stringify(got).includes(token), 'the token appears nowhere in the answer');
  t.match((await client.request('exec.approvals.set', { file: got.payload.file, baseHash: got.payload.hash })).error, {
    message: 'missing scope: operator.admin',
  });
});

t.test('exec.approvals.set: baseHash rule, socket kept, bad files refused', async (t) => {
  const stateDir = tempStateDir(t); // short: the exec socket path must fit sun_path
  const gw = await startTestGateway(t, { stateDir });
  const host = await startExecHost({ stateDir, auditLog: false });
  t.teardown(() => host.close());
  const { client } = await connectOk(gw, backend(ALL_OPERATOR_SCOPES));
  const before = (await client.request('exec.approvals.get', {})).payload;
  const token = JSON.parse(fs.readFileSync(approvalsFilePath(stateDir), 'utf8')).socket.token;
  const edit = {
    ...before.file,
    socket: { path: '/tmp/elsewhere.sock', token: 'attacker-chosen' },
    defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
    agents: { main: { allowlist: [{ pattern: '/usr/bin/echo' }] } },
  };

  const noBase = await client.request('exec.approvals.set', { file: edit });
  t.match(noBase.error, { code: 'INVALID_REQUEST', details: { code: 'BASE_HASH_REQUIRED' } });
  t.match(noBase.error.message, /base hash required; re-run exec.approvals.get/);
  const stale = await client.request('exec.approvals.set', { file: edit, baseHash: sha256('something else') });
  t.match(stale.error, { code: 'INVALID_REQUEST', details: { code: 'BASE_HASH_CHANGED' } });
  t.match(stale.error.message, /changed since last load/);
  t.equal(sha256(fs.readFileSync(approvalsFilePath(stateDir), 'utf8')), before.hash, 'refused edits wrote nothing');

  const saved = await client.request('exec.approvals.set', { file: edit, baseHash: before.hash });
  t.equal(saved.ok, true);
  const onDisk = JSON.parse(fs.readFileSync(approvalsFilePath(stateDir), 'utf8'));
  t.same(
    onDisk.socket,
    { path: host.socketPath, token },
    "the host's socket path and token stay, the caller's are ignored",
  );
  t.match(onDisk.defaults, { security: 'allowlist', ask: 'on-miss' });
  t.match(onDisk.agents.main.allowlist[0], { pattern: '/usr/bin/echo', id: /^[0-9a-f-]{36}$/ });
  t.equal(
    saved.payload.hash,
    sha256(fs.readFileSync(approvalsFilePath(stateDir), 'utf8')),
    'answer names the new hash',
  );
  t.equal(fs.statSync(approvalsFilePath(stateDir)).mode & 0o777, 0o600);

  // The page's original load is stale now: a second editor working from it is refused.
  const late = await client.request('exec.approvals.set', { file: before.file, baseHash: before.hash });
  t.match(late.error, { details: { code: 'BASE_HASH_CHANGED' } });

  for (const bad of [
    { version: 2 },
    { version: 1, defaults: { security: 'yolo' } },
    { version: 1, agents: { main: { allowlist: [{ nopattern: 1 }] } } },
    'not an object',
  ]) {
    const res = await client.request('exec.approvals.set', { file: bad, baseHash: saved.payload.hash });
    t.match(res.error, { code: 'INVALID_REQUEST', message: /^invalid exec approvals/ }, JSON.stringify(bad));
  }
  t.match((await client.request('exec.approvals.set', { file: edit, baseHash: 1 })).error, {
    message: /invalid exec.approvals.set params/,
  });
});

async function execOnce(stateDir: string, command: string[]) {
  const { socketPath, token } = loadClientConfig(stateDir);
  return execViaSocket({ command, agentId: 'main' }, { socketPath, token });
}

t.test('audit.activity.list: newest first, exec records with argv, exit code and duration', async (t) => {
  const stateDir = tempStateDir(t); // short: the exec socket path must fit sun_path
  const pending = new PendingApprovals();
  const gw = await startTestGateway(t, { stateDir, pending });
  const host = await startExecHost({ stateDir, pending });
  t.teardown(() => host.close());
  updateApprovals(approvalsFilePath(stateDir), (f) => {
    f.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
    f.agents = { main: { allowlist: [{ pattern: fs.realpathSync('/bin/echo') }] } };
  });
  const ran = await execOnce(stateDir, ['echo', 'line\nwith newline']);
  t.equal(ran.ok, true);
  const denied = await execOnce(stateDir, ['/bin/cat', '/etc/hostname']);
  t.equal(denied.ok, false);

  const admin = (await connectOk(gw, backend(ALL_OPERATOR_SCOPES))).client;
  const reader = (await connectOk(gw, backend(['operator.read', 'operator.approvals']))).client;
  t.match((await reader.request('audit.activity.list', {})).error, { message: 'missing scope: operator.admin' });

  const { events } = (await admin.request('audit.activity.list', {})).payload;
  const execs = events.filter((e: any) => e.action.startsWith('exec.'));
  t.equal(execs.length, 2, 'both runs are recorded');
  const [last, first] = execs;
  t.match(last, { kind: 'exec', action: 'exec.denied', status: 'denied', argv: ['/bin/cat', '/etc/hostname'] });
  t.match(first, {
    kind: 'exec',
    action: 'exec.ran',
    status: 'ran',
    argv: ['echo', 'line\nwith newline'],
    exitCode: 0,
    agentId: 'main',
    executable: fs.realpathSync('/bin/echo'),
    peer: { pid: process.pid, exe: fs.realpathSync(process.execPath) },
  });
  t.type(first.durationMs, 'number');
  t.ok(first.occurredAt <= last.occurredAt, 'newest first');

  const onlyRan = (await admin.request('audit.activity.list', { status: 'ran' })).payload.events;
  t.same(
    onlyRan.map((e: any) => e.action),
    ['exec.ran'],
  );
  t.same((await admin.request('audit.activity.list', { limit: 1 })).payload.events.length, 1);
  t.same((await admin.request('audit.activity.list', { before: first.occurredAt })).payload.events, []);
  t.same((await admin.request('audit.activity.list', { kind: 'agent_run' })).payload.events, [], 'other kinds: none');
  t.match((await admin.request('audit.activity.list', { after: 10, before: 5 })).error, {
    message: 'invalid audit.activity.list range or cursor',
  });
  t.match((await admin.request('audit.activity.list', { limit: 100000 })).error, {
    message: /invalid audit.activity.list params/,
  });
});

t.test('audit.activity.list reads rotated files and skips what it cannot use', async (t) => {
  const stateDir = tempStateDir(t); // short: the exec socket path must fit sun_path
  const base = path.join(stateDir, AUDIT_FILE_NAME);
  const line = (ts: string, extra: object) => `${JSON.stringify({ ts, event: 'exec', outcome: 'ran', ...extra })}\n`;
  fs.writeFileSync(
    `${base}.1`,
    line('2026-01-01T00:00:01.000Z', { argv: ['old'] }) +
      line('2026-01-01T00:00:02.000Z', { argv: ['older-file-last'] }),
  );
  fs.writeFileSync(
    base,
    [
      line('2026-01-01T00:00:03.000Z', { argv: ['new'] }),
      'not json\n',
      `${'{'.repeat(100)}\n`,
      line('not a date', { argv: ['no time'] }),
      line('2026-01-01T00:00:04.000Z', { argv: ['x', 5], command: 7, exitCode: 'zero', __proto__: { polluted: 1 } }),
      line('2026-01-01T00:00:05.000Z', { argv: ['newest'] }).trimEnd(), // no final newline
    ].join(''),
  );
  const gw = await startTestGateway(t, { stateDir });
  const { client } = await connectOk(gw, backend(ALL_OPERATOR_SCOPES));
  const { events } = (await client.request('audit.activity.list', {})).payload;
  t.same(
    events.map((e: any) => e.argv?.[0] ?? '(none)'),
    ['newest', '(none)', 'new', 'older-file-last', 'old'],
    'both files, newest first; unparseable or undated lines skipped',
  );
  t.same(Object.keys(events[1]).sort(), ['action', 'id', 'kind', 'occurredAt', 'status'], 'mistyped fields dropped');
  t.equal(({} as any).polluted, undefined);
});

t.test('node.list: an offline node says when it was last seen', async (t) => {
  const gw = await startTestGateway(t, { autoApproveNodes: true });
  const node = await connectOk(gw, { role: 'node' });
  const nodeId = node.identity!.deviceId;
  const { client } = await connectOk(gw, backend(ALL_OPERATOR_SCOPES));
  const online = (await client.request('node.list', {})).payload.nodes.find((n: any) => n.nodeId === nodeId);
  t.match(online, { connected: true, paired: true });
  t.equal(online.lastSeenAtMs, undefined, 'a connected node has connectedAtMs instead');
  const before = Date.now();
  node.client.close();
  await until(() => gw.nodes.list().length === 0);
  const offline = (await client.request('node.list', {})).payload.nodes.find((n: any) => n.nodeId === nodeId);
  t.match(offline, { connected: false, paired: true });
  t.ok(offline.lastSeenAtMs >= before && offline.lastSeenAtMs <= Date.now(), 'last seen at the disconnect');
});
