/* eslint-disable @typescript-eslint/no-explicit-any -- wire payloads are untyped JSON; tests read them field by field */
// Issue 11 across two hosts: two network namespaces joined by a veth pair (test/helpers/netns.ts), the
// Gateway in one (bind custom to its link address, TLS with a generated certificate), our node host in
// the other, joining over wss:// with the printed fingerprint. Only the link addresses and each side's own
// loopback are used. An operator runs beside the Gateway (its 127.0.0.1 companion listener, pinned from
// the state dir's certificate without flags) and is driven over stdio from here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';

import t, { type Test } from 'tap';

import { repo } from '../helpers/cli.js';
import { createNetnsPair, netnsAvailable, type Netns } from '../helpers/netns.js';
import { firstJsonLine, operatorIn, ourCliArgv, ourCliIn } from '../helpers/netns-launch.js';

t.setTimeout(200_000);

const net = netnsAvailable();
const TOKEN = 'remote-netns-token-0123456789abcdef';

function tmpDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  // Not t.testdir(): processes in another network namespace use it and its sockets (short path, outside the checkout).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o700);
  // Retries: a process in the namespace may still be writing here while its pair is being torn down.
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  return dir;
}

function env(stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of [
    'OPENCLAW_GATEWAY_TOKEN',
    'OPENCLAW_GATEWAY_PASSWORD',
    'OPENCLAW_GATEWAY_URL',
    'OPENCLAW_GATEWAY_PORT',
  ])
    delete base[key];
  return { ...base, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_NODE_EXEC_HOST: '', ...extra };
}

function cliIn(ns: Netns, args: string[], stateDir: string, extra?: NodeJS.ProcessEnv): ChildProcess {
  return ourCliIn(ns, args, { env: env(stateDir, extra) });
}

/** `gateway --bind lan` without TLS, with TLS but auth none, and a specific address without TLS: all exit 2. */
async function checkRefusals(t: Test, ns: Netns): Promise<void> {
  // One state dir each: they run at once, and a Gateway holds its state dir's lock while it starts.
  const run = (args: string[], extra?: NodeJS.ProcessEnv) => {
    const stateDir = tmpDir(t, 'oc-remote-refuse-');
    return ns
      .run(ourCliArgv(['gateway', '--port', '0', ...args]), {
        cwd: repo,
        env: env(stateDir, extra),
      })
      .then((result) => ({ ...result, generated: fs.existsSync(path.join(stateDir, 'gateway', 'tls')) }));
  };
  const [noTls, noAuth, custom] = await Promise.all([
    run(['--bind', 'lan'], { OPENCLAW_GATEWAY_TOKEN: TOKEN }),
    run(['--bind', 'lan', '--tls', '--auth', 'none']),
    run(['--bind', ns.address], { OPENCLAW_GATEWAY_TOKEN: TOKEN }),
  ]);
  t.equal(noTls.code, 2, `lan without TLS: exit 2 (${noTls.stderr.trim()})`);
  t.match(noTls.stderr, /without TLS.*\[ERR_GATEWAY_TLS_REQUIRED\]/s);
  t.equal(noAuth.code, 2, 'lan with TLS but without auth: exit 2');
  t.match(noAuth.stderr, /without auth/);
  t.equal(noAuth.generated, false, 'no certificate generated for a refused start');
  t.equal(custom.code, 2, `the link address without TLS: exit 2 (${custom.stderr.trim()})`);
  t.match(custom.stderr, /ERR_GATEWAY_TLS_REQUIRED/);
}

async function linkDown(ns: Netns, ms: number): Promise<void> {
  await ns.run(['ip', 'link', 'set', ns.iface, 'down']);
  await new Promise((resolve) => setTimeout(resolve, ms));
  await ns.run(['ip', 'link', 'set', ns.iface, 'up']);
}

t.test(
  'two hosts: no exposure without TLS/auth; our node joins our Gateway over wss:// (pin checked, remote pairing approved), system.run, a link cut ' +
    'loses and duplicates nothing',
  { skip: !net.ok && net.reason },
  async (t) => {
    const root = tmpDir(t, 'oc-remote-');
    const pair = await createNetnsPair(t);
    const gwState = path.join(root, 'gw');
    const nodeState = path.join(root, 'node');
    fs.mkdirSync(gwState, { mode: 0o700 });
    fs.mkdirSync(nodeState, { mode: 0o700 });
    fs.writeFileSync(
      path.join(gwState, 'openclaw.json'),
      JSON.stringify({
        gateway: {
          bind: 'custom',
          customBindHost: pair.a.address,
          tls: { enabled: true },
          auth: { mode: 'token', token: TOKEN },
        },
      }),
    );
    fs.writeFileSync(
      path.join(nodeState, 'exec-approvals.json'),
      JSON.stringify({ version: 1, defaults: { security: 'full', ask: 'off' } }),
      { mode: 0o600 },
    );

    // Side A: the refusals (in parallel, their own state dir), then the Gateway.
    const refusals = checkRefusals(t, pair.a);
    const gateway = cliIn(pair.a, ['gateway', '--port', '0', '--json'], gwState);
    const ready = await firstJsonLine(gateway, 'gateway');
    await refusals;
    const fingerprint = ready.tls?.fingerprintSha256 as string;
    t.match(ready, {
      ready: true,
      url: `wss://${pair.a.address}:${ready.port}`,
      bind: { mode: 'custom', host: pair.a.address, loopback: true },
      tls: { generated: true, fingerprintSha256: /^[0-9a-f]{64}$/ },
    });

    // Side A: an operator on the Gateway host, via loopback; the pin comes from the state dir's certificate.
    const operator = operatorIn(
      pair.a,
      { url: `wss://127.0.0.1:${ready.port}`, token: TOKEN, tlsFingerprint: fingerprint },
      env(gwState),
    );
    t.teardown(() => operator.close());

    // Side B, wrong pin: refused before anything is sent, so the Gateway never sees a connect.
    const wrongPinRun = pair.b.run(
      ourCliArgv([
        'node',
        'run',
        '--host',
        pair.a.address,
        '--port',
        String(ready.port),
        '--tls',
        '--tls-fingerprint',
        'ab'.repeat(32),
      ]),
      { cwd: repo, env: env(nodeState, { OPENCLAW_GATEWAY_TOKEN: TOKEN }) },
    );
    await operator.ready();
    const wrongPin = await wrongPinRun;
    t.equal(wrongPin.code, 4, 'a pin mismatch exits 4 (refused)');
    t.match(wrongPin.stderr, /not the pinned (ab){32}.*\[ERR_GATEWAY_TLS_PIN_MISMATCH\]/s);
    const afterWrong = await operator.request('device.pair.list');
    t.same((afterWrong.payload as any).pending, [], 'no pairing request: the node never got to connect');

    // Side B, right pin: the device waits for an operator (remote address), then its command surface does.
    const node = cliIn(
      pair.b,
      [
        'node',
        'run',
        '--host',
        pair.a.address,
        '--port',
        String(ready.port),
        '--tls',
        '--tls-fingerprint',
        fingerprint,
        '--display-name',
        'far-node',
        '--json',
      ],
      nodeState,
      { OPENCLAW_GATEWAY_TOKEN: TOKEN },
    );
    const nodeReady = firstJsonLine(node, 'node run', 90_000);
    const requested = await operator.event('device.pair.requested');
    t.match(
      requested,
      { remoteIp: pair.b.address, role: 'node', displayName: 'far-node' },
      'pairing requested from the far address',
    );
    const listed = await operator.request('device.pair.list');
    t.equal((listed.payload as any).pending.length, 1, 'one device waits');
    t.equal((listed.payload as any).paired.length, 0, 'nothing was auto-approved for a remote device');
    t.match(await operator.request('device.pair.approve', { requestId: requested.requestId }), { ok: true });
    const surface = await operator.event('node.pair.requested');
    t.match(await operator.request('node.pair.approve', { requestId: surface.requestId }), { ok: true });
    const info = await nodeReady;
    t.match(info, { ready: true, gateway: `wss://${pair.a.address}:${ready.port}/` });
    const remembered = JSON.parse(fs.readFileSync(path.join(nodeState, 'node.json'), 'utf8'));
    t.same(
      remembered.gateway,
      { host: pair.a.address, port: ready.port, tls: true, tlsFingerprint: fingerprint },
      'node.json remembers the Gateway and its pin',
    );
    t.ok(
      fs.existsSync(path.join(nodeState, 'identity', 'device-auth.json')),
      'the approved device got its device token',
    );

    const echo = await operator.request('node.invoke', {
      nodeId: surface.nodeId,
      command: 'system.run',
      params: { command: ['/bin/echo', 'across-the-link'] },
      idempotencyKey: 'remote-echo-1',
      timeoutMs: 60_000,
    });
    t.match(
      echo,
      { ok: true, payload: { payload: { exitCode: 0, stdout: 'across-the-link\n' } } },
      'system.run on the far node',
    );

    // A link cut while a run is in flight: the result arrives once, the command ran once.
    const marker = path.join(root, 'runs.log');
    const script = `echo start >> ${marker}; sleep 3; echo end >> ${marker}; echo finished`;
    const slow = operator.request(
      'node.invoke',
      {
        nodeId: surface.nodeId,
        command: 'system.run',
        params: { command: ['/bin/sh', '-c', script] },
        idempotencyKey: 'remote-cut-1',
        timeoutMs: 90_000,
      },
      120_000,
    );
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').includes('start'))) {
      if (Date.now() > deadline) throw new Error('the far node never started the run');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await linkDown(pair.b, 5_000);
    const result = await slow;
    t.match(
      result,
      { ok: true, payload: { payload: { exitCode: 0, stdout: 'finished\n' } } },
      'the result crossed the restored link',
    );
    t.equal(fs.readFileSync(marker, 'utf8'), 'start\nend\n', 'ran exactly once');
    const again = await operator.request('node.invoke', {
      nodeId: surface.nodeId,
      command: 'system.run',
      params: { command: ['/bin/sh', '-c', script] },
      idempotencyKey: 'remote-cut-1',
      timeoutMs: 90_000,
    });
    t.match(
      again,
      { ok: true, payload: { payload: { stdout: 'finished\n' } } },
      'a retry with the same key gets the same result',
    );
    t.equal(fs.readFileSync(marker, 'utf8'), 'start\nend\n', 'and does not run again');

    node.kill('SIGTERM');
    gateway.kill('SIGTERM');
  },
);
