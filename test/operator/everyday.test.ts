// The everyday commands a new user reaches for, against one real `up` stack: --version/-V, help with an
// example per command, status (--json and colour only when asked), logs, run of a missing program (which
// program, where it was looked up), upstream's nodes/approvals spellings, and the array-shaped approval
// lists the real `openclaw approvals pending` reads.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { cliInProcess, type CliResult } from '../helpers/cli.js';
import { cliArgv, firstJsonLine, repo } from '../helpers/operator-cli.js';
import { connectOperator, resolveOperatorTarget } from '../../lib/client/operator.js';

t.setTimeout(180_000);

/** The CLI in this process (see cliInProcess); the bins themselves are spawned once each, below. */
function cli(bin: 'main' | 'mac', args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return cliInProcess(bin, args, env);
}

/** The real bin as a child process (from source, as the package's bins run). */
function spawnCli(bin: 'main' | 'mac', args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, ...rest] = cliArgv(bin, args);
    const child = spawn(file!, rest, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
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

t.test('version and help', async (t) => {
  const env = { PATH: process.env.PATH, NO_COLOR: '1' };
  // The bins themselves, once each (in parallel: each is a cold start), then the rest in-process.
  const [ipcBin, macBin] = await Promise.all([spawnCli('main', ['-V'], env), spawnCli('mac', ['--version'], env)]);
  t.equal(ipcBin.code, 0, ipcBin.stderr);
  t.match(ipcBin.stdout, /^openclaw-ipc \d+\.\d+\.\d+\n$/);
  t.equal(macBin.code, 0, macBin.stderr);
  t.match(macBin.stdout, /^openclaw-mac \d+\.\d+\.\d+\n$/);
  for (const flag of ['--version', '-V']) t.same(await cli('main', [flag], env), { ...ipcBin, stderr: '' });
  const help = await cli('main', ['--help'], env);
  const commands = [...help.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!);
  t.ok(commands.length >= 15, 'the command list is there');
  for (const name of commands)
    t.match(help.stdout, new RegExp(`^ {2}openclaw-ipc ${name} `, 'm'), `an example for ${name}`);
  const ESC = String.fromCharCode(27);
  t.notOk(help.stdout.includes(`${ESC}[`), 'no colour with NO_COLOR');
  const forced = await cli('main', ['--help'], { PATH: process.env.PATH, FORCE_COLOR: '1' });
  t.ok(forced.stdout.includes(`${ESC}[1m`), 'colour when forced (a terminal)');
  const macHelp = await cli('mac', ['--help'], env);
  for (const name of ['connect', 'discover', 'doctor']) t.match(macHelp.stdout, new RegExp(`openclaw-mac ${name} `));
});

t.test('status, logs, run of a missing program, nodes and approvals spellings', async (t) => {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocev-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const port = await freePort();
  fs.writeFileSync(
    path.join(stateDir, 'openclaw.json'),
    JSON.stringify({ gateway: { port, auth: { token: 'tok-everyday-0123456789' } } }),
    {
      mode: 0o600,
    },
  );
  const env = { PATH: '/usr/bin:/bin', HOME: root, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: '1' };
  const [node, ...upArgs] = cliArgv('main', ['up', '--json', '--no-prompt']);
  const up: ChildProcess = spawn(node!, upArgs, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    up.kill('SIGKILL');
  });
  const info = await firstJsonLine<{ nodeId: string; url: string }>(up);

  const status = await cli('main', ['status', '--json'], env);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), {
    stateDir,
    gateway: {
      lock: { state: 'live', pid: up.pid },
      pid: up.pid,
      uptimeMs: Number,
      probe: { reachable: true, url: `ws://127.0.0.1:${port}/` },
    },
    execHost: {
      lock: { state: 'live' },
      pid: up.pid,
      socket: path.join(stateDir, 'exec-approvals.sock'),
      socketExists: true,
    },
    bridge: { socketExists: true },
  });
  const human = await cli('main', ['status'], env);
  t.match(human.stdout, new RegExp(`gateway\\s+running, pid ${up.pid}, up \\d+`));
  t.match(human.stdout, /nodes\s+1 connected of 1/);

  // A program that is not there: which one, and where it was looked for.
  const file = path.join(stateDir, 'exec-approvals.json');
  const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...current, defaults: { security: 'full', ask: 'off' } }), { mode: 0o600 });
  const missing = await cli('main', ['run', '--node', info.nodeId, '--', 'nosuchprogram'], env);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /failed to start: nosuchprogram: not found in PATH \([^)]*\/usr\/bin[^)]*\)/);
  const absent = await cli('main', ['run', '--node', info.nodeId, '--', '/nonexistent/tool'], env);
  t.match(absent.stderr, /failed to start: \/nonexistent\/tool: no such file/);

  // Upstream's nodes spellings.
  const nodesStatus = await cli('main', ['nodes', 'status', '--json'], env);
  t.match(JSON.parse(nodesStatus.stdout), { nodes: [{ nodeId: info.nodeId, connected: true }] });
  const described = await cli('main', ['nodes', 'describe', '--node', info.nodeId, '--json'], env);
  t.equal(described.code, 0, described.stderr);
  t.match(JSON.parse(described.stdout), { nodeId: info.nodeId, commands: Array });
  const renamed = await cli('main', ['nodes', 'rename', '--node', info.nodeId, '--name', 'renamed-box'], env);
  t.equal(renamed.code, 0, renamed.stderr);
  t.match((await cli('main', ['nodes', 'list', '--json'], env)).stdout, /"displayName": "renamed-box"/);
  const invoked = await cli(
    'main',
    ['nodes', 'invoke', '--node', 'renamed-box', '--command', 'system.which', '--params', '{"bins":["sh"]}', '--json'],
    env,
  );
  t.equal(invoked.code, 0, invoked.stderr);
  t.match(invoked.stdout, /"sh"/);

  // Approvals: upstream's list shapes (what `openclaw approvals pending` reads), and the CLI spellings.
  const operator = await connectOperator(resolveOperatorTarget({}, env));
  try {
    t.same(await operator.request('exec.approval.list', {}), []);
    t.same(await operator.request('plugin.approval.list', {}), []);
    t.same(await operator.request('openclaw.approval.list', {}), []);
  } finally {
    await operator.close();
  }
  t.equal((await cli('main', ['approvals', 'allowlist', 'add', '/usr/bin/git'], env)).code, 0);
  t.match(JSON.parse((await cli('main', ['approvals', 'get', '--json'], env)).stdout), {
    effective: { allowlist: [{ pattern: '/usr/bin/git' }] },
  });
  t.equal((await cli('main', ['approvals', 'allowlist', 'remove', '/usr/bin/git'], env)).code, 0);
  const badResolve = await cli('main', ['approvals', 'resolve', 'some-id', 'maybe'], env);
  t.equal(badResolve.code, 2);
  t.match(badResolve.stderr, /Decision must be one of: allow-once, allow-always, deny/);

  // nodes remove: the node's pairing is gone (it is disconnected; `up` keeps reconnecting it as a new request).
  const removed = await cli('main', ['nodes', 'remove', '--node', info.nodeId, '--json'], env);
  t.equal(removed.code, 0, removed.stderr);
  t.same(JSON.parse(removed.stdout), { nodeId: info.nodeId });
  // ... its new pairing request, rejected with upstream's `nodes reject <requestId>`; a second reject fails.
  let requestId: string | undefined;
  const deadline = Date.now() + 30_000;
  while (!requestId && Date.now() < deadline) {
    const pending = JSON.parse((await cli('main', ['nodes', 'pending', '--json'], env)).stdout) as {
      pending?: Array<{ requestId: string }>;
    };
    requestId = pending.pending?.[0]?.requestId;
  }
  t.ok(requestId, 'the removed node asks again');
  const rejected = await cli('main', ['nodes', 'reject', requestId!], env);
  t.equal(rejected.code, 0, rejected.stderr);
  t.match(rejected.stdout, `rejected ${requestId}`);
  const again = await cli('main', ['nodes', 'reject', requestId!], env);
  t.not(again.code, 0, 'an unknown request id is an error');

  // logs: the service log files; a hint when there are none.
  const none = await cli('main', ['logs'], env);
  t.equal(none.code, 1);
  t.match(none.stderr, /no log files yet .*service install --role up/);
  fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(stateDir, 'logs', 'ipc.log'), 'one\ntwo\nthree\n');
  const logs = await cli('main', ['logs', '-n', '2'], env);
  t.equal(logs.code, 0);
  t.match(logs.stdout, /==> .*ipc\.log <==\ntwo\nthree\n/);
});
