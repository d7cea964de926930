// npm run bench:scale — one Gateway, many nodes. One process connects N simulated nodes (bench/lib/sim-node.ts:
// the real client, a device identity each, signed connect after the challenge, ticks) to one Gateway running as
// a child process (`openclaw-ipc gateway`), and one operator client measures:
//   - Gateway RSS per connected idle node: (RSS with N connected − RSS with 1) / (N − 1);
//   - connect rate: nodes reaching hello-ok per second (BENCH_SCALE_CONCURRENCY connects in flight);
//   - node.invoke p50/p99 (system.which, answered from memory) to one node with all N connected, against the
//     same with only that node connected (the floor): a twin Gateway with just that node, invoked alternately
//     with the loaded one (for openclaw: the same Gateway before the others connect);
//   - tick cost: Gateway CPU time (utime+stime of its process tree, /proc/<pid>/stat) over one tick interval.
// Then the same load against the real openclaw 2026.9.6 Gateway (BENCH_SCALE_OPENCLAW nodes) for comparison.
//
// Pairing: BENCH_SCALE_PAIRING=prepaired (default) writes devices/paired.json and nodes/paired.json as our
// pairing store writes them (a paired fleet reconnecting); `operator` lets each loopback node be device-paired
// on connect and has the operator approve every node.pair.requested with node.pair.approve (what a user does;
// always so for openclaw, whose store we do not write).
//   BENCH_SCALE_N=100,1000,5000  BENCH_SCALE_INVOKES=300  BENCH_SCALE_CONCURRENCY=16
//   BENCH_SCALE_TICK_WINDOW_MS (default: the Gateway's tickIntervalMs)  BENCH_SCALE_OPENCLAW=100 (0: skip)
//   OPENCLAW_INTEROP_CACHE (where openclaw is installed; see bench/lib/openclaw-peer.ts)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { GatewayClient } from '../lib/client/gateway-client.js';
import type { DeviceIdentity } from '../lib/protocol/device-auth.js';
import {
  cpuTreeMs,
  fmtMs,
  loadLine,
  processTree,
  rssKb,
  sleep,
  stopChild,
  summarize,
  type StartedCli,
  type Summary,
  startOurCli,
} from './lib/measure.js';
import { cleanupOpenclawTmp, ensureOpenclawInstalled, freePort, startOpenclawGateway } from './lib/openclaw-peer.js';
import {
  SIM_COMMAND,
  SimulatedNode,
  autoApproveNodes,
  connectOperator,
  makeIdentities,
  writePrepairedNodes,
} from './lib/sim-node.js';

const counts = (process.env.BENCH_SCALE_N ?? '100,1000,5000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const invokes = Number(process.env.BENCH_SCALE_INVOKES ?? 300);
const concurrency = Number(process.env.BENCH_SCALE_CONCURRENCY ?? 16);
const pairingMode = process.env.BENCH_SCALE_PAIRING === 'operator' ? 'operator' : 'prepaired';
const openclawN = Number(process.env.BENCH_SCALE_OPENCLAW ?? 100);
const tickWindowOverride = Number(process.env.BENCH_SCALE_TICK_WINDOW_MS ?? 0);
/** This process's soft open-files limit (each node is one socket here and one in the Gateway). */
function openFilesLimit(): string {
  const line = fs
    .readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return line?.split(/\s{2,}/)[1] ?? '?';
}

// BENCH_SCALE_CPU_PROF=<dir>: our Gateway writes a V8 CPU profile there when it stops (to find out why).
const profileArgs = process.env.BENCH_SCALE_CPU_PROF
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCALE_CPU_PROF}`]
  : [];

function log(line: string): void {
  process.stderr.write(`[scale] ${line}\n`);
}

interface Row {
  stack: string;
  n: number;
  pairing: string;
  /** How the "1 connected" floor was measured. */
  floorMethod: string;
  connectPerS: number;
  /** Connect attempts turned away before hello-ok (retried). */
  refusedConnects: number;
  /** Gateway CPU time spent while the N − 1 connected, per node (handshake, signature check, hello-ok). */
  cpuPerConnectMs: number;
  kbPerNode: number;
  rss1Mb: number;
  rssNMb: number;
  invoke1: Summary;
  invokeN: Summary;
  tickCpuMs: number;
  tickWindowMs: number;
  ticksSeen: number;
  load: string;
}

interface Target {
  stack: 'openclaw-ipc' | 'openclaw 2026.9.6';
  gateway: StartedCli;
  url: string;
  pairing: 'prepaired' | 'operator';
}

/** The sum of RSS over the Gateway's process tree (openclaw runs a worker child), in KiB. */
function gatewayRssKb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssKb(p), 0);
}

async function invokeOnce(op: GatewayClient, nodeId: string): Promise<number> {
  const t0 = performance.now();
  const reply = await op.request<{ ok?: boolean; payload?: unknown; payloadJSON?: string }>('node.invoke', {
    nodeId,
    command: SIM_COMMAND,
    params: { bins: ['sh'] },
    idempotencyKey: crypto.randomUUID(),
    timeoutMs: 30_000,
  });
  const elapsed = performance.now() - t0;
  if (reply.ok === false) throw new Error(`node.invoke failed: ${JSON.stringify(reply)}`);
  return elapsed;
}

async function invokeSeries(op: GatewayClient, nodeId: string, n: number): Promise<number[]> {
  for (let i = 0; i < Math.min(30, n); i++) await invokeOnce(op, nodeId); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await invokeOnce(op, nodeId));
  return samples;
}

/** Until the node's command surface is approved (operator pairing), node.invoke is refused: retry. */
async function untilInvokable(op: GatewayClient, nodeId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await invokeOnce(op, nodeId);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** Connects nodes with at most `limit` handshakes in flight; resolves with the wall time in ms. */
async function connectAll(nodes: SimulatedNode[], limit: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < nodes.length) {
      const node = nodes[next++]!;
      await node.connect();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker));
  return performance.now() - t0;
}

async function closeAll(nodes: SimulatedNode[]): Promise<void> {
  for (let i = 0; i < nodes.length; i += 500) await Promise.all(nodes.slice(i, i + 500).map((n) => n.client.close()));
}

async function waitNoPendingPairing(op: GatewayClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const list = await op.request<{ pending?: unknown[] }>('node.pair.list', {}).catch(() => ({ pending: [1] }));
    if ((list.pending ?? []).length === 0) return;
    await sleep(500);
  }
  log('pairing requests still pending at the deadline');
}

interface Twin {
  url: string;
  op: GatewayClient;
  node: SimulatedNode;
}

/**
 * The floor of the invoke ratio: a twin Gateway with only the measured node on it, invoked alternately
 * with the loaded one so that both see the same machine load (others share this machine).
 */
async function startTwin(
  url: string,
  token: string,
  identity: DeviceIdentity,
  pairing: Target['pairing'],
): Promise<Twin> {
  const op = await connectOperator(url, token);
  const stop = pairing === 'operator' ? autoApproveNodes(op, log) : () => {};
  const node = new SimulatedNode(url, token, identity, 'sim-twin');
  await node.connect();
  await untilInvokable(op, node.nodeId, 120_000);
  stop();
  return { url, op, node };
}

async function interleavedInvokes(
  loaded: { op: GatewayClient; nodeId: string },
  twin: Twin,
  n: number,
): Promise<{ loaded: number[]; floor: number[] }> {
  const out = { loaded: [] as number[], floor: [] as number[] };
  // Alternating one by one (the order flipping each round), so that neither side always follows the other.
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      out.loaded.push(await invokeOnce(loaded.op, loaded.nodeId));
      out.floor.push(await invokeOnce(twin.op, twin.node.nodeId));
    } else {
      out.floor.push(await invokeOnce(twin.op, twin.node.nodeId));
      out.loaded.push(await invokeOnce(loaded.op, loaded.nodeId));
    }
  }
  return out;
}

/**
 * One row. With a twin, "1 connected" is the twin Gateway, interleaved; without (openclaw: a second one would
 * double its start-up risk on a loaded box), it is the same Gateway before the other N − 1 connect.
 */
async function measure(
  target: Target,
  n: number,
  token: string,
  identities: DeviceIdentity[],
  twin?: Twin,
): Promise<Row> {
  const pid = target.gateway.child.pid!;
  const nodes = identities.map((identity, i) => new SimulatedNode(target.url, token, identity, `sim-${i}`));
  const op = await connectOperator(target.url, token);
  const stopApproving = target.pairing === 'operator' ? autoApproveNodes(op, log) : () => {};
  try {
    const [first, ...rest] = nodes;
    await first!.connect();
    await untilInvokable(op, first!.nodeId, 120_000);
    for (let i = 0; i < 100; i++) await invokeOnce(op, first!.nodeId); // warm-up: JIT, heap, sockets
    if (twin) for (let i = 0; i < 100; i++) await invokeOnce(twin.op, twin.node.nodeId);
    await sleep(1_000);
    const rss1 = gatewayRssKb(pid);
    const before = twin ? [] : await invokeSeries(op, first!.nodeId, invokes);
    log(`${target.stack} N=${n}: connecting ${rest.length}`);
    const connectCpu0 = cpuTreeMs(pid);
    const connectMs = await connectAll(rest, concurrency);
    const connectCpuMs = cpuTreeMs(pid) - connectCpu0;
    if (target.pairing === 'operator') await waitNoPendingPairing(op, 300_000);
    await sleep(2_000);
    const rssN = gatewayRssKb(pid);
    const invoked = twin
      ? await interleavedInvokes({ op, nodeId: first!.nodeId }, twin, invokes)
      : { loaded: await invokeSeries(op, first!.nodeId, invokes), floor: before };
    const load = loadLine();
    // One tick interval with every node idle: what keeping N connections alive costs the Gateway.
    const tickWindowMs = tickWindowOverride || Number(op.helloOk?.policy?.tickIntervalMs ?? 30_000);
    const ticks0 = nodes.reduce((sum, node) => sum + node.ticks, 0);
    const cpu0 = cpuTreeMs(pid);
    await sleep(tickWindowMs);
    const tickCpuMs = cpuTreeMs(pid) - cpu0;
    const ticksSeen = nodes.reduce((sum, node) => sum + node.ticks, 0) - ticks0;
    const connected = nodes.filter((node) => node.client.connected).length;
    if (connected !== n) throw new Error(`${n - connected} of ${n} nodes dropped during the run`);
    return {
      stack: target.stack,
      n,
      pairing: target.pairing,
      floorMethod: twin ? 'twin Gateway, alternating' : 'same Gateway, before',
      connectPerS: rest.length / (connectMs / 1000),
      refusedConnects: nodes.reduce((sum, node) => sum + node.refusedConnects, 0),
      cpuPerConnectMs: connectCpuMs / Math.max(1, rest.length),
      kbPerNode: (rssN - rss1) / Math.max(1, n - 1),
      rss1Mb: rss1 / 1024,
      rssNMb: rssN / 1024,
      invoke1: summarize(invoked.floor),
      invokeN: summarize(invoked.loaded),
      tickCpuMs,
      tickWindowMs,
      ticksSeen,
      load,
    };
  } finally {
    stopApproving();
    await closeAll(nodes);
    await op.close();
  }
}

/** Our Gateway as a child process over a fresh state dir (pre-paired with `identities` unless pairing=operator). */
async function ourGateway(dir: string, identities: DeviceIdentity[], token: string): Promise<Target> {
  fs.mkdirSync(dir, { mode: 0o700 });
  if (pairingMode === 'prepaired')
    writePrepairedNodes(
      dir,
      identities,
      identities.map((_, i) => `sim-${i}`),
    );
  const env: NodeJS.ProcessEnv = { ...process.env, OPENCLAW_GATEWAY_TOKEN: token };
  const { started: gateway, ready } = await startOurCli<{ url: string }>(
    ['gateway', '--port', '0', '--json', '--state-dir', dir, '--auth', 'token'],
    env,
    profileArgs,
  );
  const url = ready.url;
  return { stack: 'openclaw-ipc', gateway, url, pairing: pairingMode };
}

/** openclaw's Gateway start-up can time out its own state lease on a loaded machine: a few attempts. */
async function openclawGateway(work: string, token: string): Promise<Target> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const gateway = await startOpenclawGateway(path.join(work, `attempt-${attempt}`), port, token);
      log(`openclaw Gateway ready in ${(gateway.readyMs / 1000).toFixed(1)} s (attempt ${attempt})`);
      return { stack: 'openclaw 2026.9.6', gateway, url: `ws://127.0.0.1:${port}`, pairing: 'operator' };
    } catch (err) {
      cleanupOpenclawTmp();
      if (attempt >= 3) throw err;
      log(`openclaw Gateway did not start (attempt ${attempt}): ${(err as Error).message.split('\n').at(-3) ?? ''}`);
    }
  }
}

function printRows(rows: Row[]): void {
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  out('');
  out(
    '| Gateway | N | pairing | RSS/idle node | connect rate | invoke p50 / p99, N connected | 1 connected (how) | p50 ratio | CPU per tick interval | load |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    out(
      `| ${r.stack} | ${r.n} | ${r.pairing} | ${r.kbPerNode.toFixed(1)} KB (${r.rss1Mb.toFixed(0)} → ${r.rssNMb.toFixed(0)} MB) | ` +
        `${r.connectPerS.toFixed(0)}/s (Gateway CPU ${r.cpuPerConnectMs.toFixed(2)} ms each; ${r.refusedConnects} turned away, retried) | ` +
        `${fmtMs(r.invokeN.p50)} / ${fmtMs(r.invokeN.p99)} | ${fmtMs(r.invoke1.p50)} / ${fmtMs(r.invoke1.p99)} (${r.floorMethod}) | ` +
        `${(r.invokeN.p50 / r.invoke1.p50).toFixed(2)}× | ${r.tickCpuMs.toFixed(0)} ms / ${(r.tickWindowMs / 1000).toFixed(0)} s (${r.ticksSeen} ` +
        `ticks seen) | ${r.load} |`,
    );
  }
  const ours = rows.filter((r) => r.stack === 'openclaw-ipc');
  const at1000 = ours.find((r) => r.n === 1000);
  const worstKb = Math.max(...ours.map((r) => r.kbPerNode));
  out('');
  if (ours.length > 0)
    out(`goal ≤ 50 KB per idle node: ${worstKb <= 50 ? 'PASS' : 'MISS'} (worst ${worstKb.toFixed(1)} KB)`);
  if (at1000) {
    const ratio = at1000.invokeN.p50 / at1000.invoke1.p50;
    out(`goal invoke p50 with 1000 connected ≤ 1.2× with 1: ${ratio <= 1.2 ? 'PASS' : 'MISS'} (${ratio.toFixed(2)}×)`);
  }
  const theirs = rows.find((r) => r.stack !== 'openclaw-ipc');
  const same = theirs && ours.find((r) => r.n === theirs.n);
  if (theirs && same) {
    out(
      `at N=${theirs.n}, openclaw-ipc vs openclaw 2026.9.6: RSS/node ${(theirs.kbPerNode / same.kbPerNode).toFixed(1)}× less, connect rate ` +
        `${(same.connectPerS / theirs.connectPerS).toFixed(1)}× higher, invoke p50 ${(theirs.invokeN.p50 / same.invokeN.p50).toFixed(1)}× lower, ` +
        `CPU per tick interval ${(theirs.tickCpuMs / Math.max(1, same.tickCpuMs)).toFixed(1)}× less`,
    );
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-scale-'));
  const token = crypto.randomBytes(24).toString('base64url');
  const rows: Row[] = [];
  process.stdout.write(
    `bench:scale  node ${process.version}, ${os.cpus().length} CPUs, load ${loadLine()}, open-files limit ${openFilesLimit()}, N ` +
      `${counts.join(',')}, ${invokes} invokes, ${concurrency} connects in flight, pairing ${pairingMode}\n`,
  );
  const gateways: StartedCli[] = [];
  try {
    for (const n of counts) {
      const identities = makeIdentities(n);
      const target = await ourGateway(path.join(root, `ours-${n}`), identities, token);
      gateways.push(target.gateway);
      const twinGateway = await ourGateway(path.join(root, `twin-${n}`), identities.slice(0, 1), token);
      gateways.push(twinGateway.gateway);
      const twin = await startTwin(twinGateway.url, token, identities[0]!, pairingMode);
      try {
        rows.push(await measure(target, n, token, identities, twin));
      } finally {
        await twin.node.client.close();
        await twin.op.close();
        await stopChild(twinGateway.gateway.child);
        await stopChild(target.gateway.child);
      }
      log(`done N=${n}`);
    }
    if (openclawN > 0) {
      log(ensureOpenclawInstalled(log));
      const work = path.join(root, 'openclaw');
      fs.mkdirSync(work);
      const target = await openclawGateway(work, token);
      gateways.push(target.gateway);
      try {
        rows.push(await measure(target, openclawN, token, makeIdentities(openclawN)));
      } finally {
        await stopChild(target.gateway.child, true);
        cleanupOpenclawTmp();
      }
    }
  } finally {
    for (const gateway of gateways) await stopChild(gateway.child, gateway.child.spawnargs[0] !== process.execPath);
    printRows(rows);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
