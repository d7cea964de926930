// The install hook builds against the running Node's own headers when they are installed and match, so
// `npm install` from a git clone compiles offline without a ~/.npmrc naming nodedir. (CI also runs a
// real build this way: .ci/run, stage "offline build without ~/.npmrc".)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { repo } from '../helpers/cli.js';

function decide(env: NodeJS.ProcessEnv): { command: string; args: string[]; nodedir: string | null } {
  const clean: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const key of Object.keys(clean)) if (key.toLowerCase() === 'npm_config_nodedir') delete clean[key];
  if (env.npm_config_nodedir) clean.npm_config_nodedir = env.npm_config_nodedir;
  const r = spawnSync(process.execPath, [path.join(repo, 'scripts/install.cjs'), '--print'], {
    env: clean,
    encoding: 'utf8',
  });
  return JSON.parse(r.stdout) as { command: string; args: string[]; nodedir: string | null };
}

t.test('no ~/.npmrc, no npm_config_nodedir: the local headers are used when they match', async (t) => {
  const home = t.testdir();
  const prefix = path.resolve(path.dirname(fs.realpathSync(process.execPath)), '..');
  const header = path.join(prefix, 'include', 'node', 'node_version.h');
  const matches =
    fs.existsSync(header) &&
    (() => {
      const h = fs.readFileSync(header, 'utf8');
      const v = ['MAJOR', 'MINOR', 'PATCH'].map((p) => new RegExp(`#define NODE_${p}_VERSION (\\d+)`).exec(h)?.[1]);
      return `v${v.join('.')}` === process.version;
    })();
  const plan = decide({ HOME: home });
  t.equal(
    plan.nodedir,
    matches ? prefix : null,
    `headers at ${header} ${matches ? 'match' : 'absent or other version'}`,
  );
  t.equal(plan.args.includes(`--nodedir=${prefix}`), matches, 'passed to node-gyp rebuild');
  t.ok(plan.args.includes('rebuild'));

  const explicit = decide({ HOME: home, npm_config_nodedir: '/somewhere/else' });
  t.equal(explicit.nodedir, null, 'an explicit npm_config_nodedir is left to node-gyp');
  t.notOk(
    explicit.args.some((a) => a.startsWith('--nodedir')),
    'no second --nodedir',
  );
});
