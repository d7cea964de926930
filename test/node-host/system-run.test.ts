// The node host's system.run service with real processes: the local runner and the app path through a
// real exec host socket give the same result shape and the same denial codes; app mode with no app
// fails closed; prepare → approved run; approvals get/set with base hashes; which.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { startExecHost } from '../../lib/exec-host/server.js';
import { NodeCommandError } from '../../lib/node-host/invoke-error.js';
import { capOutput, createSystemRunService, type ExecHostMode } from '../../lib/node-host/system-run.js';
import { systemWhich } from '../../lib/node-host/which.js';

interface Captured {
  event: string;
  payload: Record<string, unknown>;
}

function setup(
  t: { teardown(fn: () => void | Promise<void>): void },
  mode: ExecHostMode,
  policy?: Record<string, unknown>,
) {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-sr-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  if (policy)
    fs.writeFileSync(path.join(stateDir, 'exec-approvals.json'), JSON.stringify({ version: 1, ...policy }), {
      mode: 0o600,
    });
  const events: Captured[] = [];
  const service = createSystemRunService({
    stateDir,
    mode,
    emitEvent: (event, payload) => events.push({ event, payload }),
  });
  return { stateDir, service, events };
}

async function outcome(
  promise: Promise<unknown>,
): Promise<{ ok: true; value: unknown } | { ok: false; code: string; message: string }> {
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    if (!(err instanceof NodeCommandError)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

const ALLOW_ECHO = {
  defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
  agents: { main: { allowlist: [{ pattern: '/usr/bin/echo' }, { pattern: '/bin/echo' }] } },
};

const cases: Array<{ name: string; policy?: Record<string, unknown>; params: Record<string, unknown> }> = [
  { name: 'no policy: project default deny', params: { command: ['echo', 'hi'] } },
  { name: 'security=deny', policy: { defaults: { security: 'deny' } }, params: { command: ['echo', 'hi'] } },
  { name: 'allowlist hit', policy: ALLOW_ECHO, params: { command: ['echo', 'hi'] } },
  { name: 'allowlist miss', policy: ALLOW_ECHO, params: { command: ['uname'] } },
  {
    name: 'full, non-zero exit',
    policy: { defaults: { security: 'full', ask: 'off' } },
    params: { command: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'] },
  },
  {
    name: 'full, timeout',
    policy: { defaults: { security: 'full', ask: 'off' } },
    params: { command: ['/bin/sleep', '5'], timeoutMs: 300 },
  },
  {
    name: 'env override rejected',
    policy: { defaults: { security: 'full', ask: 'off' } },
    params: { command: ['echo', 'x'], env: { LD_PRELOAD: '/tmp/x.so' } },
  },
  {
    name: 'rawCommand mismatch',
    policy: { defaults: { security: 'full', ask: 'off' } },
    params: { command: ['echo', 'x'], rawCommand: 'echo y' },
  },
];

t.test('local runner and app socket: identical results and denials', async (t) => {
  for (const c of cases) {
    const local = setup(t, 'local', c.policy);
    const localOut = await outcome(local.service.run(c.params, { invokeId: 'i1' }));

    const viaApp = setup(t, 'app', c.policy);
    const app = await startExecHost({ stateDir: viaApp.stateDir, auditLog: false, promptTimeoutMs: 500 });
    t.teardown(() => app.close());
    t.equal(viaApp.service.route(), 'app', `${c.name}: app route chosen`);
    const appOut = await outcome(viaApp.service.run(c.params, { invokeId: 'i2' }));
    await app.close();

    t.same(appOut, localOut, `${c.name}: same outcome through the app as locally`);
    t.same(
      viaApp.events.map((e) => [e.event, e.payload.reason]),
      local.events.map((e) => [e.event, e.payload.reason]),
      `${c.name}: same exec events`,
    );
  }
});

t.test('the outcomes are the ones node-commands.md specifies', async (t) => {
  const expectDenied = async (
    policy: Record<string, unknown> | undefined,
    params: Record<string, unknown>,
    message: string,
    reason: string,
  ) => {
    const { service, events } = setup(t, 'local', policy);
    const out = await outcome(service.run(params, { invokeId: 'x' }));
    t.same(out, { ok: false, code: 'SYSTEM_RUN_DENIED', message }, message);
    t.equal(events.length, 1);
    t.equal(events[0]!.event, 'exec.denied');
    t.equal(events[0]!.payload.reason, reason);
    t.equal(events[0]!.payload.host, 'node');
    t.equal(events[0]!.payload.sessionKey, 'node');
  };
  await expectDenied(undefined, { command: ['echo', 'hi'] }, 'SYSTEM_RUN_DISABLED: security=deny', 'security=deny');
  await expectDenied(
    ALLOW_ECHO,
    { command: ['uname'], agentId: 'main' },
    'SYSTEM_RUN_DENIED: allowlist miss',
    'allowlist-miss',
  );
  await expectDenied(
    { defaults: { security: 'allowlist', ask: 'always' } },
    { command: ['echo', 'x'] },
    // The spec's prefix, then why (upstream appends hints the same way).
    'SYSTEM_RUN_DENIED: approval required (nobody to ask: this node host runs commands itself and never prompts; no exec host app is in use)',
    'approval-required',
  );

  const { service, events, stateDir } = setup(t, 'local', ALLOW_ECHO);
  const approvalsPath = path.join(stateDir, 'exec-approvals.json');
  const inodeBefore = fs.statSync(approvalsPath).ino;
  const ran = await service.run({ command: ['echo', 'hi'], runId: 'r-1' }, { invokeId: 'y' });
  t.equal(fs.statSync(approvalsPath).ino, inodeBefore, "no fsync'd rewrite per run: lastUsed* is batched");
  t.same(
    ran,
    { exitCode: 0, timedOut: false, success: true, stdout: 'hi\n', stderr: '', error: null },
    'TS node host result shape',
  );
  t.equal(events[0]!.event, 'exec.finished');
  t.same(events[0]!.payload, {
    sessionKey: 'node',
    runId: 'r-1',
    host: 'node',
    command: 'echo hi',
    exitCode: 0,
    timedOut: false,
    success: true,
    output: 'hi',
    suppressNotifyOnExit: false,
  });
  await service.close(); // flushes the batched usage
  const file = JSON.parse(fs.readFileSync(approvalsPath, 'utf8'));
  const entry = file.agents.main.allowlist.find((e: { lastUsedAt?: number }) => e.lastUsedAt);
  t.ok(entry, 'lastUsedAt written back for the matching entry');
  t.equal(entry.lastUsedCommand, 'echo hi');

  const timed = await service
    .run({ command: ['/bin/sleep', '5'], timeoutMs: 200 }, { invokeId: 'z' })
    .catch((e: unknown) => e);
  t.type(timed, NodeCommandError, 'sleep is not allowlisted');
  const full = setup(t, 'local', { defaults: { security: 'full', ask: 'off' } });
  const t0 = Date.now();
  const timeout = await full.service.run({ command: ['/bin/sleep', '5'], timeoutMs: 200 }, { invokeId: 'z' });
  t.ok(Date.now() - t0 < 4_000, 'killed at the timeout');
  t.same(
    timeout,
    { timedOut: true, success: false, stdout: '', stderr: '', error: 'timeout' },
    'timeout: no exitCode, error "timeout"',
  );
});

t.test('OPENCLAW_NODE_EXEC_HOST=app with no app running fails closed', async (t) => {
  const { service, events } = setup(t, 'app', { defaults: { security: 'full', ask: 'off' } });
  t.equal(service.route(), undefined);
  const out = await outcome(service.run({ command: ['echo', 'hi'] }, { invokeId: 'q' }));
  t.same(out, {
    ok: false,
    code: 'SYSTEM_RUN_DENIED',
    message: 'COMPANION_APP_UNAVAILABLE: macOS app exec host unreachable',
  });
  t.equal(events[0]!.payload.reason, 'companion-unavailable');
  const auto = setup(t, 'auto', { defaults: { security: 'full', ask: 'off' } });
  t.equal(auto.service.route(), 'local', 'auto without an app runs locally');
});

t.test('prepare pins the executable; an approved run must match the plan', async (t) => {
  const { service } = setup(t, 'local', { defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny' } });
  const prepared = (await service.prepare({ command: ['echo', 'approved'], agentId: 'main', cwd: '/' })) as {
    plan: Record<string, unknown>;
    execPolicy: unknown;
  };
  const plan = prepared.plan;
  t.match(plan.argv, [/^\/.*\/echo$/, 'approved'], 'argv[0] resolved to an absolute path');
  t.equal(plan.cwd, '/');
  t.same(prepared.execPolicy, { security: 'allowlist', ask: 'always' });
  t.match((plan.mutableFileOperand as { sha256: string }).sha256, /^[0-9a-f]{64}$/);
  const argv = plan.argv as string[];
  const approved = {
    command: argv,
    cwd: '/',
    agentId: 'main',
    approved: true,
    approvalDecision: 'allow-once',
    systemRunPlan: plan,
  };
  const ran = await service.run(approved, { invokeId: 'p1' });
  t.match(ran, { exitCode: 0, stdout: 'approved\n', success: true }, 'approved plan runs under ask=always');
  const mismatch = await outcome(service.run({ ...approved, command: [argv[0]!, 'other'] }, { invokeId: 'p2' }));
  t.same(mismatch, { ok: false, code: 'SYSTEM_RUN_DENIED', message: 'SYSTEM_RUN_DENIED: execution plan mismatch' });
  const operand = plan.mutableFileOperand as { path: string; sha256: string };
  t.equal(
    operand.sha256,
    crypto.createHash('sha256').update(fs.readFileSync(argv[0]!)).digest('hex'),
    "the hash of the executable's bytes",
  );
  const changed = {
    ...approved,
    systemRunPlan: { ...plan, mutableFileOperand: { ...operand, sha256: '0'.repeat(64) } },
  };
  const changedOut = await outcome(service.run(changed, { invokeId: 'p4' }));
  t.same(
    changedOut,
    { ok: false, code: 'SYSTEM_RUN_DENIED', message: 'SYSTEM_RUN_DENIED: execution plan mismatch' },
    'an executable whose bytes changed since prepare is refused',
  );
  const unapproved = await outcome(service.run({ command: argv, cwd: '/', agentId: 'main' }, { invokeId: 'p3' }));
  t.same(
    unapproved,
    {
      ok: false,
      code: 'SYSTEM_RUN_DENIED',
      message:
        'SYSTEM_RUN_DENIED: approval required (nobody to ask: this node host runs commands itself and never prompts; no exec host app is in use)',
    },
    'the denial says why nobody was asked',
  );
});

t.test('execApprovals get/set: hash of the file bytes, base hash required, token never shown', async (t) => {
  const { service, stateDir } = setup(t, 'local');
  const empty = service.approvalsGet() as { exists: boolean; hash: string };
  t.equal(empty.exists, false);
  t.equal(empty.hash, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const first = service.approvalsSet({ file: { version: 1, defaults: { security: 'deny' }, agents: {} } }) as {
    hash: string;
    exists: boolean;
  };
  t.equal(first.exists, true);
  const file = path.join(stateDir, 'exec-approvals.json');
  const onDisk = JSON.parse(fs.readFileSync(file, 'utf8'));
  onDisk.socket = { path: path.join(stateDir, 'exec-approvals.sock'), token: 'SECRET-TOKEN' };
  fs.writeFileSync(file, JSON.stringify(onDisk), { mode: 0o600 });
  const got = service.approvalsGet() as { hash: string; file: { socket: Record<string, unknown> } };
  t.same(Object.keys(got.file.socket), ['path'], 'socket redacted to {path}');
  t.notOk(JSON.stringify(got).includes('SECRET-TOKEN'), 'token never leaves the host');
  const noBase = await outcome(Promise.resolve().then(() => service.approvalsSet({ file: { version: 1 } })));
  t.match(noBase, { ok: false, code: 'INVALID_REQUEST', message: /base hash required/ });
  const stale = await outcome(
    Promise.resolve().then(() => service.approvalsSet({ file: { version: 1 }, baseHash: first.hash })),
  );
  t.match(stale, { ok: false, code: 'INVALID_REQUEST', message: /base hash changed/ });
  const next = service.approvalsSet({
    file: {
      version: 1,
      defaults: { security: 'allowlist' },
      agents: { main: { allowlist: [{ pattern: '/usr/bin/echo' }] } },
      socket: { token: 'attacker' },
    },
    baseHash: got.hash,
  }) as { file: { agents: { main: { allowlist: Array<{ id: string }> } } } };
  t.match(next.file.agents.main.allowlist[0].id, /^[0-9a-f-]{36}$/, 'missing allowlist ids filled in');
  t.equal(
    JSON.parse(fs.readFileSync(file, 'utf8')).socket.token,
    'SECRET-TOKEN',
    "the socket token is preserved, not the caller's",
  );
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  const bad = await outcome(
    Promise.resolve().then(() => service.approvalsSet({ file: { version: 2 }, baseHash: 'x' })),
  );
  t.match(bad, { ok: false, code: 'INVALID_REQUEST' });
});

t.test('system.which: TS shape, missing names left out, paths never looked up', async (t) => {
  t.same(systemWhich({ bins: ['sh', 'no-such-bin-xyz', '../sh', '/bin/sh'] }, { PATH: '/usr/bin:/bin' }), {
    bins: { sh: '/usr/bin/sh' },
  });
  t.throws(() => systemWhich({ bins: [] }), { code: 'INVALID_REQUEST' });
  t.throws(() => systemWhich({}), { code: 'INVALID_REQUEST' });
});

t.test('shared 200 000-byte output cap', async (t) => {
  const big = 'a'.repeat(150_000);
  const capped = capOutput(big, big);
  t.equal(capped.stdout.length, 150_000);
  t.ok(capped.stderr.endsWith('\n... (truncated)'));
  t.equal(Buffer.byteLength(capped.stdout) + Buffer.byteLength(capped.stderr) - '\n... (truncated)'.length, 200_000);
  const only = capOutput('b'.repeat(300_000), '');
  t.ok(only.stdout.endsWith('\n... (truncated)'), 'marker goes to stdout when stderr is empty');
});

t.test('a cancelled invoke (node.invoke.cancel) stops its command: local runner and through the app', async (t) => {
  const alive = (pid: number): boolean => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };
  const waitFor = async (pred: () => boolean): Promise<boolean> => {
    const end = Date.now() + 30_000;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    return pred();
  };
  for (const mode of ['local', 'app'] as const) {
    const { service, stateDir } = setup(t, mode, { defaults: { security: 'full', ask: 'off' } });
    const app = mode === 'app' ? await startExecHost({ stateDir, auditLog: false }) : undefined;
    t.teardown(() => app?.close());
    const pidFile = path.join(stateDir, 'run.pid');
    const canary = path.join(stateDir, 'canary');
    const controller = new AbortController();
    const running = outcome(
      service.run(
        { command: ['/bin/sh', '-c', `echo $$ > ${pidFile}; sleep 3; touch ${canary}`] },
        { invokeId: `cancel-${mode}`, timeoutMs: 60_000, signal: controller.signal },
      ),
    );
    t.ok(await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== ''), mode);
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    controller.abort();
    t.match(await running, { ok: false, code: 'UNAVAILABLE', message: /cancelled/ }, `${mode}: answered cancelled`);
    t.ok(await waitFor(() => !alive(pid)), `${mode}: the command was killed`);
    t.notOk(fs.existsSync(canary), `${mode}: its canary is never written`);
    await app?.close();
  }
});
