// npm run bench:vs-openclaw — `system.run ["/usr/bin/true"]` with policy full through both stacks, side by side
// in one run (not part of npm test; heavy: ~1.5 GB RAM while openclaw runs):
//   ours:   `openclaw-ipc up` (Gateway → node host → exec socket → app → runner), a child process;
//   theirs: the real openclaw 2026.9.6 Gateway and its node host (installed into the cache as scripts/interop.ts
//           does: bench/lib/openclaw-peer.ts), the node's command surface approved by the operator;
//   floor:  C posix_spawn(/usr/bin/true) + waitpid (bench/lib/spawn-floor.ts).
// One independent protocol-4 operator client per stack (backend client id, token, loopback) sends
// `node.invoke system.run`; rounds are interleaved in blocks of 25 (ours, theirs, floor) so all three see the
// same machine load. Prints p50, p99, cold start to ready, RSS of each process tree, and the ratio theirs/ours
// at p50 against the goal ≥ 10× (PASS/MISS).
//   BENCH_VS_ITERATIONS (default 300)  OPENCLAW_INTEROP_CACHE (the install cache)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { GatewayClient } from '../lib/client/gateway-client.js';
import {
  fmtMs,
  loadLine,
  rssTreeMb,
  sleep,
  stopChild,
  summarize,
  type StartedCli,
  type Summary,
  generatedToken,
  startOurCli,
} from './lib/measure.js';
import {
  cleanupOpenclawTmp,
  ensureOpenclawInstalled,
  freePort,
  startOpenclawGateway,
  startOpenclawNode,
} from './lib/openclaw-peer.js';
import { benchOperator, connectOperator } from './lib/sim-node.js';
import { compileSpawnFloor } from './lib/spawn-floor.js';

const iterations = Number(process.env.BENCH_VS_ITERATIONS ?? 300);
const BLOCK = 25;
const TRUE = fs.existsSync('/usr/bin/true') ? '/usr/bin/true' : '/bin/true';
const FULL_POLICY = { version: 1, defaults: { security: 'full', ask: 'off', askFallback: 'deny' } };
function log(line: string): void {
  process.stderr.write(`[vs-openclaw] ${line}\n`);
}

interface Stack {
  name: string;
  op: GatewayClient;
  nodeId: string;
  readyMs: string;
  /** Process-tree roots whose RSS is summed. */
  pids: number[];
  samples: number[];
}

async function runTrue(stack: Stack): Promise<number> {
  const t0 = performance.now();
  const reply = await stack.op.request<{ payload?: { exitCode?: number } }>('node.invoke', {
    nodeId: stack.nodeId,
    command: 'system.run',
    params: { command: [TRUE] },
    idempotencyKey: crypto.randomUUID(),
    timeoutMs: 30_000,
  });
  const elapsed = performance.now() - t0;
  if (reply.payload?.exitCode !== 0) throw new Error(`${stack.name}: system.run ${TRUE}: ${JSON.stringify(reply)}`);
  return elapsed;
}

/** `openclaw-ipc up` with policy full in a fresh state dir; its operator connects with the generated token. */
async function startOurs(root: string, children: StartedCli[]): Promise<Stack> {
  const stateDir = path.join(root, 'ours');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.writeFileSync(path.join(stateDir, 'exec-approvals.json'), JSON.stringify(FULL_POLICY), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_NODE_EXEC_HOST: '',
    XDG_RUNTIME_DIR: '',
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  const { started: up, ready: info } = await startOurCli<{ url: string; nodeId: string }>(
    ['up', '--port', '0', '--json'],
    env,
  );
  children.push(up);
  const token = generatedToken(stateDir);
  const op = benchOperator(info.url, token);
  await op.start();
  return {
    name: 'openclaw-ipc up',
    op,
    nodeId: info.nodeId,
    readyMs: `${(up.readyMs / 1000).toFixed(2)} s`,
    pids: [up.child.pid!],
    samples: [],
  };
}

/** The real Gateway, then its node host; the operator approves the node's command surface and sets policy full. */
async function startTheirs(root: string, children: StartedCli[]): Promise<Stack> {
  log(ensureOpenclawInstalled(log));
  const work = path.join(root, 'openclaw');
  fs.mkdirSync(work);
  const token = crypto.randomBytes(24).toString('base64url');
  const port = await freePort();
  const gateway = await startOpenclawGateway(work, port, token);
  children.push(gateway);
  log(`openclaw Gateway ready in ${(gateway.readyMs / 1000).toFixed(1)} s; starting its node host`);
  const node = await startOpenclawNode(work, port, token, 'bench-node');
  children.push(node);
  const op = await connectOperator(`ws://127.0.0.1:${port}`, token);
  const nodeId = await approveFirstNode(op);
  const current = await op.request<{ hash: string }>('exec.approvals.node.get', { nodeId });
  await op.request('exec.approvals.node.set', { nodeId, baseHash: current.hash, file: FULL_POLICY });
  const applied = await op.request<{ file?: { defaults?: { security?: string } } }>('exec.approvals.node.get', {
    nodeId,
  });
  if (applied.file?.defaults?.security !== 'full')
    throw new Error(`openclaw: policy not full: ${JSON.stringify(applied)}`);
  await sleep(1_500); // the node retries node.runnerInventory.update with backoff after the approval
  return {
    name: 'openclaw 2026.9.6',
    op,
    nodeId,
    readyMs: `${(gateway.readyMs / 1000).toFixed(1)} s + ${(node.readyMs / 1000).toFixed(1)} s`,
    pids: [gateway.child.pid!, node.child.pid!],
    samples: [],
  };
}

async function approveFirstNode(op: GatewayClient): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const list = await op.request<{ pending?: Array<{ requestId: string; nodeId: string }> }>('node.pair.list', {});
    const request = list.pending?.[0];
    if (request) {
      await op.request('node.pair.approve', { requestId: request.requestId });
      return request.nodeId;
    }
    await sleep(250);
  }
  throw new Error('openclaw: no node pairing request within 60 s');
}

function row(name: string, s: Summary, floorP50: number, extra: string): string {
  return `| ${name} | ${fmtMs(s.p50)} (${(s.p50 / floorP50).toFixed(1)}× the floor) | ${fmtMs(s.p99)} | ${extra} |`;
}

async function main(): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-vs-'));
  const children: StartedCli[] = [];
  const stacks: Stack[] = [];
  try {
    process.stdout.write(
      `bench:vs-openclaw  node ${process.version}, ${os.cpus().length} CPUs, load ${loadLine()}, n=${iterations} each, ${TRUE}, policy full\n`,
    );
    const floor = compileSpawnFloor(root, TRUE);
    if (!floor) throw new Error('no C compiler (cc): the posix_spawn floor cannot be measured');
    stacks.push(await startOurs(root, children));
    stacks.push(await startTheirs(root, children));
    for (const stack of stacks) for (let i = 0; i < 20; i++) await runTrue(stack); // warm-up
    floor.sample(20);
    const floorSamples: number[] = [];
    for (let done = 0; done < iterations; done += BLOCK) {
      const n = Math.min(BLOCK, iterations - done);
      for (const stack of stacks) for (let i = 0; i < n; i++) stack.samples.push(await runTrue(stack));
      floorSamples.push(...floor.sample(n));
    }
    const load = loadLine();
    const floorS = summarize(floorSamples);
    const [ours, theirs] = stacks.map((s) => ({ stack: s, sum: summarize(s.samples) }));
    const rss = (s: Stack): string => `${s.pids.reduce((sum, pid) => sum + rssTreeMb(pid), 0).toFixed(0)} MB`;
    const out = (s: string): boolean => process.stdout.write(`${s}\n`);
    out('');
    out('| | p50 | p99 | cold start to ready; RSS (process tree) |');
    out('| --- | --- | --- | --- |');
    out(`| C posix_spawn(${TRUE}) + waitpid | ${fmtMs(floorS.p50)} | ${fmtMs(floorS.p99)} | |`);
    for (const r of [ours!, theirs!]) out(row(r.stack.name, r.sum, floorS.p50, `${r.stack.readyMs}; ${rss(r.stack)}`));
    const ratio = theirs!.sum.p50 / ours!.sum.p50;
    out('');
    out(`load ${load}`);
    out(
      `ours vs openclaw at p50: ${ratio.toFixed(1)}× faster (goal ≥ 10×: ${ratio >= 10 ? 'PASS' : 'MISS'}); at p99 ` +
        `${(theirs!.sum.p99 / ours!.sum.p99).toFixed(1)}×`,
    );
    return 0;
  } finally {
    for (const stack of stacks) await stack.op.close().catch(() => undefined);
    for (const child of children.reverse()) await stopChild(child.child, child.child.spawnargs[0] !== process.execPath);
    cleanupOpenclawTmp();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
