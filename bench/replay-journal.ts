// node --import tsx bench/replay-journal.ts — what the replay cache's on-disk journal adds per remember():
//  1. 10 000 remember() calls, memory-only (the floor) vs journaled (one write(2) each), same run;
//  2. the same with compaction running (short window: most lines dead), so the rewrites are included;
//  3. loading a journal of 100 000 live entries (the default maxEntries) at start.
// Reported as µs per call and as the added µs over the floor; no pass/fail threshold.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ReplayCache } from '../lib/exec-host/replay-cache.js';

const CALLS = Number(process.env.BENCH_ITERATIONS ?? 10_000);
const ROUNDS = 7;
const WINDOW_MS = 21_000; // 2 × the 10 s TTL + 1 s, as the exec host uses

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-replay-'));
let run = 0;

function nonces(n: number): string[] {
  // 32 lowercase hex chars, like upstream clients' nonces.
  return Array.from(
    { length: n },
    (_, i) => `${(run * 1_000_003 + i).toString(16).padStart(16, '0')}${'ab'.repeat(8)}`,
  );
}

/** Median over rounds of the µs per call for `CALLS` remember() calls on a new cache. */
function perCall(make: () => ReplayCache, clock: (i: number) => number): number {
  const results: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    run++;
    const cache = make();
    const list = nonces(CALLS);
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      if (cache.remember(list[i]!, clock(i)) !== 'ok') throw new Error('remember refused during the bench');
    }
    results.push(((performance.now() - t0) * 1000) / CALLS);
    cache.close();
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)]!;
}

const journal = (): string => path.join(root, `j${run}`, 'exec-approvals.nonces.jsonl');
const base = Date.now();
const realTime = (): number => Date.now();
// 1 ms of simulated time per call with a 100 ms window: ~100 live entries, a rewrite every ~100 calls
// once past compactMinLines (64 here, so compaction is exercised at this call count).
const fastClock = (i: number): number => base + i;

try {
  const memory = perCall(() => new ReplayCache(WINDOW_MS), realTime);
  const journaled = perCall(() => new ReplayCache(WINDOW_MS, { file: journal() }), realTime);
  const memoryShort = perCall(() => new ReplayCache(100), fastClock);
  const compacting = perCall(() => new ReplayCache(100, { file: journal(), compactMinLines: 64 }), fastClock);

  // Start-up: a journal of 100 000 live entries.
  run++;
  const big = journal();
  const writer = new ReplayCache(10 * 60_000, { file: big });
  for (const n of nonces(100_000)) writer.remember(n);
  writer.close();
  const bytes = fs.statSync(big).size;
  const t0 = performance.now();
  const loaded = new ReplayCache(10 * 60_000, { file: big });
  const loadMs = performance.now() - t0;
  loaded.close();

  const us = (v: number): string => `${v.toFixed(2)} µs`;
  process.stdout.write(
    `remember() × ${CALLS}, median of ${ROUNDS} rounds (${os.cpus().length} CPUs, tmpdir ${os.tmpdir()})\n`,
  );
  process.stdout.write(`  memory-only (floor)          ${us(memory)} / call\n`);
  process.stdout.write(
    `  journaled                    ${us(journaled)} / call  (+${us(journaled - memory)}, ×${(journaled / memory).toFixed(1)})\n`,
  );
  process.stdout.write(`  memory-only, short window     ${us(memoryShort)} / call\n`);
  process.stdout.write(
    `  journaled + compaction        ${us(compacting)} / call  (+${us(compacting - memoryShort)}; a rewrite every ~100 calls)\n`,
  );
  process.stdout.write(
    `load 100 000 live entries (${(bytes / 1024 / 1024).toFixed(1)} MiB): ${loadMs.toFixed(0)} ms (includes the rewrite + fsync)\n`,
  );
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
