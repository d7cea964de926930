// scripts/restart-linux.sh run twice at the same time never leaves two instances: once starting the stack
// directly (--no-service) and once through a real systemd user unit. Afterwards exactly one process runs for
// the state dir (found through /proc: its OPENCLAW_STATE_DIR), and it holds both state-dir locks.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import t, { type Test } from 'tap';

import { inspectInstanceLock } from '../../lib/native/file-lock.js';
import { startUserManager, userManagerAvailable } from '../helpers/systemd-user.js';
import { repo } from '../helpers/operator-cli.js';

t.setTimeout(240_000);

const script = path.join(repo, 'scripts', 'restart-linux.sh');
const built = fs.existsSync(path.join(repo, 'dist', 'cli', 'main.js'));
const flock = spawnSync('flock', ['--version']).status === 0;
const skip =
  (process.platform !== 'linux' && 'Linux script') ||
  (!built && 'dist/ is not built (npm run build)') ||
  (!flock && 'flock(1) is not installed');

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

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(script, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) => resolve({ code, out }));
  });
}

/** Pids of processes whose environment names this state dir (the instances, whatever their name). */
function instancesFor(stateDir: string): number[] {
  const needle = `OPENCLAW_STATE_DIR=${stateDir}\0`;
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'latin1');
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (environ.includes(needle) && cmdline.includes('dist/cli/main.js\0up')) pids.push(Number(entry));
    } catch {
      // Exited meanwhile, or not readable.
    }
  }
  return pids;
}

async function stateDirWithPort(t: { teardown(fn: () => void): void }, parent: string): Promise<string> {
  const root = fs.mkdtempSync(path.join(parent, '.ocrs-'));
  const stateDir = path.join(root, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify({ gateway: { port: await freePort() } }), {
    mode: 0o600,
  });
  t.teardown(() => {
    spawnSync(process.execPath, [path.join(repo, 'dist', 'cli', 'main.js'), 'stop'], {
      env: { ...process.env, OPENCLAW_STATE_DIR: stateDir },
    });
    fs.rmSync(root, { recursive: true, force: true });
  });
  return stateDir;
}

function assertOneInstance(t: Test, stateDir: string, expectedPid?: number): void {
  const gatewayLock = inspectInstanceLock(path.join(stateDir, 'gateway.lock'));
  const execLock = inspectInstanceLock(path.join(stateDir, 'exec-approvals.lock'));
  t.equal(gatewayLock.state, 'live');
  t.equal(execLock.state, 'live');
  const holder = 'pid' in gatewayLock ? gatewayLock.pid : -1;
  t.equal('pid' in execLock ? execLock.pid : -2, holder, 'both locks name the same process');
  t.same(instancesFor(stateDir), [holder], 'exactly one instance runs for the state dir');
  if (expectedPid !== undefined) t.equal(holder, expectedPid);
}

t.test('two concurrent runs without a service manager', { skip }, async (t) => {
  const stateDir = await stateDirWithPort(t, os.tmpdir());
  const env = { ...process.env, OPENCLAW_STATE_DIR: stateDir };
  const [a, b] = await Promise.all([
    run(['--no-build', '--no-service'], env),
    run(['--no-build', '--no-service'], env),
  ]);
  t.equal(a.code, 0, a.out);
  t.equal(b.code, 0, b.out);
  // The runs took turns, and the second is a restart (idempotence): it stopped the instance the first
  // started, by its lock's pid, and started one new one.
  const stopped = /pid (\d+): terminated/.exec(`${a.out}\n${b.out}`);
  t.ok(stopped, "the second run terminated the first run's instance");
  assertOneInstance(t, stateDir);
  t.not(Number(stopped?.[1]), (inspectInstanceLock(path.join(stateDir, 'gateway.lock')) as { pid: number }).pid);
});

const manager = userManagerAvailable();

t.test(
  'two concurrent runs through a real systemd user unit',
  { skip: skip || (!manager.ok && manager.reason) },
  async (t) => {
    const parent = fs.mkdtempSync(path.join(os.homedir(), '.ocrs-um-'));
    t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
    const um = await startUserManager(t, { homeParent: parent });
    const stateDir = await stateDirWithPort(t, um.env.HOME);
    const env = { ...process.env, ...um.env, OPENCLAW_STATE_DIR: stateDir };
    const [a, b] = await Promise.all([run(['--no-build'], env), run(['--no-build'], env)]);
    t.equal(a.code, 0, a.out);
    t.equal(b.code, 0, b.out);
    const show = (): { pid: number; active: string } => {
      const out = spawnSync('systemctl', ['--user', 'show', 'openclaw-ipc.service', '--property=MainPID,ActiveState'], {
        env,
        encoding: 'utf8',
      }).stdout;
      return { pid: Number(/MainPID=(\d+)/.exec(out)?.[1]), active: /ActiveState=(\w+)/.exec(out)?.[1] ?? '' };
    };
    const deadline = Date.now() + 60_000;
    while (inspectInstanceLock(path.join(stateDir, 'exec-approvals.lock')).state !== 'live' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    const unit = show();
    t.equal(unit.active, 'active');
    assertOneInstance(t, stateDir, unit.pid);
    spawnSync(process.execPath, [path.join(repo, 'dist', 'cli', 'main.js'), 'service', 'uninstall', '--role', 'up'], {
      env,
    });
  },
);
