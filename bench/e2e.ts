// npm run bench:e2e — system.run /bin/true from an operator through Gateway → node host → exec socket
// → app → runner and back (a real `openclaw-ipc up` child process), against posix_spawn alone
// (nativeSpawn) measured in the same run: p50, p99, ratio. Then cold start to ready and RSS for
// `up` and for `node run`. Uses dist/ when built (what `npm start` runs), else tsx (reported).
//   BENCH_ITERATIONS (default 300), BENCH_COLD_RUNS (default 3),
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
const coldRuns = Number(process.env.BENCH_COLD_RUNS ?? 3);
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
  line: string;
}

/** Spawns the CLI and resolves when a stdout line matches `ready`. */
function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Started> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => ready.test(l));
      if (line) resolve({ child, readyMs: performance.now() - t0, line });
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${err}`)));
  });
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

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-e2e-'));
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, OPENCLAW_NODE_EXEC_HOST: '', XDG_RUNTIME_DIR: '' };
  delete baseEnv.OPENCLAW_GATEWAY_TOKEN;
  const children: ChildProcess[] = [];
  try {
    process.stdout.write(
      `bench:e2e  node ${process.version}, ${os.cpus().length} CPUs, load ${os
        .loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}, CLI from ${useDist ? 'dist/' : 'tsx (dist/ not built)'}\n`,
    );
    process.stdout.write(
      `native posix_spawn: ${isNativeSpawnAvailable() ? 'available' : 'UNAVAILABLE (exec host falls back to child_process)'}\n\n`,
    );

    // --- the stack, as `npm start` runs it (node host in-process), and with the node host as a child
    const floorAll: number[] = [];
    const layouts: Array<{
      layout: string;
      e2e: ReturnType<typeof summary>;
      floor: ReturnType<typeof summary>;
      rss: number;
    }> = [];
    let gatewayUrl = '';
    let gatewayToken = '';
    let keep: ChildProcess | undefined;
    for (const layout of ['in', 'child'] as const) {
      const upState = stateDir(root, `up-${layout}`, true);
      const up = await startCli(
        ['up', '--port', '0', '--json', '--node-process', layout],
        { ...baseEnv, OPENCLAW_STATE_DIR: upState },
        /^\{.*"ready":true/,
      );
      children.push(up.child);
      const info = JSON.parse(up.line) as { url: string; nodeId: string };
      const token = (
        JSON.parse(fs.readFileSync(path.join(upState, 'openclaw.json'), 'utf8')) as {
          gateway: { auth: { token: string } };
        }
      ).gateway.auth.token;
      const op = new GatewayClient({
        url: info.url,
        role: 'operator',
        token,
        scopes: [...OPERATOR_SCOPES],
        client: { id: 'gateway-client', mode: 'backend', version: 'bench', platform: process.platform },
      });
      await op.start();
      const runTrue = async (): Promise<number> => {
        const t0 = performance.now();
        const reply = await op.request<{ payload?: { exitCode?: number } }>('node.invoke', {
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
      for (let i = 0; i < 30; i++) await runTrue(); // warm-up: JIT, sockets, page cache
      for (let i = 0; i < 30; i++) await spawnTrue();
      const e2e: number[] = [];
      const floor: number[] = [];
      // Interleaved in blocks so both see the same machine load.
      for (let done = 0; done < iterations; done += 25) {
        for (let i = 0; i < 25; i++) e2e.push(await runTrue());
        for (let i = 0; i < 25; i++) floor.push(await spawnTrue());
      }
      floorAll.push(...floor);
      layouts.push({ layout, e2e: summary(e2e), floor: summary(floor), rss: rssTreeMb(up.child.pid!) });
      await op.close();
      if (layout === 'in') {
        keep = up.child; // its Gateway hosts the `node run` cold starts below
        gatewayUrl = info.url;
        gatewayToken = token;
      } else {
        await stop(up.child);
      }
    }
    process.stdout.write(`policy: ${policyMode}\n`);
    process.stdout.write(
      `system.run ${TRUE}: operator → Gateway → node host → exec socket → app → runner, n=${iterations} per layout\n`,
    );
    for (const l of layouts) {
      process.stdout.write(
        `  up, node host ${l.layout === 'in' ? 'in-process' : 'as a child'}: e2e p50 ${ms(l.e2e.p50)}  p99 ${ms(l.e2e.p99)}  |  posix_spawn p50 ${ms(l.floor.p50)}  p99 ${ms(l.floor.p99)}  |  ratio p50 ${(l.e2e.p50 / l.floor.p50).toFixed(2)}x  p99 ${(l.e2e.p99 / l.floor.p99).toFixed(2)}x  |  RSS ${l.rss.toFixed(1)} MB\n`,
      );
    }
    const allFloor = summary(floorAll);
    process.stdout.write(`  posix_spawn alone, all blocks: p50 ${ms(allFloor.p50)}  p99 ${ms(allFloor.p99)}\n\n`);

    // --- cold start to ready, RSS at ready
    const cold: Record<string, { ready: number[]; rss: number[] }> = {
      'up (node in-process)': { ready: [], rss: [] },
      'up (node as a child)': { ready: [], rss: [] },
      'node run': { ready: [], rss: [] },
    };
    for (let i = 0; i < coldRuns; i++) {
      for (const [name, layout] of [
        ['up (node in-process)', 'in'],
        ['up (node as a child)', 'child'],
      ] as const) {
        const s = await startCli(
          ['up', '--port', '0', '--json', '--node-process', layout],
          { ...baseEnv, OPENCLAW_STATE_DIR: stateDir(root, `cold-${layout}-${i}`, false) },
          /^\{.*"ready":true/,
        );
        cold[name]!.ready.push(s.readyMs);
        cold[name]!.rss.push(rssTreeMb(s.child.pid!));
        await stop(s.child);
      }
      const n = await startCli(
        ['node', 'run', '--url', gatewayUrl, '--json'],
        {
          ...baseEnv,
          OPENCLAW_STATE_DIR: stateDir(root, `cold-node-${i}`, false),
          OPENCLAW_GATEWAY_TOKEN: gatewayToken,
        },
        /"ready":true/,
      );
      cold['node run']!.ready.push(n.readyMs);
      cold['node run']!.rss.push(rssTreeMb(n.child.pid!));
      await stop(n.child);
    }
    if (keep) await stop(keep);
    const med = (xs: number[]): number => summary(xs).p50;
    process.stdout.write(
      `cold start to ready (spawn → ready line; Node start-up, fresh state dir, key generation included), median of ${coldRuns}; RSS of the process tree at ready\n`,
    );
    for (const [name, c] of Object.entries(cold)) {
      process.stdout.write(
        `  ${name.padEnd(22)} ${ms(med(c.ready)).padStart(10)}  (runs ${c.ready.map((x) => x.toFixed(0)).join(', ')} ms)   RSS ${med(c.rss).toFixed(1)} MB\n`,
      );
    }
    process.stdout.write(
      '  (reference: openclaw 2026.9.6 gateway 15–30 s / ~630 MB, node host 15–17 s / ~420 MB; performance-floors.md)\n',
    );
  } finally {
    for (const child of children) await stop(child);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
