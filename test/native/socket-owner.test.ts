// inspectSocketFile / inspectServerUid on real files and a real listening socket.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { inspectServerUid, inspectSocketFile } from '../../lib/native/socket-owner.js';

const uid = process.geteuid!();

t.test('socket files', async (t) => {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-so-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 's.sock');
  const server = net.createServer((c) => c.end());
  await new Promise<void>((r) => server.listen(sock, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));

  for (const follow of [false, true]) {
    t.same(inspectSocketFile(sock, uid, { followSymlinks: follow }), { ok: true }, `own socket (follow=${follow})`);
    t.match(inspectSocketFile(path.join(dir, 'nope'), uid, { followSymlinks: follow }), {
      ok: false,
      problem: 'missing',
      error: { code: 'ENOENT' },
    });
    t.match(inspectSocketFile(sock, uid + 1, { followSymlinks: follow }), { ok: false, problem: 'owner', uid });
  }
  const plain = path.join(dir, 'plain');
  fs.writeFileSync(plain, '');
  t.same(inspectSocketFile(plain, uid, { followSymlinks: false }), {
    ok: false,
    problem: 'not-socket',
    symlink: false,
  });

  const link = path.join(dir, 'link.sock');
  fs.symlinkSync(sock, link);
  t.same(
    inspectSocketFile(link, uid, { followSymlinks: false }),
    { ok: false, problem: 'not-socket', symlink: true },
    'symlink refused when not following',
  );
  t.same(
    inspectSocketFile(link, uid, { followSymlinks: true }),
    { ok: true },
    'symlink to our socket accepted when following',
  );
  const dangling = path.join(dir, 'dangling.sock');
  fs.symlinkSync(path.join(dir, 'gone'), dangling);
  t.match(inspectSocketFile(dangling, uid, { followSymlinks: true }), { ok: false, problem: 'missing' });

  if (uid === 0) {
    const foreignTarget = path.join(dir, 'foreign-target');
    fs.writeFileSync(foreignTarget, '');
    fs.chownSync(foreignTarget, 65534, 65534);
    const toForeign = path.join(dir, 'to-foreign');
    fs.symlinkSync(foreignTarget, toForeign);
    t.same(
      inspectSocketFile(toForeign, uid, { followSymlinks: true }),
      { ok: false, problem: 'owner', uid: 65534 },
      'our link to a foreign target refused',
    );
    fs.lchownSync(link, 65534, 65534);
    t.same(
      inspectSocketFile(link, uid, { followSymlinks: true }),
      { ok: false, problem: 'owner', uid: 65534 },
      'a foreign link to our socket refused',
    );
  }

  const client = net.connect(sock);
  await new Promise<void>((r) => client.once('connect', () => r()));
  t.same(inspectServerUid(client, uid), { ok: true }, 'server runs as us');
  t.same(
    inspectServerUid(client, uid + 1),
    { ok: false, problem: 'uid', uid },
    'wrong expected uid reported with the real one',
  );
  client.destroy();
  const unconnected = new net.Socket();
  t.match(
    inspectServerUid(unconnected, uid),
    { ok: false, problem: 'unverifiable' },
    'no fd: unverifiable, not a throw',
  );
});
