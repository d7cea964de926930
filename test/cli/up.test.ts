// `openclaw-ipc up` and the operator CLI as real processes: up starts and prints its info, `run`
// serves /bin/echo end to end (operator → Gateway → node host → exec socket → app → runner), exit
// codes follow the command, denials exit 4, approvals pending/approve/deny drive the app's prompt
// through the Gateway, a taken port is a clear error, and SIGTERM shuts everything down.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import { cli, repo } from '../helpers/cli.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

interface UpInfo {
  ready: boolean;
  url: string;
  port: number;
  nodeId: string;
  execSocket: string;
  bridgeSocket: string | null;
  token: { source: string; location: string };
  stateDir: string;
  startupMs: number;
}

function startUp(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): { child: ChildProcess; info: Promise<UpInfo>; stderr: () => string } {
  const child = spawn(process.execPath, cliNodeArgs('main', ['up', '--port', '0', '--json', ...args]), {
    cwd: repo,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const info = new Promise<UpInfo>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as UpInfo);
    });
    child.once('exit', (code) => reject(new Error(`up exited with ${code}: ${stderr}`)));
  });
  return { child, info, stderr: () => stderr };
}

function writePolicy(stateDir: string, policy: Record<string, unknown>): void {
  const file = path.join(stateDir, 'exec-approvals.json');
  const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...current, ...policy }), { mode: 0o600 });
}

/** A temp state dir and an environment that points `up` at it (no inherited token, runtime dir or exec-host mode). */
function isolatedEnv(
  t: { teardown(fn: () => void): void },
  prefix: string,
): { root: string; stateDir: string; env: NodeJS.ProcessEnv } {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_NODE_EXEC_HOST: '',
    XDG_RUNTIME_DIR: '',
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  return { root, stateDir, env };
}

t.test('up: start, run end to end, exit codes, approvals through the Gateway, clean shutdown', async (t) => {
  const { root, stateDir, env } = isolatedEnv(t, 'oc-up-');
  const up = startUp(env);
  t.teardown(() => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
  });
  const info = await up.info;
  t.equal(info.ready, true);
  t.match(info.url, /^ws:\/\/127\.0\.0\.1:\d+/);
  t.match(info.nodeId, /^[0-9a-f]{64}$/);
  t.equal(info.token.source, 'generated', 'zero config: a token is generated');
  t.equal(
    info.token.location,
    `${path.join(stateDir, 'openclaw.json')} (gateway.auth.token)`,
    'says where the token is',
  );
  t.equal(fs.statSync(path.join(stateDir, 'openclaw.json')).mode & 0o777, 0o600);
  t.ok(fs.lstatSync(info.execSocket).isSocket(), 'exec host socket is up');
  const url = ['--url', info.url];

  const list = await cli(['nodes', 'list', '--json', ...url], env);
  t.equal(list.code, 0, 'nodes list exits 0');
  const nodes = (
    JSON.parse(list.stdout) as { nodes: Array<{ nodeId: string; connected: boolean; commands: string[] }> }
  ).nodes;
  t.ok(
    nodes.some((n) => n.nodeId === info.nodeId && n.connected && n.commands.includes('system.run')),
    'its own node is connected with its commands approved',
  );

  const deniedByDefault = await cli(['run', '--node', info.nodeId, ...url, '--', '/bin/echo', 'hi'], env);
  t.equal(deniedByDefault.code, 4, 'default policy denies: exit 4');
  t.match(deniedByDefault.stderr, 'SYSTEM_RUN_DISABLED: security=deny');

  writePolicy(stateDir, {
    defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
    agents: { main: { allowlist: [{ pattern: '/bin/echo' }, { pattern: '/bin/sh' }] } },
  });
  const hi = await cli(['run', '--node', info.nodeId, ...url, '--', '/bin/echo', 'hi'], env);
  t.same([hi.code, hi.stdout], [0, 'hi\n'], 'run -- /bin/echo hi prints hi and exits 0');
  const exit7 = await cli(
    ['run', '--node', info.nodeId.slice(0, 10), ...url, '--', '/bin/sh', '-c', 'echo oops >&2; exit 7'],
    env,
  );
  t.same([exit7.code, exit7.stderr], [7, 'oops\n'], 'exit code and stderr of the command');
  const json = await cli(['run', '--json', '--node', info.nodeId, ...url, '--', '/bin/echo', 'j'], env);
  t.same(
    JSON.parse(json.stdout),
    { exitCode: 0, timedOut: false, success: true, stdout: 'j\n', stderr: '', error: null },
    '--json prints the result object',
  );
  const which = await cli(
    ['invoke', '--node', info.nodeId, '--command', 'system.which', '--params', '{"bins":["sh"]}', ...url],
    env,
  );
  t.equal(which.code, 0);
  t.match(JSON.parse(which.stdout), { bins: { sh: /\/sh$/ } }, 'invoke prints the payload');
  const unknownNode = await cli(['run', '--node', 'no-such-node', ...url, '--', '/bin/echo'], env);
  t.equal(unknownNode.code, 1);
  t.match(unknownNode.stderr, 'ERR_NODE_NOT_FOUND');
  const usage = await cli(['run', '--node', info.nodeId, ...url], env);
  t.equal(usage.code, 2, 'usage error exits 2');
  const badParams = await cli(
    ['invoke', '--node', info.nodeId, '--command', 'system.which', '--params', '{nope', ...url],
    env,
  );
  t.equal(badParams.code, 2);
  const badToken = await cli(['nodes', 'list', ...url, '--token', 'wrong-token'], env);
  t.equal(badToken.code, 1, 'wrong token: exit 1');
  t.match(badToken.stderr, /INVALID_REQUEST|unauthorized|token/i);

  // ask=always: the node host forwards to the app, whose prompt goes to the Gateway's operators.
  writePolicy(stateDir, {
    defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
    agents: { main: { allowlist: [] } },
  });
  for (const [decision, expectedCode] of [
    ['approve', 0],
    ['deny', 4],
  ] as const) {
    const running = cli(['run', '--node', info.nodeId, ...url, '--', '/bin/echo', `via-${decision}`], env);
    let id: string | undefined;
    const pendingCodes = new Set<number | null>();
    const deadline = Date.now() + 30_000;
    while (!id && Date.now() < deadline) {
      const pending = await cli(['approvals', 'pending', '--json', ...url], env);
      pendingCodes.add(pending.code);
      const approvals = (
        JSON.parse(pending.stdout) as { approvals: Array<{ id: string; request: Record<string, unknown> }> }
      ).approvals;
      id = approvals.find((a) => JSON.stringify(a.request).includes(`via-${decision}`))?.id;
    }
    // One assertion however many polls it took, so the assertion count does not depend on timing.
    t.same([...pendingCodes], [0], 'approvals pending exits 0');
    t.ok(id, `the prompt is listed by approvals pending (${decision})`);
    t.match(
      up.stderr(),
      `approval ${id} waiting for: /bin/echo via-${decision}`,
      'up tells its terminal an approval waits',
    );
    const resolved = await cli(['approvals', decision, id!, ...url], env);
    t.equal(resolved.code, 0, `approvals ${decision} exits 0`, {
      stderr: resolved.stderr,
      up: up.stderr().slice(-3000),
    });
    const ran = await running;
    t.equal(ran.code, expectedCode, `run after ${decision}: exit ${expectedCode}`, { stderr: ran.stderr });
    if (decision === 'approve') t.equal(ran.stdout, 'via-approve\n');
    else
      t.match(
        ran.stderr,
        /^openclaw-ipc run: denied: SYSTEM_RUN_DENIED: user denied \(denied by operator [^)]+\)$/m,
        'the code the Gateway prefixes is shown once',
      );
  }

  // A second stack on the same port is refused clearly.
  const otherState = path.join(root, 'other');
  const second = await cli(['up', '--port', String(info.port)], { ...env, OPENCLAW_STATE_DIR: otherState });
  t.equal(second.code, 3, 'port taken: exit 3');
  t.match(second.stderr, `already listening on ws://127.0.0.1:${info.port}`);

  up.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => up.child.once('exit', resolve));
  t.equal(code, 0, 'clean exit on SIGTERM');
  t.match(up.stderr(), 'stopped');
  t.notOk(fs.existsSync(info.execSocket), 'exec socket removed');
  if (info.bridgeSocket) t.notOk(fs.existsSync(info.bridgeSocket), 'bridge socket removed');
});

t.test('up --node-process child: the node host runs as a child, serves runs, and is stopped with up', async (t) => {
  const { stateDir, env } = isolatedEnv(t, 'oc-upchild-');
  const up = startUp(env, ['--node-process', 'child', '--no-bridge']);
  t.teardown(() => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
  });
  const info = await up.info;
  const kids = fs
    .readFileSync(`/proc/${up.child.pid}/task/${up.child.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  t.equal(kids.length, 1, 'one child process: the node host');
  writePolicy(stateDir, { defaults: { security: 'full', ask: 'off' } });
  const hi = await cli(['run', '--node', info.nodeId, '--url', info.url, '--', '/bin/echo', 'from-child'], env);
  t.same([hi.code, hi.stdout], [0, 'from-child\n']);
  up.child.kill('SIGTERM');
  t.equal(await new Promise<number | null>((resolve) => up.child.once('exit', resolve)), 0);
  t.throws(() => process.kill(kids[0]!, 0), { code: 'ESRCH' }, 'the node host child is gone');
});
