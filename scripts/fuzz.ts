// `npm run fuzz`: every property-based test file (test/**/*.fuzz.test.ts) with many more cases than `npm test`
// gives them. FUZZ_RUNS (default 20000) is the number of cases per property; FUZZ_SEED replays a reported
// failure. Arguments select files. A shrunk counterexample is kept in its test file as a regression case.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function fuzzFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return fuzzFiles(full);
    return entry.name.endsWith('.fuzz.test.ts') ? [full] : [];
  });
}

const files = process.argv.length > 2 ? process.argv.slice(2) : fuzzFiles('test').sort();
const runs = process.env.FUZZ_RUNS ?? '20000';
process.stdout.write(`fuzzing ${files.length} files, FUZZ_RUNS=${runs}\n`);
const result = spawnSync('npx', ['tap', '--timeout', '3600', '--jobs', '1', ...files], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs },
});
process.exit(result.status ?? 1);
