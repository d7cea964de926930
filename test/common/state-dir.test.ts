// readJsonFile on real files: missing, valid, malformed, not a regular file, over the size cap; atomic
// writes that fail part-way clean up after themselves.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { MAX_JSON_FILE_BYTES, readJsonFile } from '../../lib/common/state-dir.js';
import { repo } from '../helpers/cli.js';

t.test('readJsonFile', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'config.json');
  t.equal(readJsonFile(file), undefined, 'missing file: undefined');
  fs.writeFileSync(file, '{"gateway":{"port":1234}}');
  t.same(readJsonFile(file), { gateway: { port: 1234 } });
  fs.writeFileSync(file, '{"gateway":');
  t.throws(() => readJsonFile(file), { code: 'ERR_CONFIG_MALFORMED' });
  t.equal(fs.readFileSync(file, 'utf8'), '{"gateway":', 'malformed file left alone');

  fs.truncateSync(file, MAX_JSON_FILE_BYTES + 1); // sparse: costs no disk
  t.throws(() => readJsonFile(file), { code: 'ERR_CONFIG_TOO_LARGE' });

  t.throws(() => readJsonFile(dir), { code: 'ERR_CONFIG_NOT_FILE' }, 'a directory');
  const fifo = path.join(dir, 'fifo.json');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    t.throws(() => readJsonFile(fifo), { code: 'ERR_CONFIG_NOT_FILE' }, 'a FIFO is refused without blocking');
  }
});

t.test('a failed atomic write (file size limit, as ENOSPC) leaves no temp file and the old content', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'exec-approvals.json');
  fs.writeFileSync(file, '{"version":1}\n', { mode: 0o600 });
  const module = pathToFileURL(path.join(repo, 'lib/exec-host/exec-approvals-file.ts')).href;
  // A real process under RLIMIT_FSIZE (8 blocks): the big write fails with EFBIG, like a full disk would.
  // SIGXFSZ is ignored so the write returns the error instead of killing the process.
  const script = `
    process.on('SIGXFSZ', () => {});
    const { updateApprovals } = await import(${JSON.stringify(module)});
    try {
      updateApprovals(${JSON.stringify(file)}, (d) => { d.big = 'x'.repeat(256 * 1024); });
      process.stdout.write('written');
    } catch (err) { process.stdout.write(String(err.code)); }`;
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_DISABLE_CACHE: '1' };
  delete env.NODE_OPTIONS; // tap's hooks would write their own files under the limit
  const child = spawnSync(
    '/bin/sh',
    ['-c', 'ulimit -f 8 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
    { cwd: repo, env, encoding: 'utf8', timeout: 60_000 },
  );
  t.equal(child.stdout, 'EFBIG', `the write failed (stderr: ${child.stderr})`);
  t.equal(fs.readFileSync(file, 'utf8'), '{"version":1}\n', 'the file keeps its old content');
  t.same(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no .exec-approvals.json.<pid>.<rand>.tmp left behind',
  );
});
