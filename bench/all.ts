// `npm run bench`: every benchmark in turn, each in its own process so one's heap does not skew another.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const benches = ['native.ts', 'exec.ts', 'e2e.ts', 'control-ui.ts'];
let failures = 0;
for (const bench of benches) {
  process.stdout.write(`\n### bench/${bench}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, bench)], { stdio: 'inherit' });
  if (result.status !== 0) {
    failures += 1;
    process.stdout.write(`bench/${bench} failed (exit ${result.status ?? result.signal})\n`);
  }
}
process.exitCode = failures === 0 ? 0 : 1;
