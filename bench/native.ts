// npm run bench:native — the addon against floors measured in the same run:
//   1. peer-credential calls through N-API vs raw getsockopt(SO_PEERCRED) in C (compiled here);
//   2. nativeSpawn(/bin/true) vs child_process.spawn(/bin/true);
//   3. both spawns with this process at ~50 MB and at ~1 GB RSS (libuv forks; posix_spawn does not).
// Medians of repetitions; ratios are what to watch, absolute numbers depend on the box.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { getBinding } from '../lib/native/binding.js';
import { nativeSpawn, peerCredentials, peerUid } from '../lib/index.js';

const REPS = 3;
const CALLS = 200_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const fmt = (x: number, digits = 2) => x.toFixed(digits);

const rawFloorC = `
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char** argv) {
  long n = atol(argv[1]);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  struct ucred c; socklen_t len; volatile long sink = 0;
  for (int rep = 0; rep < ${REPS}; rep++) {
    double t0 = now();
    for (long i = 0; i < n; i++) { len = sizeof c; if (getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) return 2; sink += c.uid; }
    double t1 = now();
    for (long i = 0; i < n; i++) sink += getppid();
    double t2 = now();
    printf("%f %f\\n", (t1 - t0) / n, (t2 - t1) / n);
  }
  return 0;
}
`;

function rawFloor(dir: string): { peercred: number; getppid: number } | undefined {
  const src = path.join(dir, 'floor.c');
  const exe = path.join(dir, 'floor');
  fs.writeFileSync(src, rawFloorC);
  if (spawnSync('cc', ['-O2', '-o', exe, src], { stdio: 'inherit' }).status !== 0) return undefined;
  const out = spawnSync(exe, [String(CALLS)], { encoding: 'utf8' });
  if (out.status !== 0) return undefined;
  const rows = out.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(' ').map(Number));
  return { peercred: median(rows.map((r) => r[0])), getppid: median(rows.map((r) => r[1])) };
}

function nsPerCall(fn: () => void, n = CALLS): number {
  const reps: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    reps.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(reps);
}

async function connectedPair(dir: string): Promise<{ conn: net.Socket; client: net.Socket; server: net.Server }> {
  const sockPath = path.join(dir, 'bench.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(sockPath);
  return { conn: await accepted, client, server };
}

function nodeSpawnTrue(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - t0));
  });
}

async function nativeSpawnTrue(): Promise<number> {
  const t0 = performance.now();
  await nativeSpawn({ file: '/bin/true', argv: ['true'], env: {} });
  return performance.now() - t0;
}

async function sample(fn: () => Promise<number>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-'));
  try {
    const floor = rawFloor(dir);
    const { conn, client, server } = await connectedPair(dir);
    const binding = getBinding();
    const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
    const out = new Int32Array(5);
    const token = new Uint8Array(32);
    let sink = 0;

    const rows: [string, number][] = [
      [
        'addon peerUid(fd)',
        nsPerCall(() => {
          sink += peerUid(fd);
        }),
      ],
      [
        'addon peerUid(socket)',
        nsPerCall(() => {
          sink += peerUid(conn);
        }),
      ],
      [
        'addon raw peerCred → Int32Array (no pidfd)',
        nsPerCall(() => {
          binding.peerCred(fd, out, token, false);
          sink += out[1];
        }),
      ],
      [
        'addon peerCredentials(socket) → object',
        nsPerCall(() => {
          sink += peerCredentials(conn).uid;
        }),
      ],
      [
        'addon raw peerCred + SO_PEERPIDFD + close',
        nsPerCall(() => {
          binding.peerCred(fd, out, token, true);
          binding.closeFd(out[3]);
        }, CALLS / 4),
      ],
    ];
    client.destroy();
    conn.destroy();
    server.close();

    console.log(
      `\nopenclaw-ipc native bench — Node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`,
    );
    console.log(`\n1. Peer credentials (${CALLS} calls × ${REPS} reps, median ns/call)`);
    if (floor) {
      console.log(
        `   raw C getsockopt(SO_PEERCRED)                 ${fmt(floor.peercred, 0).padStart(7)} ns   (floor, ratio 1.00)`,
      );
      console.log(`   raw C getppid() (trivial syscall)             ${fmt(floor.getppid, 0).padStart(7)} ns`);
    } else {
      console.log('   (the C floor program did not build or run: raw floor not measured)');
    }
    for (const [name, ns] of rows) {
      const ratio = floor ? `ratio ${fmt(ns / floor.peercred)}` : '';
      console.log(`   ${name.padEnd(46)}${fmt(ns, 0).padStart(7)} ns   ${ratio}`);
    }

    console.log('\n2. Spawn /bin/true until exit + pipes closed (sequential, ms)');
    const spawnTable = async (label: string, nNative: number, nNode: number) => {
      await sample(nativeSpawnTrue, 5); // warm up the supervisor thread
      const nat = await sample(nativeSpawnTrue, nNative);
      const nod = await sample(nodeSpawnTrue, nNode);
      const rss = rssMb();
      console.log(`   ${label} (RSS ${fmt(rss, 0)} MB)`);
      console.log(
        `     nativeSpawn          p50 ${fmt(median(nat)).padStart(7)}  p99 ${fmt(pct(nat, 0.99)).padStart(7)}  (n=${nNative})`,
      );
      console.log(
        `     child_process.spawn  p50 ${fmt(median(nod)).padStart(7)}  p99 ${fmt(pct(nod, 0.99)).padStart(7)}  (n=${nNode})`,
      );
      console.log(`     ratio node/native    ${fmt(median(nod) / median(nat))}`);
      return { nat: median(nat), nod: median(nod) };
    };
    const small = await spawnTable('small parent', 200, 200);

    console.log('\n3. Same with a ~1 GB parent');
    const big = Buffer.alloc(1024 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = 1; // touch every page
    const large = await spawnTable('large parent', 100, 20);
    sink += big[4096];
    console.log(
      `   growth small→large: nativeSpawn ×${fmt(large.nat / small.nat)}, child_process.spawn ×${fmt(large.nod / small.nod)}`,
    );
    if (sink === -1) console.log('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
