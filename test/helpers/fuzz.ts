// Run counts for property-based tests: small and fixed-seed-free in `npm test` (a few seconds per file),
// large under `npm run fuzz` (FUZZ_RUNS). A failure prints fast-check's seed and shrunk counterexample;
// keep that counterexample as an explicit regression case next to the property.
import fc from 'fast-check';

/**
 * `base` runs normally; FUZZ_RUNS (set by scripts/fuzz.ts) scales every property to that many, divided by
 * `cost` for properties that spawn a process per run (a real shell, getopt(1), sed, a socket exchange).
 */
export function runs(base: number, cost = 1): number {
  const wanted = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(wanted) && wanted > 0 ? Math.max(base, Math.floor(wanted / cost)) : base;
}

/** fc.assert parameters: run count, plus FUZZ_SEED to replay a reported failure. */
export function params<T>(base: number, cost = 1): fc.Parameters<T> {
  const seed = Number(process.env.FUZZ_SEED);
  return { numRuns: runs(base, cost), ...(Number.isInteger(seed) ? { seed } : {}) };
}
