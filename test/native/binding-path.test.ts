// Loading the addon from a given file (Electron, bundlers): OPENCLAW_IPC_NATIVE_BINDING and
// setNativeBindingPath() in real child processes, proven by which file the process actually loaded.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { repo } from '../helpers/cli.js';
import { reachableDir, stageCli } from '../helpers/other-uid.js';

const binding = pathToFileURL(path.join(repo, 'lib/native/binding.ts')).href;

/** Runs a module snippet under tsx; prints JSON. */
function run(script: string, env: NodeJS.ProcessEnv = {}): { out: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { out: JSON.parse(r.stdout || '{}') as Record<string, unknown>, stderr: r.stderr };
}

const PROBE = `
  import { createRequire } from 'node:module';
  const b = await import(${JSON.stringify(binding)});
  let error;
  if (process.env.SET_PATH) b.setNativeBindingPath(process.env.SET_PATH);
  try { b.getBinding(); } catch (e) { error = e.code + ': ' + e.message; }
  let again;
  try { b.setNativeBindingPath('/x.node'); } catch (e) { again = e.code; }
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.endsWith('.node'));
  process.stdout.write(JSON.stringify({ error, loaded, again }));`;

t.test('OPENCLAW_IPC_NATIVE_BINDING and setNativeBindingPath load exactly that file', async (t) => {
  const dir = reachableDir(t);
  const copy = path.join(dir, 'renamed-addon.node');
  fs.copyFileSync(path.join(stageCli(t).env.OPENCLAW_IPC_NATIVE_BINDING!), copy);

  const viaEnv = run(PROBE, { OPENCLAW_IPC_NATIVE_BINDING: copy });
  t.same(viaEnv.out, { loaded: [copy], again: 'ERR_NATIVE_ALREADY_LOADED' }, `env (stderr: ${viaEnv.stderr})`);

  const viaApi = run(PROBE, { SET_PATH: copy });
  t.same(viaApi.out, { loaded: [copy], again: 'ERR_NATIVE_ALREADY_LOADED' }, `setNativeBindingPath`);

  const missing = run(PROBE, { OPENCLAW_IPC_NATIVE_BINDING: path.join(dir, 'nope.node') });
  t.match(missing.out.error, /^ERR_NATIVE_UNAVAILABLE: .*nope\.node/, 'a wrong path fails with that path named');
  t.same(missing.out.loaded, [], 'and no other addon is loaded behind its back');
});
