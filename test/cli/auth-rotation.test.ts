// `openclaw-ipc up` as a real process survives a token rotation: its gateway.auth.token is rewritten in
// openclaw.json, the Gateway closes the old sessions with 4001, the in-process node rejoins with the new
// token read from the Gateway, `nodes list` works with the new token and refuses the old one. With the
// token in the environment, `up` says the secret is fixed for the run.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { writeFileAtomic } from '../../lib/common/state-dir.js';
import { startGateway } from '../../lib/gateway/index.js';
import { cli, repo } from '../helpers/cli.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Real processes on a loaded 2-core box.
t.setTimeout(180_000);

const NEW_TOKEN = 'rotated-token-0123456789abcdef';

interface Up {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once `cond(stdout, stderr)` holds (checked on every output chunk); rejects on exit or deadline. */
  until(cond: (stdout: string, stderr: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
}

function startUp(t: Tap, env: NodeJS.ProcessEnv, args: string[]): Up {
  return startCli(t, env, ['up', '--port', '0', '--no-bridge', '--no-prompt', ...args]);
}

/** A long-running `openclaw-ipc <args>` child, stopped with SIGTERM at teardown. */
function startCli(t: Tap, env: NodeJS.ProcessEnv, args: string[]): Up {
  const child = spawn(process.execPath, cliNodeArgs('main', args), {
    cwd: repo,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const check = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    check();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    check();
  });
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    until: (cond, what, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const waiter = (): void => {
          if (!cond(stdout, stderr)) return;
          done();
          resolve();
        };
        const onExit = (code: number | null): void => {
          done();
          reject(new Error(`up exited (${code}) before ${what}; stderr: ${stderr}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${what}; stderr: ${stderr}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
          child.off('exit', onExit);
        };
        waiters.add(waiter);
        child.once('exit', onExit);
        waiter();
      }),
  };
}

interface Tap {
  teardown(fn: () => unknown): void;
}

function isolatedEnv(t: Tap): { stateDir: string; env: NodeJS.ProcessEnv } {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-rot-'));
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
  return { stateDir, env };
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

t.test(
  'up: rotating gateway.auth.token keeps the stack working; its own node rejoins with the new token',
  async (t) => {
    const { stateDir, env } = isolatedEnv(t);
    const up = startUp(t, env, ['--json']);
    await up.until((out) => out.includes('\n'), 'the ready line');
    const info = JSON.parse(up.stdout().split('\n')[0]!) as {
      url: string;
      nodeId: string;
      authReloads: boolean;
      auth: { mode: string; source: string };
    };
    t.match(
      info,
      { authReloads: true, auth: { mode: 'token', source: 'generated' } },
      'a generated token lives in the file and follows it',
    );
    await up.until((_o, err) => err.includes('node: connected to'), 'the node joined');

    const configPath = path.join(stateDir, 'openclaw.json');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { gateway: { auth: { token: string } } };
    const oldToken = config.gateway.auth.token;
    config.gateway.auth.token = NEW_TOKEN;
    writeFileAtomic(configPath, JSON.stringify(config, null, 2));

    await up.until(
      (_o, err) => /\[gateway\] gateway auth changed \(token\); closed \d+ connections? with 4001/.test(err),
      'the Gateway applied the new token',
    );
    await up.until(
      (_o, err) => err.includes('node: disconnected from the Gateway (4001 gateway auth changed); reconnecting'),
      'the node saw 4001',
    );
    await up.until((_o, err) => count(err, 'node: connected to') >= 2, 'the node rejoined');
    t.notOk(up.stderr().includes(oldToken) || up.stderr().includes(NEW_TOKEN), 'no secret in the log');

    const list = await cli(['nodes', 'list', '--json', '--url', info.url], env);
    t.equal(list.code, 0, `nodes list with the new token from openclaw.json (stderr: ${list.stderr})`);
    const nodes = (JSON.parse(list.stdout) as { nodes: Array<{ nodeId: string; connected: boolean }> }).nodes;
    t.ok(
      nodes.some((n) => n.nodeId === info.nodeId && n.connected),
      'the in-process node is connected again',
    );

    const stale = await cli(['nodes', 'list', '--json', '--url', info.url, '--token', oldToken], env);
    t.not(stale.code, 0, 'the old token is refused');
    t.match(stale.stderr, /gateway token mismatch/);
    t.equal(fs.statSync(configPath).mode & 0o777, 0o600, 'the config stays 0600');
    t.equal(up.child.exitCode, null, 'up is still running');
  },
);

t.test('up --node-process child: the child node (secret in its env) is restarted with the rotated token', async (t) => {
  const { stateDir, env } = isolatedEnv(t);
  const up = startUp(t, env, ['--json', '--node-process', 'child']);
  await up.until((out) => out.includes('\n'), 'the ready line');
  const info = JSON.parse(up.stdout().split('\n')[0]!) as { url: string; nodeId: string };
  const configPath = path.join(stateDir, 'openclaw.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { gateway: { auth: { token: string } } };
  config.gateway.auth.token = NEW_TOKEN;
  writeFileAtomic(configPath, JSON.stringify(config, null, 2));

  await up.until(
    (_o, err) => err.includes('[up] node: restarted (the Gateway auth changed)'),
    'the child node restarted',
    90_000,
  );
  const list = await cli(['nodes', 'list', '--json', '--url', info.url], env);
  t.equal(list.code, 0, `nodes list with the new token (stderr: ${list.stderr})`);
  const nodes = (JSON.parse(list.stdout) as { nodes: Array<{ nodeId: string; connected: boolean }> }).nodes;
  t.ok(
    nodes.some((n) => n.nodeId === info.nodeId && n.connected),
    'the same node is connected with the new token',
  );
  t.notOk(up.stderr().includes(NEW_TOKEN), 'no secret in the log');
});

t.test('up: a token from the environment is reported as fixed for the run', async (t) => {
  const { env } = isolatedEnv(t);
  const up = startUp(t, { ...env, OPENCLAW_GATEWAY_TOKEN: 'env-token-0123456789' }, []);
  await up.until((out) => out.includes('  state '), 'the ready text');
  t.match(
    up.stdout(),
    /\n {2}auth {7}token: \$OPENCLAW_GATEWAY_TOKEN\n {2}rotation {3}fixed for this run: env\/option secrets are not reloaded \(restart to change\)\n/,
  );
  t.notOk(up.stdout().includes('env-token-0123456789'), 'the secret is not printed');
});

t.test('node run: a node host whose token comes from openclaw.json follows the rotation', async (t) => {
  const { stateDir, env } = isolatedEnv(t);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const configPath = path.join(stateDir, 'openclaw.json');
  writeFileAtomic(configPath, JSON.stringify({ gateway: { auth: { token: 'first-token-0123456789' } } }));
  const gw = await startGateway({ port: 0, stateDir, env: {}, autoApproveNodes: true, log: () => {} });
  t.teardown(() => gw.close());
  const node = startCli(t, env, ['node', 'run', '--url', gw.url]);
  await node.until((_o, err) => err.includes('connected to'), 'the node joined');
  const nodeId = gw.nodes.list()[0]?.nodeId;
  t.ok(nodeId, 'registered with the first token');

  writeFileAtomic(configPath, JSON.stringify({ gateway: { auth: { token: NEW_TOKEN } } }));
  await node.until(
    (_o, err) => err.includes('disconnected from the Gateway (4001 gateway auth changed); reconnecting'),
    'the node saw 4001',
  );
  await node.until((_o, err) => count(err, 'connected to ') >= 2, 'the node rejoined');
  await gw.nodes.waitFor(nodeId!, 60_000);
  t.equal(gw.nodes.get(nodeId!)?.nodeId, nodeId, 'connected again, with the token re-read from openclaw.json');
});
