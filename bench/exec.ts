// npm run bench:exec — the exec host's cost, measured against floors taken in the same run:
//  1. signed exec of /bin/true through the socket vs nativeSpawn(/bin/true) alone (ratio, p50/p99);
//  2. the same exec with the exec host process at ~50 MB and ~1 GB RSS, per runner backend
//     (goal: native ratio 1 GB / 50 MB ≤ 1.2; child_process is shown for contrast);
//  3. transport + auth + policy alone (a denied exec: nothing spawned);
//  4. throughput with 8 concurrent clients.
// The exec host runs in a child process (`bench/exec.ts --host <MB> <backend> <stateDir>`) that
// allocates and touches the memory first, so the RSS is real.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { updateApprovals, ensureApprovals } from '../lib/exec-host/exec-approvals-file.js';
import { execViaSocket, loadClientConfig } from '../lib/exec-host/client.js';
import type { RunnerBackend } from '../lib/exec-host/runner.js';
import { startExecHost } from '../lib/exec-host/server.js';
import { isNativeSpawnAvailable, nativeSpawn } from '../lib/native/spawn.js';

const SELF = fileURLToPath(import.meta.url);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 20;

interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, p50: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0] };
}

const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

async function measure(fn: () => Promise<unknown>, iterations = ITERATIONS): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

// ---- child mode: an exec host with ballast ----
async function hostMain(mb: number, backend: RunnerBackend, stateDir: string): Promise<void> {
  const ballast: Buffer[] = [];
  for (let i = 0; i < mb; i++) ballast.push(Buffer.alloc(1024 * 1024, i & 0xff)); // alloc fills: pages touched
  const host = await startExecHost({ stateDir, runner: { backend }, maxConcurrentRuns: 8, maxRunsPerPeer: 8 });
  const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
  process.stdout.write(
    `${JSON.stringify({ ready: true, socketPath: host.socketPath, rssMb, ballast: ballast.length })}\n`,
  );
  process.stdin.resume();
  process.stdin.once('end', () => void host.close().then(() => process.exit(0)));
}

interface HostProc {
  child: ChildProcess;
  rssMb: number;
  stateDir: string;
}

async function launchHost(mb: number, backend: RunnerBackend, root: string): Promise<HostProc> {
  const stateDir = path.join(root, `state-${backend}-${mb}`);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'exec-approvals.json');
  ensureApprovals(file, path.join(stateDir, 'exec-approvals.sock'));
  updateApprovals(file, (d) => {
    d.defaults = { security: 'full', ask: 'off', askFallback: 'deny' };
  });
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--host', String(mb), backend, stateDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`host exited with ${code}`)));
  });
  const ready = JSON.parse(first) as { rssMb: number };
  return { child, rssMb: ready.rssMb, stateDir };
}

async function stopHost(h: HostProc): Promise<void> {
  const exited = new Promise((resolve) => h.child.once('exit', resolve));
  h.child.stdin!.end();
  await exited;
}

/**
 * The socket path's goal (≤ 1.6× posix_spawn at p50), measured in interleaved blocks of 25 socket execs and
 * 25 posix_spawns, so that both see the same load (the separate rows above are minutes apart).
 */
async function interleavedGoal(root: string): Promise<{ socket: Stats; floor: Stats; ratio: number }> {
  const host = await launchHost(0, 'native', root);
  const config = loadClientConfig(host.stateDir);
  const viaSocket = async (): Promise<void> => {
    const r = await execViaSocket({ command: ['/bin/true'] }, config);
    if (!r.ok || r.payload.exitCode !== 0) throw new Error(`exec failed: ${JSON.stringify(r)}`);
  };
  const spawnOnly = (): Promise<unknown> => nativeSpawn({ file: '/bin/true', argv: ['true'], env: {} });
  for (let i = 0; i < WARMUP; i++) await viaSocket();
  const socketSamples: number[] = [];
  const floorSamples: number[] = [];
  for (let done = 0; done < ITERATIONS; done += 25) {
    for (const [fn, into] of [
      [viaSocket, socketSamples],
      [spawnOnly, floorSamples],
    ] as const) {
      for (let i = 0; i < 25; i++) {
        const t0 = performance.now();
        await fn();
        into.push(performance.now() - t0);
      }
    }
  }
  await stopHost(host);
  const socket = stats(socketSamples);
  const floor = stats(floorSamples);
  const ratio = socket.p50 / floor.p50;
  console.log(
    `interleaved: socket exec p50 ${fmt(socket.p50)}  p99 ${fmt(socket.p99)}  |  posix_spawn p50 ${fmt(floor.p50)}  |  ratio p50 ` +
      `${ratio.toFixed(2)}  ${ratio <= 1.6 ? 'PASS' : 'MISS'} (goal ≤ 1.6×, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
  );
  return { socket, floor, ratio };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-exec-'));
  const results: Record<string, unknown> = {
    iterations: ITERATIONS,
    nativeSpawn: isNativeSpawnAvailable(),
    loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  try {
    const backends: RunnerBackend[] = isNativeSpawnAvailable() ? ['native', 'child-process'] : ['child-process'];
    if (!isNativeSpawnAvailable())
      console.log('!! nativeSpawn unavailable in this build: only the child_process runner is measured');

    // Floor: posix_spawn of /bin/true from this (small) process.
    const floor = isNativeSpawnAvailable()
      ? await measure(() => nativeSpawn({ file: '/bin/true', argv: ['true'], env: {} }))
      : undefined;
    if (floor)
      console.log(
        `floor  nativeSpawn(/bin/true)                     p50 ${fmt(floor.p50)}  p99 ${fmt(floor.p99)}  min ${fmt(floor.min)}`,
      );
    results.floor = floor;

    const byRss: Record<string, Record<string, Stats & { rssMb: number }>> = {};
    for (const backend of backends) {
      byRss[backend] = {};
      for (const mb of [0, 1000]) {
        const host = await launchHost(mb, backend, root);
        const config = loadClientConfig(host.stateDir);
        const s = await measure(async () => {
          const r = await execViaSocket({ command: ['/bin/true'] }, config);
          if (!r.ok || r.payload.exitCode !== 0) throw new Error(`exec failed: ${JSON.stringify(r)}`);
        });
        await stopHost(host);
        const label = mb === 0 ? 'small' : 'large';
        byRss[backend][label] = { ...s, rssMb: host.rssMb };
        console.log(
          `socket exec /bin/true  runner=${backend.padEnd(13)} host RSS ${String(host.rssMb).padStart(5)} MB  ` +
            `p50 ${fmt(s.p50)}  p99 ${fmt(s.p99)}  min ${fmt(s.min)}`,
        );
      }
      const ratio = byRss[backend].large.p50 / byRss[backend].small.p50;
      console.log(
        `  ratio p50 (≈1 GB / ≈50 MB host), runner=${backend}: ` +
          `${ratio.toFixed(2)}${backend === 'native' ? `  (goal ≤ 1.2: ${ratio <= 1.2 ? 'met' : 'NOT met'})` : ''}`,
      );
    }
    results.byRss = byRss;
    if (isNativeSpawnAvailable()) results.interleaved = await interleavedGoal(root);
    const small = byRss[backends[0]].small;
    if (floor) {
      console.log(
        `ratio socket exec (small host, ${backends[0]}) / nativeSpawn alone: p50 ${(small.p50 / floor.p50).toFixed(2)}  p99 ` +
          `${(small.p99 / floor.p99).toFixed(2)}`,
      );
      results.socketOverFloor = {
        p50: small.p50 / floor.p50,
        p99: small.p99 / floor.p99,
        addedP50Ms: small.p50 - floor.p50,
      };
    }

    // Transport + auth + policy only: a signed exec the policy denies (nothing is spawned).
    {
      const host = await launchHost(0, backends[0], root);
      updateApprovals(path.join(host.stateDir, 'exec-approvals.json'), (d) => {
        d.defaults = { security: 'deny' };
      });
      const config = loadClientConfig(host.stateDir);
      const s = await measure(async () => {
        const r = await execViaSocket({ command: ['/bin/true'] }, config);
        if (r.ok) throw new Error('expected a denial');
      });
      await stopHost(host);
      console.log(
        `transport+auth+policy (signed exec, denied, no spawn)          p50 ${fmt(s.p50)}  p99 ${fmt(s.p99)}  min ${fmt(s.min)}`,
      );
      results.transportOnly = s;
    }

    // Throughput: 8 concurrent clients against a small host with the default runner.
    const host = await launchHost(0, backends[0], root);
    const config = loadClientConfig(host.stateDir);
    const total = ITERATIONS * 4;
    let next = 0;
    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          next++;
          const s0 = performance.now();
          const r = await execViaSocket({ command: ['/bin/true'] }, config);
          if (!r.ok) throw new Error('exec failed');
          latencies.push(performance.now() - s0);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    await stopHost(host);
    const lat = stats(latencies);
    const throughput = { execs: total, perSecond: total / seconds, p50: lat.p50, p99: lat.p99 };
    console.log(
      `throughput, 8 concurrent clients, runner=${backends[0]}: ${throughput.perSecond.toFixed(0)} exec/s  (per-exec p50 ${fmt(lat.p50)}  p99 ${fmt(lat.p99)})`,
    );
    results.throughput8 = throughput;
    console.log(`loadavg at start: ${(results.loadavg as number[]).join(' ')}`);
    console.log(JSON.stringify(results));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--host') {
  await hostMain(Number(process.argv[3]), process.argv[4] as RunnerBackend, process.argv[5]);
} else {
  await main();
}
