// Interop part 5 (issue 11): TLS with pinned fingerprints against the real openclaw@2026.9.6, across two hosts.
// Network namespaces A and B are joined by a veth pair (test/helpers/netns.ts). The Gateways run in A, bound
// to A's link address; the node hosts run in B and reach them at that address only. Each Gateway's operator
// (our GatewayClient, driven over stdio) runs beside it on A's own loopback, as an admin on the Gateway host
// would. Every process is a host of its own (test/helpers/netns-launch.ts ownHostPrefix: real-a, real-b,
// ours-b), so `hostname` through system.run names the machine that ran it.
//   a. the real node host (`openclaw node run --host <A> --tls --tls-fingerprint`) against our wss:// Gateway:
//      with a wrong pin it stops at the TLS handshake and our Gateway never sees a connect; with the right one
//      its device pairing (from B: never silent) is approved, it is rerun as upstream documents, its command
//      surface is approved and system.run runs on real-b;
//   b. our node host (`openclaw-ipc node run --host <A> --tls --tls-fingerprint`) against the real Gateway
//      with gateway.tls.enabled and bind custom (A's address): device pairing approved there, our node host
//      reconnects by itself, command surface approved, system.run runs on ours-b.
// Called from scripts/interop.ts; every process here is killed with the namespaces (pair.close()).
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { certificateFingerprint } from '../lib/common/tls-fingerprint.js';
import { createNetnsPair, netnsAvailable, type NetnsPair } from '../test/helpers/netns.js';
import {
  capture,
  firstJsonLine,
  operatorIn,
  ourCliIn,
  ourCliArgv,
  ownHostPrefix,
  realOpenclawIn,
  until,
} from '../test/helpers/netns-launch.js';
import type { OperatorDriver } from '../test/helpers/operator-driver.js';
import type { InteropDeps } from './interop-operator.js';

const QUIET_CONFIG = {
  update: { checkOnStart: false },
  telemetry: { enabled: false },
  nodeHost: { autoUpdate: { enabled: false } },
};

type Payload = Record<string, unknown>;

interface DeviceRequest {
  requestId: string;
  displayName?: string;
  remoteIp?: string;
}

/** One operator request: its payload, or a throw carrying the Gateway's error. */
async function call(op: OperatorDriver, method: string, params: unknown = {}): Promise<Payload> {
  const res = await op.request(method, params, 90_000);
  if (res.ok !== true) throw new Error(`${method}: ${JSON.stringify(res.error)}`);
  return (res.payload ?? {}) as Payload;
}

/** system.run argv on the node; its stdout (exit code 0 required). */
async function systemRun(op: OperatorDriver, nodeId: string, argv: string[]): Promise<string> {
  const reply = await call(op, 'node.invoke', {
    nodeId,
    command: 'system.run',
    params: { command: argv },
    idempotencyKey: crypto.randomUUID(),
    timeoutMs: 30_000,
  });
  const run = reply.payload as { exitCode?: number; stdout?: unknown } | undefined;
  if (run?.exitCode !== 0 || typeof run.stdout !== 'string')
    throw new Error(`system.run ${argv.join(' ')}: ${JSON.stringify(reply).slice(0, 800)}`);
  return run.stdout;
}

/** `echo <word>` and `hostname` on the node: the second proves which host ran it. */
async function runsOn(op: OperatorDriver, nodeId: string, word: string, host: string): Promise<string> {
  const echoed = await systemRun(op, nodeId, ['echo', word]);
  if (echoed !== `${word}\n`) throw new Error(`echo printed ${JSON.stringify(echoed)}`);
  const ranOn = await systemRun(op, nodeId, ['hostname']);
  if (ranOn !== `${host}\n`) throw new Error(`hostname printed ${JSON.stringify(ranOn)}, not ${host}`);
  return `echo ${JSON.stringify(echoed)}, hostname ${JSON.stringify(ranOn)}`;
}

/** The pending device pairing request of `displayName` (polled: it may predate this operator). */
async function pendingDevice(op: OperatorDriver, displayName: string, timeoutMs: number): Promise<DeviceRequest> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = (await call(op, 'device.pair.list')) as { pending?: DeviceRequest[] };
    const request = listed.pending?.find((r) => r.displayName === displayName);
    if (request) return request;
    if (Date.now() > deadline) throw new Error(`no device pairing request from ${displayName}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Approves the node's pending command surface (node.pair.list / node.pair.approve). */
async function approveSurface(op: OperatorDriver, nodeId: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const listed = (await call(op, 'node.pair.list')) as { pending?: Array<{ requestId: string; nodeId: string }> };
    const request = listed.pending?.find((r) => r.nodeId === nodeId);
    if (request) {
      await call(op, 'node.pair.approve', { requestId: request.requestId });
      return request.requestId;
    }
    if (Date.now() > deadline) throw new Error(`no pending command surface for ${nodeId}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The connected node named `displayName` in node.list. */
async function connectedNode(op: OperatorDriver, displayName: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = (await call(op, 'node.list')) as {
      nodes?: Array<{ nodeId: string; displayName?: string; connected?: boolean }>;
    };
    const node = listed.nodes?.find((n) => n.displayName === displayName && n.connected !== false);
    if (node) return node.nodeId;
    if (Date.now() > deadline) throw new Error(`${displayName} not connected: ${JSON.stringify(listed).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM'); // its group: `ip netns exec`, unshare, sh and node
  await exited;
}

/** a. The real node host in B against our Gateway in A. */
async function realNodeAgainstOurGateway(deps: InteropDeps, pair: NetnsPair, dir: string): Promise<void> {
  const token = crypto.randomBytes(16).toString('hex');
  const gwState = path.join(dir, 'our-gateway');
  fs.mkdirSync(gwState, { mode: 0o700 });
  fs.writeFileSync(path.join(gwState, 'openclaw.json'), JSON.stringify({ discovery: { mdns: { mode: 'off' } } }));
  const gateway = ourCliIn(
    pair.a,
    ['gateway', '--bind', pair.a.address, '--tls', '--port', '0', '--json', '--state-dir', gwState],
    { env: { PATH: process.env.PATH, HOME: dir, OPENCLAW_GATEWAY_TOKEN: token } },
  );
  let port = 0;
  let fingerprint = '';
  await deps.attempt(`our Gateway in A serves wss:// on ${pair.a.address} (its link address)`, async () => {
    const ready = await firstJsonLine(gateway, 'our Gateway', 90_000);
    if (ready.url !== `wss://${pair.a.address}:${ready.port}` || ready.bind?.host !== pair.a.address)
      throw new Error(`ready line ${JSON.stringify(ready)}`);
    port = ready.port as number;
    fingerprint = String(ready.tls?.fingerprintSha256 ?? '');
    return `${ready.url as string}, certificate SHA-256 ${fingerprint}`;
  });
  if (!fingerprint) return;
  const op = operatorIn(pair.a, { url: `wss://127.0.0.1:${port}`, token, tlsFingerprint: fingerprint });
  try {
    await op.ready();
    const realNode = (name: string, pin: string): { child: ChildProcess; output: () => string } => {
      const state = path.join(dir, name);
      if (!fs.existsSync(state)) {
        fs.mkdirSync(state, { mode: 0o700 });
        fs.writeFileSync(path.join(state, 'openclaw.json'), JSON.stringify(QUIET_CONFIG), { mode: 0o600 });
      }
      const child = realOpenclawIn(
        pair.b,
        'real-b',
        [
          deps.node24,
          deps.openclawEntry,
          'node',
          'run',
          '--host',
          pair.a.address,
          '--port',
          String(port),
          '--tls',
          '--tls-fingerprint',
          pin,
          '--display-name',
          name,
        ],
        { env: deps.peerEnv(deps.work, state, { OPENCLAW_GATEWAY_TOKEN: token }) },
      );
      return { child, output: capture(child) };
    };
    // Both boot at once (30-90 s each on a loaded box).
    const wrong = realNode('ocpeer-wrong-pin', 'ab'.repeat(32));
    let right = realNode('ocpeer-tls', fingerprint);
    await deps.attempt(
      `real node host in B (right pin) asks our Gateway for device pairing from ${pair.b.address}; approved`,
      async () => {
        const request = await pendingDevice(op, 'ocpeer-tls', 240_000);
        if (request.remoteIp !== pair.b.address) throw new Error(`request ${JSON.stringify(request)}`);
        await call(op, 'device.pair.approve', { requestId: request.requestId });
        // Upstream's node host pauses on PAIRING_REQUIRED and does not resume after approval (docs/cli/node.md).
        await until('its reconnect pause', () => /reconnect paused/.test(right.output()), 60_000, right.output);
        return `request ${request.requestId} from ${request.remoteIp}; ${/[^\n]*reconnect paused[^\n]*/.exec(right.output())![0].slice(0, 160)}`;
      },
    );
    await deps.attempt(
      'real node host in B with a wrong --tls-fingerprint: refused at the TLS handshake, our Gateway saw no connect',
      async () => {
        await until('its pin mismatch', () => /fingerprint mismatch/i.test(wrong.output()), 240_000, wrong.output);
        // From B every connect leaves a device pairing request (the right-pin node's shows it): none from this
        // node means no connect frame, and so no token, reached our Gateway.
        const listed = (await call(op, 'device.pair.list')) as { pending?: DeviceRequest[]; paired?: DeviceRequest[] };
        const all = [...(listed.pending ?? []), ...(listed.paired ?? [])];
        if (!all.some((d) => d.displayName === 'ocpeer-tls'))
          throw new Error(`control missing: ${JSON.stringify(listed)}`);
        if (all.some((d) => d.displayName === 'ocpeer-wrong-pin') || /gateway connected/.test(wrong.output()))
          throw new Error(`the wrong-pin node got through: ${JSON.stringify(listed)}`);
        return (/[^\n]*fingerprint mismatch[^\n]*/i.exec(wrong.output()) ?? [''])[0].slice(0, 200);
      },
    );
    await stop(wrong.child);

    let nodeId = '';
    await deps.attempt(
      'real node host rerun (as upstream documents after approval) joins our wss:// Gateway',
      async () => {
        await stop(right.child);
        right = realNode('ocpeer-tls', fingerprint);
        nodeId = await connectedNode(op, 'ocpeer-tls', 240_000);
        return `nodeId ${nodeId.slice(0, 16)}…; ${(/[^\n]*gateway connected[^\n]*/.exec(right.output()) ?? [''])[0]}`;
      },
    );
    if (!nodeId) return;
    await deps.attempt('real node over TLS: command surface approved, system.run runs on real-b (B)', async () => {
      await approveSurface(op, nodeId);
      await new Promise((r) => setTimeout(r, 1_500)); // its inventory retry backs off
      return runsOn(op, nodeId, 'tls-real-node', 'real-b');
    });
  } finally {
    op.close();
  }
}

/** b. Our node host in B against the real Gateway in A (gateway.tls.enabled, bind custom). */
async function ourNodeAgainstRealGateway(deps: InteropDeps, pair: NetnsPair, dir: string): Promise<void> {
  const token = crypto.randomBytes(16).toString('hex');
  const port = await deps.freePort();
  const stateDir = path.join(dir, 'real-gateway');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  // Explicit paths (upstream's keys): where its generated pair lands does not depend on its CONFIG_DIR.
  const certPath = path.join(stateDir, 'gateway', 'tls', 'gateway-cert.pem');
  const config = {
    gateway: {
      mode: 'local',
      bind: 'custom',
      customBindHost: pair.a.address,
      port,
      auth: { mode: 'token', token },
      tls: { enabled: true, certPath, keyPath: path.join(stateDir, 'gateway', 'tls', 'gateway-key.pem') },
      nodes: { pairing: { sshVerify: false } },
    },
    ...QUIET_CONFIG,
    models: { catalogRefresh: { enabled: false } },
    agents: { defaults: { heartbeat: { every: '0m' } } },
    tools: { exec: { notifyOnExit: false } },
  };
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  const real = realOpenclawIn(
    pair.a,
    'real-a',
    [deps.node24, deps.openclawEntry, 'gateway', 'run', '--port', String(port), '--bind', 'custom'],
    { env: deps.peerEnv(deps.work, stateDir) },
  );
  const realOut = capture(real);
  let fingerprint = '';
  await deps.attempt(
    `real Gateway in A (gateway.tls.enabled, bind custom ${pair.a.address}) ready; its generated certificate`,
    async () => {
      // Until its sidecars are up it answers connects with "gateway starting; retry shortly".
      await until(
        'the real Gateway ready for clients',
        () => /\[gateway\] ready/.test(realOut()),
        300_000,
        realOut,
        real,
      );
      fingerprint = certificateFingerprint(fs.readFileSync(certPath));
      const listening = (/[^\n]*listening[^\n]*/.exec(realOut()) ?? [''])[0].trim();
      return `${listening.slice(0, 200)}; SHA-256 ${fingerprint}`;
    },
  );
  if (!fingerprint) return;
  const op = operatorIn(pair.a, { url: `wss://127.0.0.1:${port}`, token, tlsFingerprint: fingerprint });
  const nodeState = path.join(dir, 'our-node');
  fs.mkdirSync(nodeState, { mode: 0o700 });
  fs.writeFileSync(
    path.join(nodeState, 'exec-approvals.json'),
    JSON.stringify({
      version: 1,
      defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
      agents: {
        main: {
          allowlist: ['/usr/bin/echo', '/bin/echo', '/usr/bin/hostname', '/bin/hostname'].map((pattern) => ({
            pattern,
          })),
        },
      },
    }),
    { mode: 0o600 },
  );
  const nodeArgs = ['node', 'run', '--host', pair.a.address, '--port', String(port), '--tls'];
  const ours = pair.b.spawn(
    [
      ...ownHostPrefix('ours-b'),
      ...ourCliArgv([
        ...nodeArgs,
        '--tls-fingerprint',
        fingerprint,
        '--display-name',
        'openclaw-ipc-tls-node',
        '--json',
      ]),
    ],
    {
      cwd: deps.repo,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        OPENCLAW_STATE_DIR: nodeState,
        OPENCLAW_GATEWAY_TOKEN: token,
        OPENCLAW_NODE_EXEC_HOST: 'local',
      },
    },
  );
  const oursOut = capture(ours);
  try {
    await op.ready();
    await deps.attempt(
      `our node host in B (--tls --tls-fingerprint) asks the real Gateway for device pairing from ${pair.b.address}; approved`,
      async () => {
        const request = await pendingDevice(op, 'openclaw-ipc-tls-node', 90_000);
        if (request.remoteIp !== undefined && request.remoteIp !== pair.b.address)
          throw new Error(`request ${JSON.stringify(request)}`);
        await call(op, 'device.pair.approve', { requestId: request.requestId });
        return `request ${request.requestId} from ${request.remoteIp ?? '(no remoteIp)'}`;
      },
    );
    let nodeId = '';
    await deps.attempt('our node host reconnects by itself and joins the real wss:// Gateway', async () => {
      await until('our node ready', () => /"ready":true/.test(oursOut()), 90_000, oursOut, ours);
      const line = oursOut()
        .split('\n')
        .find((l) => l.includes('"ready":true'))!;
      nodeId = (JSON.parse(line) as { nodeId: string }).nodeId;
      return `nodeId ${nodeId.slice(0, 16)}…`;
    });
    if (!nodeId) return;
    await deps.attempt(
      'our node over TLS: command surface approved on the real Gateway, system.run runs on ours-b (B)',
      async () => {
        await approveSurface(op, nodeId);
        await until(
          'command surface approved',
          () => oursOut().includes('command surface approved'),
          30_000,
          oursOut,
          ours,
        );
        return runsOn(op, nodeId, 'tls-our-node', 'ours-b');
      },
    );
  } finally {
    op.close();
  }
}

export async function remoteTlsInterop(deps: InteropDeps): Promise<void> {
  const net = netnsAvailable();
  if (!net.ok) {
    deps.check('TLS with pinned fingerprints across namespaces', false, `cannot run: ${net.reason}`);
    return;
  }
  const pair = await createNetnsPair();
  try {
    const dir = fs.mkdtempSync(path.join(deps.work, 'tls-'));
    deps.log(
      `namespaces ${pair.a.name} (${pair.a.address}: Gateways) and ${pair.b.name} (${pair.b.address}: node hosts)`,
    );
    await realNodeAgainstOurGateway(deps, pair, dir);
    await ourNodeAgainstRealGateway(deps, pair, dir);
  } finally {
    await pair.close();
  }
}
