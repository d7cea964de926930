// README.md's library example (examples/local-stack.ts) runs as a user would run it, importing the
// package by name: Gateway → node host → exec socket → app → runner and back.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

t.test('examples/local-stack.ts runs a command on a node end to end', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/local-stack.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stdout, 'hello from the node\n');
});
