// npm run bench:e2e — system.run /bin/true from an operator through Gateway → node host → exec host →
// runner and back (a real `openclaw-ipc up` child process), against posix_spawn alone (nativeSpawn)
// measured in the same run: p50, p99, ratio; 8 concurrent operators against 8 concurrent posix_spawn
// loops; a per-hop table from timestamps taken inside `up` (OPENCLAW_IPC_TRACE, one process, one
// clock); the top frames of a --cpu-prof profile of `up` by self time; cold start to ready and RSS.
// Each goal is printed with PASS/MISS. Uses dist/ when built (what `npm start` runs), else tsx.
//   BENCH_ITERATIONS (default 300), BENCH_COLD_RUNS (default 10), BENCH_CONCURRENT_SECONDS (default 3),
//   BENCH_POLICY allowlist (default: /bin/true allowlisted, so the app records lastUsedAt per run) | full
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { GatewayClient } from '../lib/client/gateway-client.js';
import { OPERATOR_SCOPES } from '../lib/client/operator.js';
import { isNativeSpawnAvailable, nativeSpawn } from '../lib/native/spawn.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const iterations = Number(process.env.BENCH_ITERATIONS ?? 300);
const coldRuns = Number(process.env.BENCH_COLD_RUNS ?? 10);
const concurrentSeconds = Number(process.env.BENCH_CONCURRENT_SECONDS ?? 3);
const CONCURRENCY = 8;
const distMain = path.join(repo, 'dist', 'cli', 'main.js');
const useDist = fs.existsSync(distMain);
const cliArgs = useDist ? [distMain] : ['--import', 'tsx', path.join(repo, 'lib', 'cli', 'main.ts')];
const policyMode = process.env.BENCH_POLICY === 'full' ? 'full' : 'allowlist';
const TRUE = fs.existsSync('/usr/bin/true') ? '/usr/bin/true' : '/bin/true';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

function ms(n: number): string {
  return `${n.toFixed(2)} ms`;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** RSS of a process and all its descendants (the `up` layout with a child node host counts both). */
function rssTreeMb(pid: number): number {
  let total = rssMb(pid);
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let kids = '';
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const kid of kids.trim().split(/\s+/).filter(Boolean)) total += rssTreeMb(Number(kid));
  }
  return total;
}

async function spawnTrue(): Promise<number> {
  const t0 = performance.now();
  const r = await nativeSpawn({ file: TRUE, argv: [TRUE], env: { PATH: '/usr/bin:/bin' } });
  const elapsed = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error('nativeSpawn /bin/true failed');
  return elapsed;
}

interface Started {
  child: ChildProcess;
  readyMs: number;
  /** CPU time of the child at its ready line. */
  cpuMs: number;
  line: string;
}

/** Spawns the CLI (with Node flags `nodeFlags`) and resolves when a stdout line matches `ready`. */
function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, nodeFlags: string[] = []): Promise<Started> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeFlags, ...cliArgs, ...args], {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => ready.test(l));
      if (line) resolve({ child, readyMs: performance.now() - t0, cpuMs: cpuMsOf(child.pid!), line });
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${err}`)));
  });
}

/**
 * CPU time a process has used so far, all its threads (V8's compiler and GC threads included), from the
 * scheduler's nanosecond counters: on a loaded box far steadier than wall time.
 */
function cpuMsOf(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function stateDir(root: string, name: string, policy: boolean): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  if (policy) {
    const file =
      policyMode === 'full'
        ? { version: 1, defaults: { security: 'full', ask: 'off', askFallback: 'deny' } }
        : {
            version: 1,
            defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
            agents: { main: { allowlist: [{ pattern: TRUE }] } },
          };
    fs.writeFileSync(path.join(dir, 'exec-approvals.json'), JSON.stringify(file), { mode: 0o600 });
  }
  return dir;
}

const baseEnv: NodeJS.ProcessEnv = { ...process.env, OPENCLAW_NODE_EXEC_HOST: '', XDG_RUNTIME_DIR: '' };
delete baseEnv.OPENCLAW_GATEWAY_TOKEN;
delete baseEnv.OPENCLAW_IPC_TRACE;

interface UpStack {
  child: ChildProcess;
  url: string;
  nodeId: string;
  token: string;
  operator: GatewayClient;
  runTrue(client?: GatewayClient): Promise<number>;
}

/** Starts `up` and joins it as an operator. */
async function startUp(
  root: string,
  name: string,
  layout: 'in' | 'child',
  extraEnv: NodeJS.ProcessEnv = {},
  nodeFlags: string[] = [],
): Promise<UpStack> {
  const upState = stateDir(root, name, true);
  const up = await startCli(
    ['up', '--port', '0', '--json', '--node-process', layout],
    { ...baseEnv, OPENCLAW_STATE_DIR: upState, ...extraEnv },
    /^\{.*"ready":true/,
    nodeFlags,
  );
  const info = JSON.parse(up.line) as { url: string; nodeId: string };
  const config = JSON.parse(fs.readFileSync(path.join(upState, 'openclaw.json'), 'utf8')) as {
    gateway: { auth: { token: string } };
  };
  const token = config.gateway.auth.token;
  const connectOperator = async (): Promise<GatewayClient> => {
    const op = new GatewayClient({
      url: info.url,
      role: 'operator',
      token,
      scopes: [...OPERATOR_SCOPES],
      client: { id: 'gateway-client', mode: 'backend', version: 'bench', platform: process.platform },
    });
    await op.start();
    return op;
  };
  const operator = await connectOperator();
  const runTrue = async (client: GatewayClient = operator): Promise<number> => {
    const t0 = performance.now();
    const reply = await client.request<{ payload?: { exitCode?: number } }>('node.invoke', {
      nodeId: info.nodeId,
      command: 'system.run',
      params: { command: [TRUE] },
      idempotencyKey: crypto.randomUUID(),
      timeoutMs: 15_000,
    });
    const elapsed = performance.now() - t0;
    if (reply.payload?.exitCode !== 0) throw new Error(`system.run ${TRUE} failed: ${JSON.stringify(reply)}`);
    return elapsed;
  };
  return { child: up.child, url: info.url, nodeId: info.nodeId, token, operator, runTrue };
}

/** Interleaved blocks of e2e runs and posix_spawn runs, so both see the same machine load. */
async function latency(stack: UpStack): Promise<{ e2e: number[]; floor: number[] }> {
  for (let i = 0; i < 30; i++) await stack.runTrue(); // warm-up: JIT, sockets, page cache
  for (let i = 0; i < 30; i++) await spawnTrue();
  const e2e: number[] = [];
  const floor: number[] = [];
  for (let done = 0; done < iterations; done += 25) {
    for (let i = 0; i < 25; i++) e2e.push(await stack.runTrue());
    for (let i = 0; i < 25; i++) floor.push(await spawnTrue());
  }
  return { e2e, floor };
}

/** Runs `once` from `workers` loops for `seconds`: completions per second. */
async function rate(workers: number, seconds: number, once: (worker: number) => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < until) {
        await once(worker);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/** 8 operators (one connection each) against 8 concurrent posix_spawn loops, alternated twice. */
async function throughput(stack: UpStack): Promise<{ e2e: number; floor: number }> {
  const clients: GatewayClient[] = [];
  for (let i = 0; i < CONCURRENCY; i++) {
    const op = new GatewayClient({
      url: stack.url,
      role: 'operator',
      token: stack.token,
      scopes: [...OPERATOR_SCOPES],
      client: { id: 'gateway-client', mode: 'backend', version: 'bench', platform: process.platform },
    });
    await op.start();
    clients.push(op);
  }
  try {
    await rate(CONCURRENCY, 0.5, (w) => stack.runTrue(clients[w])); // warm-up
    const e2e: number[] = [];
    const floor: number[] = [];
    for (let round = 0; round < 2; round++) {
      e2e.push(await rate(CONCURRENCY, concurrentSeconds / 2, (w) => stack.runTrue(clients[w])));
      floor.push(await rate(CONCURRENCY, concurrentSeconds / 2, () => spawnTrue()));
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    return { e2e: mean(e2e), floor: mean(floor) };
  } finally {
    for (const op of clients) await op.close();
  }
}

/** The hops of one system.run: [label, from mark, to mark] (marks from lib/common/trace.ts, one clock in `up`). */
const HOPS: Array<[string, string, string]> = [
  ['Gateway: node.invoke handled → request sent to node', 'gw.invoke', 'gw.sent'],
  ['Gateway → node host (in-process link frame)', 'gw.sent', 'node.invoke'],
  ['node host: params, policy pre-check, route', 'node.invoke', 'node.exec'],
  ['node host → exec host (in-process call)', 'node.exec', 'exec.policy'],
  ['exec host: policy evaluation', 'exec.policy', 'exec.policy.done'],
  ['exec host: run slot, pinned open', 'exec.policy.done', 'exec.spawn'],
  ['spawn and wait (posix_spawn, exit, output)', 'exec.spawn', 'exec.spawn.done'],
  ['exec host: audit record, usage, answer', 'exec.spawn.done', 'exec.reply'],
  ['exec host → node host (promise resolution)', 'exec.reply', 'node.exec.done'],
  ['node host: result shape, exec.finished event', 'node.exec.done', 'node.result'],
  ['node host → Gateway (outbox, in-process link frame)', 'node.result', 'gw.result'],
  ['Gateway: result applied → response', 'gw.result', 'gw.respond'],
];

/** Splits the trace into runs (each begins at gw.invoke) and takes each hop's duration per run. */
function hopTable(traceFile: string, rtts: number[]): Array<{ label: string; samples: number[] }> {
  const { names, times } = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as { names: string[]; times: number[] };
  const runs: Array<Map<string, number>> = [];
  for (let i = 0; i < names.length; i++) {
    if (names[i] === 'gw.invoke') runs.push(new Map());
    const run = runs[runs.length - 1];
    if (run && !run.has(names[i]!)) run.set(names[i]!, times[i]!);
  }
  // The operator's own round trip minus the Gateway's time: client, both WebSocket frames, Gateway decode.
  const rows = [{ label: 'operator ↔ Gateway, both ways (client, frames, decode)', samples: [] as number[] }];
  for (const [label] of HOPS) rows.push({ label, samples: [] });
  const skip = runs.length - rtts.length;
  rtts.forEach((rtt, i) => {
    const run = runs[skip + i]!;
    const inGateway = run.get('gw.respond')! - run.get('gw.invoke')!;
    rows[0]!.samples.push(rtt - inGateway);
    HOPS.forEach(([, from, to], h) => {
      const a = run.get(from);
      const b = run.get(to);
      if (a !== undefined && b !== undefined) rows[h + 1]!.samples.push(b - a);
    });
  });
  return rows;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The top frames of a .cpuprofile by self time (samples × their time deltas), our code named by path. */
function topFrames(file: string, count: number): Array<{ frame: string; ms: number; share: number }> {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(`file://${repo}/`, '').replace(/^node:/, 'node:')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    const us = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, us]) => ({ frame, ms: us / 1000, share: us / total }));
}

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

function loadLine(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

/** One `up` with OPENCLAW_IPC_TRACE: the per-hop table of sequential runs (p50 of each hop). */
async function traceHops(root: string): Promise<void> {
  const traceFile = path.join(root, 'trace.json');
  const stack = await startUp(root, 'up-trace', 'in', { OPENCLAW_IPC_TRACE: traceFile });
  const rtts: number[] = [];
  for (let i = 0; i < 30; i++) await stack.runTrue();
  for (let i = 0; i < iterations; i++) rtts.push(await stack.runTrue());
  await stack.operator.close();
  await stop(stack.child);
  const rows = hopTable(traceFile, rtts);
  const total = summary(rtts).p50;
  process.stdout.write(
    `one system.run, hop by hop (p50 of each hop over ${iterations} sequential runs; timestamps inside up, one clock; load ${loadLine()})\n`,
  );
  let sum = 0;
  for (const row of rows) {
    const p50 = summary(row.samples).p50;
    sum += p50;
    process.stdout.write(`  ${row.label.padEnd(58)} ${(p50 * 1000).toFixed(0).padStart(6)} µs\n`);
  }
  process.stdout.write(
    `  ${'sum of hop p50s'.padEnd(58)} ${(sum * 1000).toFixed(0).padStart(6)} µs  (e2e p50 ${ms(total)})\n\n`,
  );
}

/** One `up` under --cpu-prof for the same load: the top frames by self time. */
async function profileUp(root: string): Promise<void> {
  const dir = path.join(root, 'cpuprof');
  fs.mkdirSync(dir);
  const stack = await startUp(root, 'up-prof', 'in', {}, ['--cpu-prof', '--cpu-prof-dir', dir]);
  for (let i = 0; i < 30 + iterations; i++) await stack.runTrue();
  await stack.operator.close();
  await stop(stack.child);
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    process.stdout.write('cpu profile: none written\n\n');
    return;
  }
  process.stdout.write(`cpu profile of up (--cpu-prof, ${30 + iterations} runs), top frames by self time:\n`);
  for (const f of topFrames(path.join(dir, file), 15)) {
    process.stdout.write(
      `  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.frame}\n`,
    );
  }
  process.stdout.write('\n');
}

interface ColdResult {
  ready: number[];
  /** CPU time of the process to its ready line. */
  cpu: number[];
  rss: number[];
}

/** The bin's V8 code cache (lib/cli/code-cache.ts), written by the first `up` after a build. */
const codeCacheFile = path.join(repo, 'dist', 'cli', 'main.cjs.v8cache');

/**
 * Cold start to ready, CPU time to ready and RSS at ready: `up` in both layouts and `node run` against
 * `gateway`. The first `up` runs without the code cache (removed first: what the first start after an
 * install or build pays, and it writes the cache); every later row runs with it, as every later start does.
 */
async function coldStarts(root: string, gateway: { url: string; token: string }): Promise<Record<string, ColdResult>> {
  const empty = (): ColdResult => ({ ready: [], cpu: [], rss: [] });
  const cold: Record<string, ColdResult> = {
    'up (node in-process)': empty(),
    'up (node as a child)': empty(),
    'node run': empty(),
    'floor: node -e (no code)': empty(),
    'up, no code cache': empty(),
  };
  // Floor and `up` alike run without NODE_EXTRA_CA_CERTS: with it set (as in some sandboxes) every Node parses
  // that CA bundle at start-up, before any of our code (~90 ms of CPU for 140 certificates), and `up` needs none.
  const coldEnv: NodeJS.ProcessEnv = { ...baseEnv };
  delete coldEnv.NODE_EXTRA_CA_CERTS;
  const record = async (name: string, s: Started): Promise<void> => {
    cold[name]!.ready.push(s.readyMs);
    cold[name]!.cpu.push(s.cpuMs);
    cold[name]!.rss.push(rssTreeMb(s.child.pid!));
    await stop(s.child);
  };
  const upArgs = (layout: 'in' | 'child'): string[] => ['up', '--port', '0', '--json', '--node-process', layout];
  const cacheStates: string[] = [];
  if (useDist) {
    fs.rmSync(codeCacheFile, { force: true });
    const first = await startCli(
      upArgs('in'),
      { ...coldEnv, OPENCLAW_STATE_DIR: stateDir(root, 'cold-first', false) },
      /^\{.*"ready":true/,
    );
    cacheStates.push(`first: ${(JSON.parse(first.line) as { codeCache?: string }).codeCache}`);
    await record('up, no code cache', first);
  }
  let phases = '';
  for (let i = 0; i < coldRuns; i++) {
    // The floor: Node's own start-up to a first stdout line, on the same machine at the same load.
    const t0 = performance.now();
    const bare = spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n"); setInterval(() => {}, 1000)'], {
      env: coldEnv,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise<void>((resolve) => bare.stdout!.once('data', () => resolve()));
    await record('floor: node -e (no code)', {
      child: bare,
      readyMs: performance.now() - t0,
      cpuMs: cpuMsOf(bare.pid!),
      line: '',
    });
    for (const [name, layout] of [
      ['up (node in-process)', 'in'],
      ['up (node as a child)', 'child'],
    ] as const) {
      const s = await startCli(
        upArgs(layout),
        { ...coldEnv, OPENCLAW_STATE_DIR: stateDir(root, `cold-${layout}-${i}`, false) },
        /^\{.*"ready":true/,
      );
      const info = JSON.parse(s.line) as { startupPhases?: unknown; codeCache?: string };
      if (layout === 'in') {
        phases = JSON.stringify(info.startupPhases);
        cacheStates.push(String(info.codeCache));
      }
      await record(name, s);
    }
    const n = await startCli(
      ['node', 'run', '--url', gateway.url, '--json'],
      {
        ...coldEnv,
        OPENCLAW_STATE_DIR: stateDir(root, `cold-node-${i}`, false),
        OPENCLAW_GATEWAY_TOKEN: gateway.token,
      },
      /"ready":true/,
    );
    await record('node run', n);
  }
  const med = (xs: number[]): number => summary(xs).p50;
  process.stdout.write(
    `cold start to ready (spawn → ready line; Node start-up, fresh state dir, key generation included), median of ${coldRuns}; CPU time of the ` +
      `process to ready (all threads); RSS of the process tree at ready (load ${loadLine()})\n`,
  );
  for (const [name, c] of Object.entries(cold)) {
    if (c.ready.length === 0) continue;
    process.stdout.write(
      `  ${name.padEnd(24)} ${ms(med(c.ready)).padStart(10)}  CPU ${ms(med(c.cpu)).padStart(10)}  (runs ` +
        `${c.ready.map((x) => x.toFixed(0)).join(', ')} ms)   RSS ${med(c.rss).toFixed(1)} MB\n`,
    );
  }
  process.stdout.write(
    `  up (in-process), last run: ms since process start at the end of each step ${phases} (NODE_EXTRA_CA_CERTS unset for all rows)\n`,
  );
  process.stdout.write(
    `  code cache of each up (in-process) run: ${cacheStates.join(', ')} (${useDist ? 'dist/cli/main.cjs.v8cache' : 'tsx: none'})\n`,
  );
  process.stdout.write(
    '  (reference: openclaw 2026.9.6 gateway 15–30 s / ~630 MB, node host 15–17 s / ~420 MB; performance-floors.md)\n\n',
  );
  return cold;
}

interface LayoutResult {
  layout: 'in' | 'child';
  e2e: ReturnType<typeof summary>;
  floor: ReturnType<typeof summary>;
  rss: number;
  perSecond?: { e2e: number; floor: number };
}

/** Latency (and for the in-process layout, throughput at 8) of `up` in one layout. */
async function measureLayout(root: string, layout: 'in' | 'child'): Promise<{ result: LayoutResult; stack: UpStack }> {
  const stack = await startUp(root, `up-${layout}`, layout);
  const { e2e, floor } = await latency(stack);
  const result: LayoutResult = { layout, e2e: summary(e2e), floor: summary(floor), rss: rssTreeMb(stack.child.pid!) };
  if (layout === 'in') result.perSecond = await throughput(stack);
  await stack.operator.close();
  return { result, stack };
}

function printGoals(inProcess: LayoutResult, cold: Record<string, ColdResult>): void {
  const p50Ratio = inProcess.e2e.p50 / inProcess.floor.p50;
  const p99Ratio = inProcess.e2e.p99 / inProcess.e2e.p50;
  const rate = inProcess.perSecond!;
  const coldMs = summary(cold['up (node in-process)']!.ready).p50;
  const coldCpu = summary(cold['up (node in-process)']!.cpu).p50;
  const coldRss = summary(cold['up (node in-process)']!.rss).p50;
  const nodeFloor = cold['floor: node -e (no code)']!;
  const lines = [
    `goals (policy ${policyMode}, load ${loadLine()}):`,
    `  ${verdict(p50Ratio <= 2.0)}  e2e p50 ${ms(inProcess.e2e.p50)} = ${p50Ratio.toFixed(2)}× posix_spawn p50 ${ms(inProcess.floor.p50)} (goal ≤ 2.0×)`,
    `  ${verdict(p99Ratio <= 3.0)}  e2e p99 ${ms(inProcess.e2e.p99)} = ${p99Ratio.toFixed(2)}× our p50 (goal ≤ 3×)`,
    `  ${verdict(rate.e2e >= 1500)}  ${CONCURRENCY} concurrent operators: ${rate.e2e.toFixed(0)} system.run/s (goal ≥ 1500; floor: posix_spawn ` +
      `alone at ${CONCURRENCY} concurrent, ${rate.floor.toFixed(0)}/s, ratio ${(rate.e2e / rate.floor).toFixed(2)})`,
    `  ${verdict(coldMs <= 200)}  up cold start to ready ${ms(coldMs)} (goal ≤ 200 ms; floor: bare node start ${ms(summary(nodeFloor.ready).p50)}, ` +
      `ratio ${(coldMs / summary(nodeFloor.ready).p50).toFixed(2)}); CPU to ready ${ms(coldCpu)} (bare node ${ms(summary(nodeFloor.cpu).p50)})`,
    `  ${verdict(inProcess.rss <= 80)}  up RSS after the runs ${inProcess.rss.toFixed(1)} MB, at ready ${coldRss.toFixed(1)} MB (goal ≤ 80 MB; ` +
      `bare node ${summary(nodeFloor.rss).p50.toFixed(1)} MB)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-e2e-'));
  const children: ChildProcess[] = [];
  try {
    process.stdout.write(
      `bench:e2e  node ${process.version}, ${os.cpus().length} CPUs, load ${loadLine()}, CLI from ${useDist ? 'dist/' : 'tsx (dist/ not built)'}\n`,
    );
    process.stdout.write(
      `native posix_spawn: ${isNativeSpawnAvailable() ? 'available' : 'UNAVAILABLE (exec host falls back to child_process)'}\n\n`,
    );
    const layouts: LayoutResult[] = [];
    let keep: UpStack | undefined;
    for (const layout of ['in', 'child'] as const) {
      const { result, stack } = await measureLayout(root, layout);
      children.push(stack.child);
      layouts.push(result);
      if (layout === 'in')
        keep = stack; // its Gateway hosts the `node run` cold starts below
      else await stop(stack.child);
    }
    process.stdout.write(`policy: ${policyMode}\n`);
    process.stdout.write(
      `system.run ${TRUE}: operator → Gateway → node host → exec host → runner, n=${iterations} per layout\n`,
    );
    for (const l of layouts) {
      process.stdout.write(
        `  up, node host ${l.layout === 'in' ? 'in-process (exec host called directly)' : 'as a child (exec socket)'}: e2e p50 ${ms(l.e2e.p50)}  ` +
          `p99 ${ms(l.e2e.p99)}  |  posix_spawn p50 ${ms(l.floor.p50)}  p99 ${ms(l.floor.p99)}  |  ratio p50 ` +
          `${(l.e2e.p50 / l.floor.p50).toFixed(2)}x  p99 ${(l.e2e.p99 / l.floor.p99).toFixed(2)}x  |  RSS ${l.rss.toFixed(1)} MB\n`,
      );
    }
    const rate = layouts[0]!.perSecond!;
    process.stdout.write(
      `  ${CONCURRENCY} concurrent operators (in-process layout): ${rate.e2e.toFixed(0)} system.run/s  |  posix_spawn alone, ${CONCURRENCY} ` +
        `concurrent: ${rate.floor.toFixed(0)}/s\n\n`,
    );
    await traceHops(root);
    await profileUp(root);
    const cold = await coldStarts(root, { url: keep!.url, token: keep!.token });
    if (keep) await stop(keep.child);
    printGoals(layouts[0]!, cold);
  } finally {
    for (const child of children) await stop(child);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
