// `openclaw-ipc node run` as a real process against our real Gateway: it connects with a signed
// device identity, waits for its command surface to be approved, serves system.which/system.run,
// and an in-process node host survives a Gateway restart with no lost or duplicated result.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { GatewayRequestError } from '../../lib/client/errors.js';
import { connectOperator } from '../../lib/client/operator.js';
import { startGateway, type GatewayHandle } from '../../lib/gateway/index.js';
import { startNodeHost } from '../../lib/node-host/host.js';
import type { DeliveryOutcome } from '../../lib/node-host/outbox.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function tmpDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function privateDir(parent: string, name: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

function writePolicy(stateDir: string, policy: Record<string, unknown>): void {
  fs.writeFileSync(path.join(stateDir, 'exec-approvals.json'), JSON.stringify({ version: 1, ...policy }), {
    mode: 0o600,
  });
}

/** Resolves with the first stdout line matching `re`; rejects if the process exits first. */
function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; got: ${buffer}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => re.test(l));
      if (line) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${re}; stdout: ${buffer}`));
    });
  });
}

async function waitUntil(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function approveNode(gateway: GatewayHandle, nodeId: string): Promise<void> {
  await waitUntil(() => gateway.nodes.pendingRequests().some((r) => r.nodeId === nodeId));
  for (const r of gateway.nodes.pendingRequests()) if (r.nodeId === nodeId) gateway.nodes.approve(r.requestId);
}

t.test('node run: joins the Gateway, serves system.which and system.run, stops on SIGTERM', async (t) => {
  const root = tmpDir(t, 'oc-noderun-');
  const gwState = privateDir(root, 'gw');
  const nodeState = privateDir(root, 'node');
  writePolicy(nodeState, {
    defaults: { security: 'allowlist', ask: 'off' },
    agents: { main: { allowlist: [{ pattern: '/usr/bin/echo' }, { pattern: '/bin/echo' }] } },
  });
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: gwState, token: 'gw-token-node-run' });
  t.teardown(() => gateway.close());

  const child = spawn(
    process.execPath,
    cliNodeArgs('main', ['node', 'run', '--url', gateway.url, '--display-name', 'test-node', '--json']),
    {
      cwd: repo,
      env: {
        ...process.env,
        OPENCLAW_STATE_DIR: nodeState,
        OPENCLAW_GATEWAY_TOKEN: 'gw-token-node-run',
        OPENCLAW_NODE_EXEC_HOST: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const ready = JSON.parse(await waitForLine(child, /"ready":true/)) as { nodeId: string; exec: string };
  t.match(ready.nodeId, /^[0-9a-f]{64}$/, 'node id = device id');
  t.equal(ready.exec, 'auto');
  const identity = JSON.parse(fs.readFileSync(path.join(nodeState, 'identity', 'device.json'), 'utf8')) as {
    deviceId: string;
  };
  t.equal(identity.deviceId, ready.nodeId, 'persistent identity in the node state dir');
  t.equal(fs.statSync(path.join(nodeState, 'node.json')).mode & 0o777, 0o600, 'node.json 0600');
  await approveNode(gateway, ready.nodeId);

  const operator = await connectOperator({
    url: gateway.url,
    token: 'gw-token-node-run',
    tokenSource: 'option',
    stateDir: gwState,
  });
  t.teardown(() => operator.close());
  const listed = await operator.request<{
    nodes: Array<{ nodeId: string; displayName: string; connected: boolean; commands: string[] }>;
  }>('node.list', {});
  const me = listed.nodes.find((n) => n.nodeId === ready.nodeId);
  t.equal(me?.displayName, 'test-node');
  t.equal(me?.connected, true);
  t.ok(me?.commands.includes('system.run'));

  const invoke = (command: string, params: unknown) =>
    operator.request<{ payload: unknown }>(
      'node.invoke',
      { nodeId: ready.nodeId, command, params, idempotencyKey: `${command}-${Math.random()}`, timeoutMs: 15_000 },
      { timeoutMs: 20_000 },
    );
  const which = await invoke('system.which', { bins: ['sh', 'definitely-not-here'] });
  t.same(Object.keys((which.payload as { bins: Record<string, string> }).bins), ['sh'], 'system.which finds sh only');
  const run = await invoke('system.run', { command: ['echo', 'hello from node'] });
  t.same(run.payload, {
    exitCode: 0,
    timedOut: false,
    success: true,
    stdout: 'hello from node\n',
    stderr: '',
    error: null,
  });
  const denied = await invoke('system.run', { command: ['uname'] }).catch((e: unknown) => e);
  t.ok(denied instanceof GatewayRequestError, 'denial reaches the operator as an error');
  // The Gateway shows a node error as `<code>: <message>`: the node's message must not repeat the code.
  t.equal((denied as GatewayRequestError).message, 'SYSTEM_RUN_DENIED: allowlist miss', 'the code prefix appears once');
  t.same(
    (denied as GatewayRequestError).details,
    { nodeError: { code: 'SYSTEM_RUN_DENIED', message: 'allowlist miss' }, nodeCommandDispatched: true },
    'the node sent code SYSTEM_RUN_DENIED and the bare reason',
  );
  const canvas = await invoke('canvas.present', {}).catch((e: unknown) => e);
  t.match(
    (canvas as GatewayRequestError).message,
    /not declared|not allowed/,
    'undeclared command refused by the Gateway',
  );

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 0, 'clean exit on SIGTERM');
  t.match(stderr, /SIGTERM: shutting down/);
});

t.test(
  'Gateway restart mid-command: the command runs once, its result is delivered or logged, never duplicated',
  async (t) => {
    const root = tmpDir(t, 'oc-restart-');
    const gwState = privateDir(root, 'gw');
    const nodeState = privateDir(root, 'node');
    writePolicy(nodeState, { defaults: { security: 'full', ask: 'off' } });
    const counter = path.join(root, 'runs.txt');
    let gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: gwState, token: 'tok-restart' });
    const port = gateway.port;
    t.teardown(() => gateway.close());

    const logs: string[] = [];
    const host = startNodeHost({
      url: gateway.url,
      token: 'tok-restart',
      stateDir: nodeState,
      execHost: 'local',
      reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      log: (m) => logs.push(m),
    });
    t.teardown(() => host.close());
    const outcomes: Array<[string, DeliveryOutcome]> = [];
    host.onResult((id, outcome) => outcomes.push([id, outcome]));
    await host.ready;
    await approveNode(gateway, host.nodeId);

    const operator = await connectOperator({
      url: gateway.url,
      token: 'tok-restart',
      tokenSource: 'option',
      stateDir: gwState,
    });
    const slowInvoke = {
      nodeId: host.nodeId,
      command: 'system.run',
      params: { command: ['/bin/sh', '-c', `echo run >> '${counter}'; sleep 1; echo slow-done`] },
      idempotencyKey: 'restart-1',
      timeoutMs: 20_000,
    };
    const slow = operator.request('node.invoke', slowInvoke, { timeoutMs: 25_000 }).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await waitUntil(() => fs.existsSync(counter));
    await gateway.close('restart');
    t.notMatch(await slow, 'answered', 'the operator of the old Gateway sees the connection end');
    gateway = await startGateway({ host: '127.0.0.1', port, stateDir: gwState, token: 'tok-restart' });

    await waitUntil(() => outcomes.length === 1, 20_000);
    // The restarted Gateway persisted the cut invoke as in flight and takes the re-delivered result.
    t.equal(outcomes[0]![1], 'delivered', 'the result is delivered to the restarted Gateway, not retried');
    t.equal(fs.readFileSync(counter, 'utf8'), 'run\n', 'the command ran exactly once');

    await waitUntil(() => host.client.connected);
    const operator2 = await connectOperator({
      url: gateway.url,
      token: 'tok-restart',
      tokenSource: 'option',
      stateDir: gwState,
    });
    t.teardown(() => operator2.close());
    await waitUntil(() => gateway.nodes.get(host.nodeId) !== undefined);
    const after = await operator2.request<{ payload: { stdout: string } }>(
      'node.invoke',
      {
        nodeId: host.nodeId,
        command: 'system.run',
        params: { command: ['/bin/echo', 'after'] },
        idempotencyKey: 'after-1',
        timeoutMs: 15_000,
      },
      { timeoutMs: 20_000 },
    );
    t.equal(after.payload.stdout, 'after\n', 'reconnected without a new approval (state kept)');
    const retried = await operator2.request<{ payload: { stdout: string } }>('node.invoke', slowInvoke, {
      timeoutMs: 20_000,
    });
    t.equal(retried.payload.stdout, 'slow-done\n', 'retrying the cut invoke returns its result');
    t.equal(fs.readFileSync(counter, 'utf8'), 'run\n', 'without running it again');
    await waitUntil(() => outcomes.length === 2);
    t.same(
      outcomes.map(([, o]) => o),
      ['delivered', 'delivered'],
      'each result has exactly one fate',
    );
    await new Promise((r) => setTimeout(r, 300));
    t.equal(outcomes.length, 2, 'no duplicate delivery');
    await operator.close();
  },
);
