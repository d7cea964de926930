// Interop part 5 (issue 11): TLS with pinned fingerprints against the real openclaw@2026.9.6, on loopback.
//   a. the real node host (`openclaw node run --tls --tls-fingerprint`) joins our wss:// Gateway and runs
//      system.run; with a wrong fingerprint it never reaches our Gateway;
//   b. our node host (`openclaw-ipc node run --tls --tls-fingerprint`) joins the real Gateway running with
//      gateway.tls.enabled (its own generated certificate) and runs system.run through it.
// Called from scripts/interop.ts with its helpers (processes it starts are cleaned up there).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { GatewayClient } from '../lib/client/gateway-client.js';
import { OPERATOR_SCOPES } from '../lib/client/operator.js';
import { certificateFingerprint } from '../lib/common/tls-fingerprint.js';
import { startGateway, type GatewayHandle } from '../lib/gateway/index.js';

interface Peer {
  child: ChildProcess;
  output: () => string;
}

export interface RemoteInteropContext {
  repo: string;
  work: string;
  peerEnv: (work: string, stateDir: string, extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
  startPeer: (args: string[], env: NodeJS.ProcessEnv) => Peer;
  waitFor: (what: string, check: () => boolean, timeoutMs: number, peer?: Peer) => Promise<void>;
  attempt: (name: string, fn: () => Promise<string | void>) => Promise<void>;
  log: (message: string) => void;
  freePort: () => Promise<number>;
}

const QUIET_CONFIG = {
  update: { checkOnStart: false },
  telemetry: { enabled: false },
  nodeHost: { autoUpdate: { enabled: false } },
};

function operator(url: string, token: string, tlsFingerprint: string): GatewayClient {
  return new GatewayClient({
    url,
    token,
    tlsFingerprint,
    role: 'operator',
    scopes: [...OPERATOR_SCOPES],
    client: { id: 'gateway-client', mode: 'backend', version: '0.1.0', platform: process.platform },
    connectTimeoutMs: 20_000,
    requestTimeoutMs: 60_000,
  });
}

async function echo(op: GatewayClient, nodeId: string, word: string): Promise<string> {
  const reply = await op.request<{ payload?: { stdout?: string; exitCode?: number } }>(
    'node.invoke',
    {
      nodeId,
      command: 'system.run',
      params: { command: ['echo', word] },
      idempotencyKey: crypto.randomUUID(),
      timeoutMs: 30_000,
    },
    { timeoutMs: 40_000 },
  );
  if (reply.payload?.stdout !== `${word}\n`) throw new Error(`payload ${JSON.stringify(reply.payload)}`);
  return JSON.stringify(reply.payload);
}

async function approveSurface(op: GatewayClient, nodeId: string): Promise<string> {
  let requestId: string | undefined;
  const deadline = Date.now() + 30_000;
  while (!requestId && Date.now() < deadline) {
    const list = await op.request<{ pending?: Array<{ requestId: string; nodeId: string }> }>('node.pair.list', {});
    requestId = list.pending?.find((r) => r.nodeId === nodeId)?.requestId;
    if (!requestId) await new Promise((r) => setTimeout(r, 500));
  }
  if (!requestId) throw new Error(`no pending node request for ${nodeId}`);
  await op.request('node.pair.approve', { requestId });
  return requestId;
}

/** a. The real node host against our TLS Gateway. */
async function realNodeAgainstOurTlsGateway(ctx: RemoteInteropContext): Promise<void> {
  const token = crypto.randomBytes(16).toString('hex');
  const gwState = path.join(ctx.work, 'tls-our-gateway');
  fs.mkdirSync(gwState, { mode: 0o700 });
  let gateway: GatewayHandle | undefined;
  let op: GatewayClient | undefined;
  const peers: Peer[] = [];
  try {
    gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: gwState, token, tls: { enabled: true } });
    const g = gateway;
    const fingerprint = g.tls!.fingerprintSha256;
    ctx.log(`our Gateway on ${g.url}, certificate SHA-256 ${fingerprint}`);
    const nodeState = (name: string): string => {
      const dir = path.join(ctx.work, name);
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'openclaw.json'), JSON.stringify(QUIET_CONFIG), { mode: 0o600 });
      return dir;
    };
    const run = (name: string, pin: string): Peer => {
      const peer = ctx.startPeer(
        [
          'node',
          'run',
          '--host',
          '127.0.0.1',
          '--port',
          String(g.port),
          '--tls',
          '--tls-fingerprint',
          pin,
          '--display-name',
          name,
        ],
        ctx.peerEnv(ctx.work, nodeState(name), { OPENCLAW_GATEWAY_TOKEN: token }),
      );
      peers.push(peer);
      return peer;
    };

    // Both start at once (the real node host takes 30-90 s to boot on a loaded box).
    const wrong = run('ocpeer-wrong-pin', 'ab'.repeat(32));
    const right = run('ocpeer-tls', fingerprint);
    await ctx.attempt('real node host with a wrong --tls-fingerprint never reaches our Gateway', async () => {
      await ctx.waitFor('its pin mismatch', () => /fingerprint mismatch/i.test(wrong.output()), 240_000, wrong);
      if (g.nodes.list().some((n) => n.displayName === 'ocpeer-wrong-pin'))
        throw new Error('the wrong-pin node got through');
      return (/[^\n]*fingerprint mismatch[^\n]*/i.exec(wrong.output()) ?? [''])[0].slice(0, 200);
    });
    wrong.child.kill('SIGTERM');

    let nodeId = '';
    await ctx.attempt('real node host (--tls --tls-fingerprint) joins our wss:// Gateway', async () => {
      await ctx.waitFor(
        'real node connected over TLS',
        () => g.nodes.list().some((n) => n.clientId === 'node-host'),
        240_000,
        right,
      );
      nodeId = g.nodes.list().find((n) => n.clientId === 'node-host')!.nodeId;
      return `nodeId ${nodeId.slice(0, 16)}…`;
    });
    if (!nodeId) return;
    op = operator(g.url, token, fingerprint);
    await op.start();
    const o = op;
    await ctx.attempt('real node over TLS: command surface approved, system.run echo through our Gateway', async () => {
      await approveSurface(o, nodeId);
      await new Promise((r) => setTimeout(r, 1_500)); // its inventory retry backs off
      return echo(o, nodeId, 'tls-real-node');
    });
  } finally {
    for (const peer of peers) if (peer.child.exitCode === null) peer.child.kill('SIGTERM');
    await op?.close().catch(() => {});
    await gateway?.close().catch(() => {});
  }
}

/** b. Our node host against the real Gateway with gateway.tls.enabled. */
async function ourNodeAgainstRealTlsGateway(ctx: RemoteInteropContext): Promise<void> {
  const token = crypto.randomBytes(16).toString('hex');
  const port = await ctx.freePort();
  const stateDir = path.join(ctx.work, 'tls-real-gateway');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const config = {
    gateway: {
      mode: 'local',
      bind: 'loopback',
      port,
      auth: { mode: 'token', token },
      // Explicit paths (upstream's keys): where its generated pair lands does not depend on its CONFIG_DIR.
      tls: {
        enabled: true,
        certPath: path.join(stateDir, 'gateway', 'tls', 'gateway-cert.pem'),
        keyPath: path.join(stateDir, 'gateway', 'tls', 'gateway-key.pem'),
      },
      nodes: { pairing: { sshVerify: false } },
    },
    ...QUIET_CONFIG,
    models: { catalogRefresh: { enabled: false } },
    agents: { defaults: { heartbeat: { every: '0m' } } },
    tools: { exec: { notifyOnExit: false } },
  };
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  const real = ctx.startPeer(
    ['gateway', 'run', '--port', String(port), '--bind', 'loopback', '--auth', 'token', '--token', token],
    ctx.peerEnv(ctx.work, stateDir),
  );
  let ours: ChildProcess | undefined;
  let op: GatewayClient | undefined;
  try {
    let fingerprint = '';
    await ctx.attempt('real Gateway with gateway.tls.enabled starts and generates its certificate', async () => {
      await ctx.waitFor(
        'real TLS gateway ready',
        () => /http server listening|\[gateway\][^\n]*ready/.test(real.output()),
        300_000,
        real,
      );
      const certPath = path.join(stateDir, 'gateway', 'tls', 'gateway-cert.pem');
      await ctx.waitFor('its certificate file', () => fs.existsSync(certPath), 30_000, real);
      fingerprint = certificateFingerprint(fs.readFileSync(certPath));
      return `${certPath}: SHA-256 ${fingerprint}`;
    });
    if (!fingerprint) return;
    const url = `wss://127.0.0.1:${port}`;
    const nodeState = path.join(ctx.work, 'tls-our-node');
    fs.mkdirSync(nodeState, { mode: 0o700 });
    fs.writeFileSync(
      path.join(nodeState, 'exec-approvals.json'),
      JSON.stringify({
        version: 1,
        defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
        agents: { main: { allowlist: [{ pattern: '/usr/bin/echo' }, { pattern: '/bin/echo' }] } },
      }),
      { mode: 0o600 },
    );
    ours = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ctx.repo, 'lib', 'cli', 'main.ts'),
        'node',
        'run',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--tls',
        '--tls-fingerprint',
        fingerprint,
        '--display-name',
        'openclaw-ipc-tls-node',
        '--json',
      ],
      {
        cwd: ctx.repo,
        env: {
          ...process.env,
          OPENCLAW_STATE_DIR: nodeState,
          OPENCLAW_GATEWAY_TOKEN: token,
          OPENCLAW_NODE_EXEC_HOST: 'local',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    ours.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    ours.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    let nodeId = '';
    await ctx.attempt('our node host (--tls --tls-fingerprint) joins the real wss:// Gateway', async () => {
      await ctx.waitFor('our node ready', () => /"ready":true/.test(out), 60_000);
      nodeId = (JSON.parse(out.split('\n').find((l) => l.includes('"ready":true'))!) as { nodeId: string }).nodeId;
      return `nodeId ${nodeId.slice(0, 16)}…`;
    });
    if (!nodeId) return;
    op = operator(url, token, fingerprint);
    await op.start();
    const o = op;
    await ctx.attempt('our node over TLS: command surface approved on the real Gateway, system.run echo', async () => {
      await approveSurface(o, nodeId);
      await ctx.waitFor('command surface approved', () => out.includes('command surface approved'), 30_000);
      return echo(o, nodeId, 'tls-our-node');
    });
  } finally {
    if (ours && ours.exitCode === null) ours.kill('SIGTERM');
    await op?.close().catch(() => {});
    if (real.child.pid !== undefined && real.child.exitCode === null)
      try {
        process.kill(-real.child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
  }
}

export async function remoteTlsInterop(ctx: RemoteInteropContext): Promise<void> {
  await realNodeAgainstOurTlsGateway(ctx);
  await ourNodeAgainstRealTlsGateway(ctx);
}
