// The CLI bundle's V8 code cache (lib/cli/code-cache.ts), on real files: a first run has none and writes
// one, the next run uses it, and a cache is ignored (the bundle compiles as usual) when it was made from
// other source of the same length (V8 alone would take it), is corrupt, is shared-writable, belongs to
// another uid, or is a symlink. The bundle's code runs the same in every case.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { cacheFileFor } from '../../lib/cli/code-cache.js';
import { repo } from '../helpers/cli.js';
import { OTHER_UID, skipOtherUid } from '../helpers/other-uid.js';

/**
 * runBundle in a fresh process, as the bin does (in one process V8's own compile cache would answer for
 * the second compile of the same source, whatever the file holds); then save() when asked.
 */
function runInChild(file: string, save = false): { status: string; reason?: string; saved?: boolean; runs: string[] } {
  const script = [
    `import { runBundle } from ${JSON.stringify(path.join(repo, 'lib', 'cli', 'code-cache.ts'))};`,
    'globalThis.__codeCacheRuns = [];',
    `const run = runBundle(${JSON.stringify(file)});`,
    `const saved = ${save} ? run.save() : undefined;`,
    'process.stdout.write(JSON.stringify({ status: run.status, reason: run.reason, saved, runs: globalThis.__codeCacheRuns }));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    encoding: 'utf8',
  });
  return JSON.parse(out) as { status: string; reason?: string; saved?: boolean; runs: string[] };
}

/** A CommonJS bundle with enough functions for V8 to cache; it records `tag` and what `require` it got. */
function writeBundle(dir: string, tag: string): string {
  const file = path.join(dir, 'main.cjs');
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i}; }`).join('\n');
  fs.writeFileSync(
    file,
    `#!/usr/bin/env node\n${fns}\nglobalThis.__codeCacheRuns.push(${JSON.stringify(tag)} + ':' + typeof require('node:path').join + ':' + ` +
      `require('node:path').basename(__filename) + ':' + f7(2));\n`,
  );
  return file;
}

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'code-cache-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('first run writes the cache, the next one uses it; the code runs the same both times', async (t) => {
  const dir = tmpDir(t);
  const file = writeBundle(dir, 'a');
  const first = runInChild(file, true);
  t.equal(first.status, 'none');
  t.equal(first.reason, 'no cache file');
  t.equal(first.saved, true, 'cache written');
  t.same(first.runs, ['a:function:main.cjs:21'], 'hashbang skipped, require/__filename given');
  const st = fs.statSync(cacheFileFor(file));
  t.equal(st.mode & 0o777, 0o644, 'writable by its owner only');
  t.same(
    fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
    'no temp file left',
  );
  const second = runInChild(file, true);
  t.equal(second.status, 'used', 'V8 accepted the cache');
  t.equal(second.saved, false, 'a used cache is not rewritten');
  t.same(second.runs, ['a:function:main.cjs:21']);
});

t.test('a cache made from other source of the same length is not used', async (t) => {
  const dir = tmpDir(t);
  const file = writeBundle(dir, 'a');
  runInChild(file, true);
  writeBundle(dir, 'b'); // same length, other content: V8 keys the source by length only
  const run = runInChild(file, true);
  t.equal(run.status, 'none');
  t.equal(run.reason, 'made from another bundle or Node');
  t.same(run.runs, ['b:function:main.cjs:21'], 'the new code ran');
  t.equal(run.saved, true, 'replaced by a cache of the new bundle');
  t.equal(runInChild(file).status, 'used');
});

t.test('corrupt V8 data behind a valid header: V8 rejects it, the code runs, the cache is rewritten', async (t) => {
  const dir = tmpDir(t);
  const file = writeBundle(dir, 'c');
  runInChild(file, true);
  const cache = cacheFileFor(file);
  const bytes = fs.readFileSync(cache);
  const headerEnd = bytes.indexOf('\n', bytes.indexOf('\n', bytes.indexOf('\n') + 1) + 1) + 1;
  for (let i = headerEnd; i < bytes.length; i++) bytes[i] = 0xa5;
  fs.writeFileSync(cache, bytes);
  const run = runInChild(file, true);
  t.equal(run.status, 'rejected');
  t.same(run.runs, ['c:function:main.cjs:21']);
  t.equal(run.saved, true);
  t.equal(runInChild(file).status, 'used');
});

t.test('a cache others could have written is not trusted', async (t) => {
  const dir = tmpDir(t);
  const file = writeBundle(dir, 'd');
  runInChild(file, true);
  const cache = cacheFileFor(file);
  fs.chmodSync(cache, 0o666);
  const shared = runInChild(file);
  t.equal(shared.status, 'none');
  t.equal(shared.reason, 'writable by group or others');
  fs.chmodSync(cache, 0o644);

  const real = path.join(dir, 'elsewhere.v8cache');
  fs.renameSync(cache, real);
  fs.symlinkSync(real, cache);
  const linked = runInChild(file);
  t.equal(linked.status, 'none', 'a symlink is not followed');
  t.match(linked.reason, /ELOOP|symbolic link/);
  t.same(linked.runs, ['d:function:main.cjs:21']);
});

t.test('a cache owned by another uid is not used', { skip: skipOtherUid }, async (t) => {
  const dir = tmpDir(t);
  const file = writeBundle(dir, 'e');
  runInChild(file, true);
  fs.chownSync(cacheFileFor(file), OTHER_UID, OTHER_UID);
  const run = runInChild(file);
  t.equal(run.status, 'none');
  t.equal(run.reason, `owned by uid ${OTHER_UID}`);
});
