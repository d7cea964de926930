// readJsonFile on real files: missing, valid, malformed, not a regular file, over the size cap.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MAX_JSON_FILE_BYTES, readJsonFile } from '../../lib/common/state-dir.js';

t.test('readJsonFile', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-json-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
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
