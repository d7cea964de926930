// `openclaw-ipc doctor` (in-process, through the bin's command table) against a real `up` stack: healthy first (exit 0, the signed no-op
// round trip accepted), then each thing it claims to check broken on purpose — a 0644 approvals file, a 0755
// state dir, a foreign-owned exec socket, a stale lock, a dead Gateway — and every one is reported with a
// fix (exit 1 on any fail). The dry run itself is shown to authenticate and evaluate while running nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { dryRunViaSocket, execViaSocket, loadClientConfig } from '../../lib/exec-host/client.js';
import { startExecHost } from '../../lib/exec-host/server.js';
import { cliInProcess } from '../helpers/cli.js';
import { cliArgv, firstJsonLine, repo } from '../helpers/operator-cli.js';

t.setTimeout(180_000);

interface Report {
  ok: boolean;
  counts: { ok: number; warn: number; fail: number };
  findings: Array<{ id: string; status: string; summary: string; fix?: string }>;
}

async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await cliInProcess('main', ['doctor', '--json'], env);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  } catch (e) {
    throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout} ${r.stderr} ${(e as Error).message}`);
  }
}

function finding(report: Report, id: string): Report['findings'][number] | undefined {
  return report.findings.find((f) => f.id === id);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A short state dir (Unix socket paths hold at most 107 bytes; tap's test dirs are long). */
function shortStateDir(t: { teardown(fn: () => void): void }): string {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocdr-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  return stateDir;
}

function baseEnv(stateDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: '1' };
}

t.test('healthy stack, then a 0644 approvals file and a 0755 state dir', async (t) => {
  const stateDir = shortStateDir(t);
  const port = await freePort();
  fs.writeFileSync(
    path.join(stateDir, 'openclaw.json'),
    JSON.stringify({ gateway: { port, auth: { token: 'tok-doctor-0123456789' } } }),
    {
      mode: 0o600,
    },
  );
  const env = baseEnv(stateDir);
  const [node, ...upArgs] = cliArgv('main', ['up', '--json', '--no-prompt']);
  const up: ChildProcess = spawn(node!, upArgs, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    up.kill('SIGKILL');
  });
  await firstJsonLine(up);

  const healthy = await doctor(env);
  t.equal(healthy.code, 0, JSON.stringify(healthy.report.findings.filter((f) => f.status === 'fail')));
  t.equal(healthy.report.counts.fail, 0);
  for (const id of [
    'state-dir',
    'config-file',
    'approvals-file',
    'lock:gateway.lock',
    'lock:exec-approvals.lock',
    'exec-socket',
    'exec-roundtrip',
    'bridge-socket',
    'gateway',
    'node',
  ])
    t.equal(finding(healthy.report, id)?.status, 'ok', `${id} is ok on a healthy stack`);
  t.match(finding(healthy.report, 'exec-roundtrip')?.summary, /nothing ran/);
  t.match(finding(healthy.report, 'exec-socket')?.summary, new RegExp(`served by pid ${up.pid}`));

  fs.chmodSync(path.join(stateDir, 'exec-approvals.json'), 0o644);
  fs.chmodSync(stateDir, 0o755);
  const broken = await doctor(env);
  t.equal(broken.code, 1, 'any fail exits 1');
  t.match(finding(broken.report, 'approvals-file'), { status: 'fail', summary: /mode 0644/, fix: /chmod 600/ });
  t.match(finding(broken.report, 'state-dir'), { status: 'fail', summary: /mode 0755/, fix: /chmod 700/ });
  for (const f of broken.report.findings) if (f.status !== 'ok') t.ok(f.fix, `${f.id} says how to fix it`);
});

t.test(
  'a foreign-owned socket, a stale lock and a dead Gateway',
  { skip: process.getuid!() !== 0 && 'needs root to chown a socket to uid 65534' },
  async (t) => {
    const stateDir = shortStateDir(t);
    const port = await freePort();
    fs.writeFileSync(
      path.join(stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { port, auth: { token: 'tok-doctor-0123456789' } } }),
      {
        mode: 0o600,
      },
    );
    // The exec socket path, created and served by someone, then owned by another user.
    const socketPath = path.join(stateDir, 'exec-approvals.sock');
    const planted = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => planted.listen(socketPath, resolve));
    t.teardown(() => planted.close());
    fs.chownSync(socketPath, 65534, 65534);
    // A lock whose holder is gone: the pid of a process that has exited.
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    fs.writeFileSync(path.join(stateDir, 'gateway.lock'), JSON.stringify({ pid: gone.pid }), { mode: 0o600 });

    const { code, report } = await doctor(baseEnv(stateDir));
    t.equal(code, 1);
    t.match(finding(report, 'exec-socket'), { status: 'fail', summary: /owned by uid 65534/, fix: /remove/ });
    t.notOk(finding(report, 'exec-roundtrip'), 'no token or MAC is sent to a foreign socket');
    t.match(finding(report, 'lock:gateway.lock'), {
      status: 'warn',
      summary: new RegExp(`stale: no process holds it \\(pid ${gone.pid} ended`),
      fix: /remove/,
    });
    t.match(finding(report, 'gateway'), {
      status: 'fail',
      summary: new RegExp(`ws://127.0.0.1:${port}/ does not answer.*pid ${gone.pid}, which no longer holds it`),
      fix: /openclaw-ipc up/,
    });
  },
);

t.test('the dry run is authenticated and evaluated, and runs nothing', async (t) => {
  const stateDir = shortStateDir(t);
  const host = await startExecHost({ stateDir, auditLog: false });
  t.teardown(() => host.close());
  const file = path.join(stateDir, 'exec-approvals.json');
  const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...current, defaults: { security: 'full', ask: 'off' } }), { mode: 0o600 });
  const marker = path.join(stateDir, 'ran');
  const command = ['/bin/sh', '-c', `echo x > '${marker}'`];
  const options = loadClientConfig(stateDir);

  const dry = await dryRunViaSocket({ command }, options);
  t.match(dry, { dryRun: true, outcome: 'allow', security: 'full', ask: 'off', file: fs.realpathSync('/bin/sh') });
  t.notOk(fs.existsSync(marker), 'the allowed command did not run');
  t.equal(host.stats.executed, 0);
  await t.rejects(
    dryRunViaSocket({ command }, { ...options, token: 'wrong-token' }),
    /HMAC|auth|token/i,
    'a wrong token is refused',
  );

  // The same request without dryRun does run: the check above could have failed.
  const real = await execViaSocket({ command }, options);
  t.equal(real.ok, true);
  t.ok(fs.existsSync(marker));
  t.equal(host.stats.executed, 1);
});
