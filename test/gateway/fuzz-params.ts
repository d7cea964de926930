// Run counts for the Gateway and bridge property tests: small in `npm test` (a few seconds per file), large
// under `npm run fuzz` (FUZZ_RUNS). A failure prints fast-check's seed and shrunk counterexample; FUZZ_SEED
// replays it, and the counterexample is then kept as an explicit regression case in the test file.
import type fc from 'fast-check';

/** fc.assert parameters: `base` runs, or FUZZ_RUNS when larger; FUZZ_SEED to replay a failure. */
export function fuzzParams<T>(base: number): fc.Parameters<T> {
  const wanted = Number(process.env.FUZZ_RUNS);
  const seed = Number(process.env.FUZZ_SEED);
  return {
    numRuns: Number.isInteger(wanted) && wanted > base ? wanted : base,
    ...(Number.isInteger(seed) ? { seed } : {}),
  };
}
