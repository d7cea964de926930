// npm run bench:cpu — CPU time of `openclaw-ipc up` per system.run /usr/bin/true, the load-independent
// before/after number for the hot path (wall-clock latency on a shared machine is noise). Starts `up`
// (dist/ when built), warms up, then reads utime+stime of `up` (and, in the child layout, of its node
// host child) from /proc before and after N runs: sequential from one operator, then from 8 concurrent
// operators. The spawned /usr/bin/true processes are not counted (their time goes to cutime).
//   BENCH_RUNS (default 1500), BENCH_LAYOUT in | child | both (default both), BENCH_POLICY allowlist | full,
//   BENCH_CLI=<path of a dist/cli/main.js>, BENCH_FROM_SOURCE=1 (run lib/ through tsx), BENCH_CPU_PROF=<dir> (a --cpu-prof of `up`)
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { GatewayClient } from '../lib/client/gateway-client.js';
import { OPERATOR_SCOPES } from '../lib/client/operator.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 1500);
const layouts = (process.env.BENCH_LAYOUT ?? 'both') === 'both' ? ['in', 'child'] : [process.env.BENCH_LAYOUT!];
const policyMode = process.env.BENCH_POLICY === 'full' ? 'full' : 'allowlist';
/** BENCH_CLI=<other checkout>/dist/cli/main.js: measure that build instead (A/B against a baseline, interleaved). */
const distMain = process.env.BENCH_CLI ?? path.join(repo, 'dist', 'cli', 'main.js');
const fromSource = process.env.BENCH_FROM_SOURCE === '1' || !fs.existsSync(distMain);
const cliArgs = fromSource ? ['--import', 'tsx', path.join(repo, 'lib', 'cli', 'main.ts')] : [distMain];
/** BENCH_CPU_PROF=<dir>: `up` writes a --cpu-prof profile there (with BENCH_FROM_SOURCE=1 the frames name lib/). */
const profDir = process.env.BENCH_CPU_PROF;
const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
const TRUE = fs.existsSync('/usr/bin/true') ? '/usr/bin/true' : '/bin/true';
const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

/** utime + stime of one process in µs (all its threads, not its reaped children). */
function cpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** `pid` and its direct children that are node processes (the child layout's node host). */
function stackPids(pid: number): number[] {
  const pids = [pid];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const kids = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const kid of kids) {
      try {
        if (fs.readFileSync(`/proc/${kid}/comm`, 'utf8').trim() === 'node') pids.push(Number(kid));
      } catch {
        // a /usr/bin/true that has just exited
      }
    }
  }
  return pids;
}

function startUp(stateDir: string, layout: string): Promise<{ child: ChildProcess; url: string; nodeId: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_NODE_EXEC_HOST: '' };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  delete env.OPENCLAW_IPC_TRACE;
  const child = spawn(
    process.execPath,
    [...nodeFlags, ...cliArgs, 'up', '--port', '0', '--json', '--node-process', layout],
    {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => /^\{.*"ready":true/.test(l));
      if (line) resolve({ child, ...(JSON.parse(line) as { url: string; nodeId: string }) });
    });
    child.once('exit', (code) => reject(new Error(`up exited with ${code}`)));
  });
}

async function measureLayout(root: string, layout: string): Promise<void> {
  const stateDir = path.join(root, layout);
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const policy =
    policyMode === 'full'
      ? { version: 1, defaults: { security: 'full', ask: 'off', askFallback: 'deny' } }
      : {
          version: 1,
          defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
          agents: { main: { allowlist: [{ pattern: TRUE }] } },
        };
  fs.writeFileSync(path.join(stateDir, 'exec-approvals.json'), JSON.stringify(policy), { mode: 0o600 });
  const up = await startUp(stateDir, layout);
  const config = JSON.parse(fs.readFileSync(path.join(stateDir, 'openclaw.json'), 'utf8')) as {
    gateway: { auth: { token: string } };
  };
  const operators: GatewayClient[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      const op = new GatewayClient({
        url: up.url,
        role: 'operator',
        token: config.gateway.auth.token,
        scopes: [...OPERATOR_SCOPES],
        client: { id: 'gateway-client', mode: 'backend', version: 'bench', platform: process.platform },
      });
      await op.start();
      operators.push(op);
    }
    const runTrue = async (op: GatewayClient): Promise<void> => {
      const reply = await op.request<{ payload?: { exitCode?: number } }>('node.invoke', {
        nodeId: up.nodeId,
        command: 'system.run',
        params: { command: [TRUE] },
        idempotencyKey: crypto.randomUUID(),
        timeoutMs: 15_000,
      });
      if (reply.payload?.exitCode !== 0) throw new Error(`system.run failed: ${JSON.stringify(reply)}`);
    };
    for (let i = 0; i < 200; i++) await runTrue(operators[0]!); // warm-up: JIT, caches
    const pids = stackPids(up.child.pid!);
    const cpu = (): number => pids.reduce((sum, pid) => sum + cpuUs(pid), 0);

    let before = cpu();
    let t0 = performance.now();
    for (let i = 0; i < runs; i++) await runTrue(operators[0]!);
    const sequential = { us: (cpu() - before) / runs, wall: (performance.now() - t0) / runs };

    before = cpu();
    t0 = performance.now();
    let next = 0;
    await Promise.all(
      operators.map(async (op) => {
        while (next++ < runs) await runTrue(op);
      }),
    );
    const concurrent = { us: (cpu() - before) / runs, rate: runs / ((performance.now() - t0) / 1000) };
    process.stdout.write(
      `  layout ${layout.padEnd(5)} (${pids.length} process${pids.length > 1 ? 'es' : ''}): ` +
        `sequential ${sequential.us.toFixed(0)} µs CPU/run (wall ${(sequential.wall * 1000).toFixed(0)} µs/run)  |  ` +
        `8 operators ${concurrent.us.toFixed(0)} µs CPU/run (${concurrent.rate.toFixed(0)} runs/s)\n`,
    );
  } finally {
    for (const op of operators) await op.close();
    up.child.kill('SIGTERM');
    await new Promise((resolve) => up.child.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  const load = (): string =>
    os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
  process.stdout.write(`bench:cpu  ${runs} runs of system.run ${TRUE}, policy ${policyMode}, load ${load()}\n`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-cpu-'));
  try {
    for (const layout of layouts) await measureLayout(root, layout);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(`  load after ${load()}\n`);
}

await main();
