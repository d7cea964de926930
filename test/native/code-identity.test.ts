import t from 'tap';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { CodeSignError, codeIdentity, isValidTeamId, teamRequirement, verifyTeamId } from '../../lib/index.js';
import { compilePeerHelper, exited, firstLine, listenUnix, nextConnection, spawnNodePeer } from '../helpers/native.js';

const nodePath = fs.realpathSync(process.execPath);
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const nodeSha = sha256(nodePath);
function tmpDir(): string {
  return process.env.TMPDIR ?? '/tmp';
}

t.test('a node peer: executable, sha256, unsigned on Linux', async (t) => {
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const child = spawnNodePeer(s.sockPath);
  const conn = await accepted;
  t.equal(await firstLine(conn), 'ready');
  const id = await codeIdentity(conn);
  t.same(id, {
    platform: 'linux',
    executable: nodePath,
    signed: false,
    valid: false,
    teamId: null,
    signingId: null,
    sha256: nodeSha,
    pid: child.pid,
    reason: 'unsupported-platform',
  });
  t.same(await verifyTeamId(conn, ['ABCDE12345']), { ok: false, reason: 'unsupported-platform' }, 'fails closed');
  conn.destroy();
  await exited(child);
});

// Not t.testdir(): a peer helper built here is run for every subtest, from a short path outside the checkout.
const helperDir = fs.mkdtempSync(path.join(tmpDir(), 'ocipc-cc-'));
t.teardown(() => fs.rmSync(helperDir, { recursive: true, force: true }));
const compiledHelper = compilePeerHelper(helperDir);

t.test('a compiled C peer is reported as itself', { skip: !compiledHelper && 'no C compiler on PATH' }, async (t) => {
  const helper = compiledHelper!;
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const child = spawn(helper, [s.sockPath], { stdio: 'ignore' });
  const conn = await accepted;
  t.equal(await firstLine(conn), 'ready');
  const id = await codeIdentity(conn);
  t.equal(id.executable, fs.realpathSync(helper));
  t.equal(id.sha256, sha256(helper));
  t.equal(id.pid, child.pid);
  const byPid = await codeIdentity({ pid: child.pid! });
  t.equal(byPid.executable, fs.realpathSync(helper));
  t.equal(byPid.sha256, id.sha256);
  conn.destroy();
  t.equal(await exited(child), 0);
});

t.test('after the peer exits, identity lookups reject instead of describing a reused pid', async (t) => {
  const s = await listenUnix(false, true);
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const child = spawnNodePeer(s.sockPath);
  const conn = await accepted;
  t.equal(await firstLine(conn), 'ready');
  // allowHalfOpen: Node keeps our end (and its fd) open after the peer dies.
  child.kill('SIGKILL');
  await exited(child);
  await t.rejects(codeIdentity(conn), { code: 'ERR_CODESIGN_PROCESS_EXITED', name: 'CodeSignError' });
  await t.rejects(codeIdentity({ pid: child.pid! }), CodeSignError, 'by pid: gone (ESRCH) once reaped');
  conn.destroy();
});

t.test('by pid and by path', async (t) => {
  const self = await codeIdentity({ pid: process.pid });
  t.equal(self.executable, nodePath);
  t.equal(self.sha256, nodeSha);
  t.equal(self.pid, process.pid);
  const file = await codeIdentity({ path: process.execPath });
  t.equal(file.executable, nodePath);
  t.equal(file.sha256, nodeSha);
  t.equal(file.pid, undefined);
  t.equal(file.signed, false);
  t.equal(file.reason, 'unsupported-platform');
  t.same(await verifyTeamId({ path: process.execPath }, ['ABCDE12345', 'ZZZZZ99999']), {
    ok: false,
    reason: 'unsupported-platform',
  });
  t.same(await verifyTeamId({ pid: process.pid }, ['ABCDE12345'], { signingId: 'ai.openclaw.mac' }), {
    ok: false,
    reason: 'unsupported-platform',
  });

  // SHA-256 of known content, to check the native implementation against multi-block edge sizes.
  const dir = t.testdir();
  for (const size of [0, 1, 55, 56, 63, 64, 65, 65536 + 7]) {
    const f = path.join(dir, `f${size}`);
    fs.writeFileSync(f, crypto.randomBytes(size));
    t.equal((await codeIdentity({ path: f })).sha256, sha256(f), `sha256 of ${size} bytes`);
  }
  // The digest cache must never serve a stale hash: rewrite in place with same-size content.
  const f = path.join(dir, 'rewritten');
  fs.writeFileSync(f, Buffer.alloc(4096, 1));
  t.equal((await codeIdentity({ path: f })).sha256, sha256(f));
  t.equal((await codeIdentity({ path: f })).sha256, sha256(f), 'second lookup (cached) agrees');
  const fd = fs.openSync(f, 'r+');
  fs.writeSync(fd, Buffer.alloc(4096, 2), 0, 4096, 0);
  fs.closeSync(fd);
  t.equal((await codeIdentity({ path: f })).sha256, sha256(f), 'rewritten in place: new digest');
  await t.rejects(codeIdentity({ path: path.join(dir, 'missing') }), { code: 'ENOENT', name: 'CodeSignError' });
  await t.rejects(codeIdentity({ path: dir }), { code: 'EISDIR' }, 'directories are not hashed');
  await t.rejects(codeIdentity({ path: '/dev/zero' }), { code: 'EINVAL' }, 'devices are not hashed (would never end)');
  await t.rejects(codeIdentity({ pid: 0x7ffffff0 }), { code: 'ERR_CODESIGN_PROCESS_EXITED' });
});

t.test('argument validation happens in TypeScript', async (t) => {
  t.equal(isValidTeamId('ABCDE12345'), true);
  for (const bad of ['abcde12345', 'ABCDE1234', 'ABCDE123456', 'ABCDE 2345', 'ABCDE"2345', '', 42]) {
    t.equal(isValidTeamId(bad), false, `rejects ${JSON.stringify(bad)}`);
  }
  await t.rejects(verifyTeamId({ pid: process.pid }, ['abc']), TypeError);
  await t.rejects(verifyTeamId({ pid: process.pid }, []), TypeError);
  await t.rejects(verifyTeamId({ pid: process.pid }, ['ABCDE12345'], { signingId: 'x" or true' }), TypeError);
  await t.rejects(codeIdentity({ pid: -4 }), TypeError);
  await t.rejects(codeIdentity({ path: '' }), TypeError);
  await t.rejects(codeIdentity({} as { pid: number }), TypeError);
  await t.rejects(codeIdentity({ fd: 0x7ffffff0 }), { code: 'EBADF' });
});

t.test('the TeamID requirement string macOS checks is built from the allowlist only', async (t) => {
  t.equal(teamRequirement(['ABCDE12345']), 'anchor apple generic and certificate leaf[subject.OU] = "ABCDE12345"');
  t.equal(
    teamRequirement(['ABCDE12345', 'XYZ0123456'], 'ai.openclaw.mac'),
    'identifier "ai.openclaw.mac" and anchor apple generic and (certificate leaf[subject.OU] = "ABCDE12345" or ' +
      'certificate leaf[subject.OU] = "XYZ0123456")',
  );
  t.throws(() => teamRequirement(['ABCDE12345" or anchor apple']), TypeError);
});
