import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import {
  MAX_APPROVALS_FILE_BYTES,
  addAllowlistPattern,
  ensureApprovals,
  readApprovals,
  updateApprovals,
} from '../../lib/exec-host/exec-approvals-file.js';

function tmp(t: Test): string {
  return t.testdir();
}

t.test('created under umask 000 with mode 0600, a 32-char token and the socket path', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'exec-approvals.json');
  const old = process.umask(0);
  try {
    const data = ensureApprovals(file, path.join(dir, 'exec-approvals.sock'));
    t.match(data.socket?.token, /^[A-Za-z0-9_-]{32}$/);
    t.equal(data.socket?.path, path.join(dir, 'exec-approvals.sock'));
  } finally {
    process.umask(old);
  }
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  const text = fs.readFileSync(file, 'utf8');
  t.ok(text.endsWith('}\n'), 'trailing newline');
  t.match(text, /^\{\n {2}"version": 1,/, '2-space JSON');
});

t.test('a complete file written by another install is left byte-for-byte alone', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'exec-approvals.json');
  const text =
    '{"version":1,"socket":{"path":"~/.openclaw/exec-approvals.sock","token":"abc"},"futureField":{"x":[1,2]},' +
    '"agents":{"main":{"allowlist":[{"id":"0faa6a5a-add1-48f2-a1aa-9ad5a5b2d483","pattern":"/usr/bin/echo"}]}}}';
  fs.writeFileSync(file, text, { mode: 0o600 });
  ensureApprovals(file, '/unused');
  t.equal(fs.readFileSync(file, 'utf8'), text);
});

t.test('unknown fields survive a rewrite; string entries and missing ids are normalised', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'exec-approvals.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      extra: { keep: true },
      socket: { token: 'tok', custom: 1 },
      agents: {
        main: {
          security: 'allowlist',
          note: 'hi',
          allowlist: [
            '/usr/bin/uname',
            {
              pattern: '/bin/ls',
              argPattern: 'x',
              source: 'allow-always',
              commandText: 'ls',
              lastUsedAt: 5,
              mystery: 'y',
            },
          ],
        },
      },
    }),
    { mode: 0o600 },
  );
  updateApprovals(file, (d) => {
    addAllowlistPattern(d, 'main', '/usr/bin/id');
  });
  const after = readApprovals(file)!;
  t.same(after.extra, { keep: true });
  t.equal(after.socket?.custom, 1);
  t.equal(after.agents?.main.note, 'hi');
  const list = after.agents!.main.allowlist!;
  t.equal(list.length, 3);
  t.equal(list[0].pattern, '/usr/bin/uname');
  for (const e of list) t.match(e.id, /^[0-9a-f-]{36}$/);
  t.match(list[1], { argPattern: 'x', source: 'allow-always', commandText: 'ls', lastUsedAt: 5, mystery: 'y' });
  t.equal(list[2].pattern, '/usr/bin/id');
});

t.test('unsafe or malformed files are refused and left intact', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'exec-approvals.json');
  fs.writeFileSync(file, '{"version":1,', { mode: 0o600 });
  t.throws(() => ensureApprovals(file, '/x'), { code: 'ERR_APPROVALS_MALFORMED' });
  t.equal(fs.readFileSync(file, 'utf8'), '{"version":1,');
  fs.writeFileSync(file, '{"version":2}');
  t.throws(() => readApprovals(file), { code: 'ERR_APPROVALS_MALFORMED' });
  fs.writeFileSync(file, '{"version":1,"defaults":{"security":"yolo"}}');
  t.throws(() => readApprovals(file), { code: 'ERR_APPROVALS_MALFORMED' });
  fs.writeFileSync(file, '{"version":1}');
  fs.chmodSync(file, 0o644);
  t.throws(() => ensureApprovals(file, '/x'), { code: 'ERR_APPROVALS_PERMISSIONS' });
  t.equal(fs.statSync(file).mode & 0o777, 0o644, 'mode not silently changed');
  fs.chmodSync(file, 0o600);
  fs.chownSync(file, 65534, 65534);
  t.throws(() => ensureApprovals(file, '/x'), { code: 'ERR_APPROVALS_OWNER' });
  fs.rmSync(file);
  const target = path.join(dir, 'elsewhere.json');
  fs.writeFileSync(target, '{"version":1}', { mode: 0o600 });
  fs.symlinkSync(target, file);
  t.throws(() => ensureApprovals(file, '/x'), { code: 'ERR_APPROVALS_SYMLINK' });
  t.equal(fs.readFileSync(target, 'utf8'), '{"version":1}', 'symlink target untouched');
  fs.rmSync(file);
  // A sparse file over the cap: refused from its size, never read into memory.
  fs.writeFileSync(file, '{"version":1}', { mode: 0o600 });
  fs.truncateSync(file, MAX_APPROVALS_FILE_BYTES + 1);
  t.throws(() => readApprovals(file), { code: 'ERR_APPROVALS_TOO_LARGE' });
  t.equal(fs.statSync(file).size, MAX_APPROVALS_FILE_BYTES + 1, 'left as it was');
});
