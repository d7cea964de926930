// Password mode across real processes: `up` in password mode (secret from the env or the config) says
// which mode runs and where the secret lives without printing it; `nodes list` reaches it with
// OPENCLAW_GATEWAY_PASSWORD or --password and fails typed without; `node run` joins a password-mode
// Gateway; `up --node-process child` hands the password to its child in the environment, never in argv;
// `gateway` refuses mode none on a non-loopback bind; --help warns that flags show in `ps`.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import t from 'tap';

import { startGateway } from '../../lib/gateway/index.js';
import { cli, repo } from '../helpers/cli.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Several real processes in turn: generous on a loaded 2-core box.
t.setTimeout(240_000);

const PASSWORD = 'pw-çorrect-horse-0123';

/** Starts a long-running CLI command and resolves with the first stdout line matching `ready`. */
function startLong(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: (line: string) => boolean,
): { child: ChildProcess; line: Promise<string>; out: () => string; err: () => string } {
  const child = spawn(process.execPath, cliNodeArgs('main', args), {
    cwd: repo,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const line = new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      out += `${l}\n`;
      if (ready(l)) resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${err}`)));
  });
  return { child, line, out: () => out, err: () => err };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** A temp state dir and an environment with no inherited Gateway secrets. */
function isolatedEnv(t: { teardown(fn: () => void): void }): { stateDir: string; env: NodeJS.ProcessEnv } {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-authpw-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_NODE_EXEC_HOST: '',
    XDG_RUNTIME_DIR: '',
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  delete env.OPENCLAW_GATEWAY_PASSWORD;
  delete env.OPENCLAW_GATEWAY_URL;
  delete env.OPENCLAW_GATEWAY_PORT;
  return { stateDir, env };
}

/** Direct children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // The process exited meanwhile.
    }
  }
  return kids;
}

t.test(
  'up in password mode (env): prints the mode and where the password lives; nodes list with the env password, --password, wrong and none',
  async (t) => {
    const { stateDir, env } = isolatedEnv(t);
    const upEnv = { ...env, OPENCLAW_GATEWAY_PASSWORD: PASSWORD };
    const up = startLong(['up', '--port', '0', '--json', '--no-bridge', '--no-prompt'], upEnv, (l) =>
      l.startsWith('{'),
    );
    t.teardown(() => {
      if (up.child.exitCode === null) up.child.kill('SIGKILL');
    });
    const info = JSON.parse(await up.line) as { url: string; nodeId: string; auth: unknown; token?: unknown };
    t.same(
      info.auth,
      { mode: 'password', source: 'env', location: '$OPENCLAW_GATEWAY_PASSWORD' },
      'mode and location, not the secret',
    );
    t.notOk('token' in info, 'no token block in password mode');
    t.notOk(
      fs.existsSync(path.join(stateDir, 'openclaw.json')) &&
        JSON.parse(fs.readFileSync(path.join(stateDir, 'openclaw.json'), 'utf8')).gateway?.auth?.token,
      'no token generated',
    );

    const url = ['--url', info.url];
    const list = await cli(['nodes', 'list', ...url, '--json'], upEnv);
    t.equal(list.code, 0, list.stderr);
    const nodes = (JSON.parse(list.stdout) as { nodes: Array<{ nodeId: string; connected: boolean }> }).nodes;
    t.match(
      nodes,
      [{ nodeId: info.nodeId, connected: true }],
      "OPENCLAW_GATEWAY_PASSWORD: the operator CLI sees up's own node (which joined with the password)",
    );

    const flag = await cli(['nodes', 'list', ...url, '--password', PASSWORD, '--json'], env);
    t.equal(flag.code, 0, `--password works too: ${flag.stderr}`);
    const approvals = await cli(['approvals', 'pending', ...url, '--password', PASSWORD], env);
    t.same(
      [approvals.code, approvals.stdout],
      [0, 'no pending approvals\n'],
      `approvals pending takes --password: ${approvals.stderr}`,
    );

    const wrong = await cli(['nodes', 'list', ...url], { ...env, OPENCLAW_GATEWAY_PASSWORD: 'not-it' });
    t.equal(wrong.code, 1, 'wrong password: exit 1');
    t.match(wrong.stderr, /unauthorized: gateway password mismatch .*\[INVALID_REQUEST\]/);

    const none = await cli(['nodes', 'list', ...url], env);
    t.equal(none.code, 1, 'no secret: exit 1');
    t.match(none.stderr, /gateway password missing.*OPENCLAW_GATEWAY_PASSWORD/, 'the message says how to supply one');

    const tokenInstead = await cli(['nodes', 'list', ...url, '--token', PASSWORD], env);
    t.equal(tokenInstead.code, 1, 'the password given as a token is not a password');

    for (const text of [up.out(), up.err(), list.stdout, list.stderr, wrong.stderr, none.stderr])
      t.notOk(text.includes(PASSWORD), 'the password is never printed');
    t.equal(await stop(up.child), 0, 'up stops cleanly');
  },
);

t.test(
  'up in password mode (config), text output, node host as a child: the password reaches it through env, not argv',
  async (t) => {
    const { stateDir, env } = isolatedEnv(t);
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const configPath = path.join(stateDir, 'openclaw.json');
    fs.writeFileSync(configPath, JSON.stringify({ gateway: { auth: { password: PASSWORD } } }), { mode: 0o600 });
    const up = startLong(['up', '--port', '0', '--no-bridge', '--no-prompt', '--node-process', 'child'], env, (l) =>
      l.startsWith('try:'),
    );
    t.teardown(() => {
      if (up.child.exitCode === null) up.child.kill('SIGKILL');
    });
    await up.line;
    t.match(
      up.out(),
      new RegExp(
        `\\n  auth {7}password: ${configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(gateway\\.auth\\.password\\)\\n`,
      ),
      'text output names the mode and the config key',
    );
    t.notOk(up.out().includes(PASSWORD));

    const kids = childrenOf(up.child.pid!);
    const nodeChild = kids.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('node'));
    t.ok(nodeChild, 'up started a node host child');
    const argv = fs.readFileSync(`/proc/${nodeChild}/cmdline`, 'utf8').split('\0');
    t.notOk(
      argv.some((a) => a.includes(PASSWORD)),
      "the password is not in the child's argv",
    );
    const environ = fs.readFileSync(`/proc/${nodeChild}/environ`, 'utf8').split('\0');
    t.ok(environ.includes(`OPENCLAW_GATEWAY_PASSWORD=${PASSWORD}`), "it is in the child's environment");
    t.notOk(
      environ.some((e) => e.startsWith('OPENCLAW_GATEWAY_TOKEN=')),
      'no token handed over in password mode',
    );

    const url = /\n {2}gateway +(ws:\/\/\S+)\n/.exec(up.out())?.[1];
    t.ok(url, 'text output names the gateway URL');
    const list = await cli(['nodes', 'list', '--url', url!, '--json'], env);
    t.equal(list.code, 0, `the CLI finds the password in the state dir's config: ${list.stderr}`);
    t.match(JSON.parse(list.stdout), { nodes: [{ connected: true }] });
    t.equal(await stop(up.child), 0);
  },
);

t.test(
  'node run joins a password-mode Gateway with OPENCLAW_GATEWAY_PASSWORD; a wrong one exits with the typed error',
  async (t) => {
    const { env } = isolatedEnv(t);
    // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
    const gwState = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-authpw-gw-'));
    t.teardown(() => fs.rmSync(gwState, { recursive: true, force: true }));
    const gw = await startGateway({
      port: 0,
      stateDir: gwState,
      env: {},
      authMode: 'password',
      password: PASSWORD,
      autoApproveNodes: true,
    });
    t.teardown(() => gw.close());

    const node = startLong(
      ['node', 'run', '--url', gw.url, '--json'],
      { ...env, OPENCLAW_GATEWAY_PASSWORD: PASSWORD },
      (l) => l.includes('"ready":true'),
    );
    t.teardown(() => {
      if (node.child.exitCode === null) node.child.kill('SIGKILL');
    });
    const ready = JSON.parse(await node.line) as { nodeId: string };
    const session = await gw.nodes.waitFor(ready.nodeId, 30_000);
    t.equal(session.nodeId, ready.nodeId, 'the node is connected');
    t.notOk(node.err().includes(PASSWORD));
    t.equal(await stop(node.child), 0);

    const wrong = await cli(['node', 'run', '--url', gw.url, '--json'], { ...env, OPENCLAW_GATEWAY_PASSWORD: 'wrong' });
    t.equal(wrong.code, 1, 'a rejected password is fatal (no retry loop)');
    t.match(wrong.stderr, /gateway password mismatch/);
  },
);

t.test(
  'gateway command: --auth none refused on a non-loopback bind; --password runs password mode without printing it; --help warns about ps',
  async (t) => {
    const { stateDir, env } = isolatedEnv(t);
    const lan = await cli(['gateway', '--bind', 'lan', '--port', '0', '--auth', 'none', '--state-dir', stateDir], env);
    t.equal(lan.code, 2, 'usage error exit');
    t.match(lan.stderr, /refusing to bind gateway to 0\.0\.0\.0:0 without auth/);

    const noPw = await cli(['gateway', '--port', '0', '--auth', 'password', '--state-dir', stateDir], env);
    t.equal(noPw.code, 2);
    t.match(noPw.stderr, /gateway auth mode is password, but no password was configured/);

    const gw = startLong(
      ['gateway', '--port', '0', '--state-dir', stateDir, '--password', PASSWORD, '--json'],
      env,
      (l) => l.startsWith('{'),
    );
    t.teardown(() => {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    });
    const info = JSON.parse(await gw.line) as { url: string; auth: unknown };
    t.same(info.auth, { mode: 'password', source: 'option', location: '--password (not stored)' });
    const list = await cli(['nodes', 'list', '--url', info.url, '--json'], {
      ...env,
      OPENCLAW_GATEWAY_PASSWORD: PASSWORD,
    });
    t.equal(list.code, 0, list.stderr);
    t.notOk(gw.out().includes(PASSWORD) || gw.err().includes(PASSWORD), 'not printed');
    t.equal(await stop(gw.child), 0);

    for (const command of [['nodes'], ['run'], ['invoke'], ['node', 'run'], ['gateway']]) {
      const help = await cli([...command, '--help'], env);
      t.equal(help.code, 0);
      t.match(help.stdout, /--password P/, `${command.join(' ')} --help lists --password`);
      t.match(help.stdout, /`ps`/, `${command.join(' ')} --help warns that flags show in ps`);
    }
  },
);
