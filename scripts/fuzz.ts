// `npm run fuzz`: the property-based test files (test/**/*.fuzz.test.ts) with many more runs than
// `npm test` gives them. FUZZ_RUNS (default 20000) sets the runs per property; FUZZ_SEED replays a
// reported failure. Extra arguments select files. A shrunk counterexample belongs in the test file as
// an explicit regression case.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function findFuzzTests(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findFuzzTests(full);
    return entry.name.endsWith('.fuzz.test.ts') ? [full] : [];
  });
}

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : findFuzzTests('test').sort();
const runs = process.env.FUZZ_RUNS ?? '20000';
process.stdout.write(`fuzzing ${files.length} files with FUZZ_RUNS=${runs}\n`);
const result = spawnSync('npx', ['tap', '--timeout', '3600', '--jobs', '1', ...files], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs },
});
process.exit(result.status ?? 1);
