// openclaw-mac end to end: the real bin in a child process, against real files, processes and sockets.
// On Linux every answer must be the honest one (not-applicable / unsupported-platform) with the right
// exit code; on macOS the same commands must answer with the documented shapes.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';

import { exited, runMac, spawnServer, tempDir } from '../helpers/mac.js';

const isLinux = process.platform === 'linux';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const PERMISSIONS = [
  'notifications',
  'screenRecording',
  'microphone',
  'camera',
  'speechRecognition',
  'appleScript',
  'accessibility',
];
const STATUSES = ['granted', 'denied', 'not-determined', 'restricted', 'unknown', 'not-applicable'];
const nodeReal = fs.realpathSync(process.execPath);

t.setTimeout(180_000);

t.test('no command: help on stdout, usage exit code 2; --help exits 0', async (t) => {
  const none = await runMac([]);
  t.equal(none.code, 2);
  for (const cmd of ['permissions', 'identity', 'verify-team', 'peercred'])
    t.match(none.stdout, new RegExp(`^  ${cmd} `, 'm'));
  const help = await runMac(['--help']);
  t.equal(help.code, 0);
  const sub = await runMac(['identity', '--help']);
  t.equal(sub.code, 0);
  t.match(sub.stdout, /^usage: openclaw-mac identity <path\|--pid N>/);
  const unknown = await runMac(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
});

t.test('permissions: every name, text and --json', async (t) => {
  const text = await runMac(['permissions']);
  t.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  t.equal(lines.length, PERMISSIONS.length, 'one line per permission');
  PERMISSIONS.forEach((name, i) => {
    const [first, status] = lines[i].trim().split(/\s+/);
    t.equal(first, name);
    t.ok(STATUSES.includes(status), `${name}: ${status} is in the vocabulary`);
    if (isLinux) t.equal(status, 'not-applicable');
  });

  const json = await runMac(['permissions', 'status', '--json']);
  t.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as {
    platform: string;
    action: string;
    permissions: Record<string, { status: string; reason?: string }>;
  };
  t.equal(doc.platform, process.platform);
  t.equal(doc.action, 'status');
  t.same(Object.keys(doc.permissions), PERMISSIONS);
  for (const name of PERMISSIONS) {
    t.ok(STATUSES.includes(doc.permissions[name].status), `${name} status in vocabulary`);
    if (isLinux) t.same(doc.permissions[name], { status: 'not-applicable', reason: 'unsupported-platform' });
  }
});

t.test('permissions: named subset, request action, appleScript target, validation', async (t) => {
  const sub = await runMac([
    'permissions',
    'status',
    'camera',
    'appleScript',
    'camera',
    '--target',
    'com.apple.Finder',
    '--json',
  ]);
  t.equal(sub.code, 0, sub.stderr);
  const doc = JSON.parse(sub.stdout) as { permissions: Record<string, { status: string }> };
  t.same(Object.keys(doc.permissions), ['camera', 'appleScript'], 'duplicates collapse, order kept');

  if (isLinux) {
    // A request can prompt on macOS, so it is exercised only where it cannot.
    const req = await runMac(['permissions', 'request', 'microphone', '--json']);
    t.equal(req.code, 0, req.stderr);
    const r = JSON.parse(req.stdout) as { action: string; permissions: Record<string, { status: string }> };
    t.equal(r.action, 'request');
    t.equal(r.permissions.microphone.status, 'not-applicable');
  }

  const bogus = await runMac(['permissions', 'status', 'telepathy']);
  t.equal(bogus.code, 2);
  t.match(bogus.stderr, /unknown permission 'telepathy'.*\[ERR_USAGE\]/s);
  const badTarget = await runMac(['permissions', 'appleScript', '--target', 'bad id"']);
  t.equal(badTarget.code, 2, 'an invalid bundle id is a usage error');
  t.match(badTarget.stderr, /invalid targetBundleId/);
  const misplaced = await runMac(['permissions', 'camera', '--target', 'com.apple.Finder']);
  t.equal(misplaced.code, 2);
  const badTimeout = await runMac(['permissions', '--timeout', '0']);
  t.equal(badTimeout.code, 2);
  const badFlag = await runMac(['permissions', '--nope']);
  t.equal(badFlag.code, 2);
});

t.test('identity of a file: executable, signature fields, Linux sha256', async (t) => {
  const dir = tempDir('ocmac-id-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tool');
  fs.copyFileSync(process.execPath, file);
  const res = await runMac(['identity', file, '--json']);
  t.equal(res.code, 0, res.stderr);
  const id = JSON.parse(res.stdout) as Record<string, unknown>;
  t.equal(id.platform, process.platform);
  t.equal(id.executable, file);
  t.type(id.signed, 'boolean');
  t.type(id.valid, 'boolean');
  t.notOk('pid' in id, 'a path has no pid');
  if (isLinux) {
    t.equal(id.signed, false);
    t.equal(id.valid, false);
    t.equal(id.teamId, null);
    t.equal(id.signingId, null);
    t.equal(id.reason, 'unsupported-platform');
    t.equal(
      id.sha256,
      crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
      'sha256 of the real bytes',
    );
  }

  const text = await runMac(['identity', file]);
  t.equal(text.code, 0);
  t.match(text.stdout, new RegExp(`^executable: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  t.match(text.stdout, /^signed: {5}(yes|no)$/m);
  t.match(text.stdout, /^team id: {4}/m);
});

t.test('identity of a live process and of one that exited', async (t) => {
  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => {
    child.kill();
  });
  const res = await runMac(['identity', '--pid', String(child.pid), '--json']);
  t.equal(res.code, 0, res.stderr);
  const id = JSON.parse(res.stdout) as Record<string, unknown>;
  t.equal(id.pid, child.pid);
  if (isLinux) {
    t.equal(id.executable, nodeReal, 'the process executable, through its pidfd');
    t.equal(id.sha256, crypto.createHash('sha256').update(fs.readFileSync(nodeReal)).digest('hex'));
  }
  child.stdin!.end();
  await exited(child);
  const gone = await runMac(['identity', '--pid', String(child.pid)]);
  t.equal(gone.code, 1, 'a process that exited is an error, never a description of something else');
  t.match(gone.stderr, /\[(ERR_CODESIGN_PROCESS_EXITED|ESRCH)\]/);
});

t.test('identity: bad targets are typed errors with exit codes', async (t) => {
  const missing = await runMac(['identity', '/nonexistent/openclaw-mac-test']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /\[ENOENT\]/);
  const both = await runMac(['identity', '/bin/sh', '--pid', '1']);
  t.equal(both.code, 2);
  const badPid = await runMac(['identity', '--pid', '-3']);
  t.equal(badPid.code, 2);
  const none = await runMac(['identity']);
  t.equal(none.code, 2);
});

t.test('verify-team: a refusal is exit 4 with a reason; Linux fails closed', async (t) => {
  const res = await runMac(['verify-team', process.execPath, '--team', 'ABCDE12345', '--team', 'ZYXWV98765', '--json']);
  t.equal(res.code, 4, res.stderr);
  const doc = JSON.parse(res.stdout) as Record<string, unknown>;
  t.equal(doc.ok, false);
  t.equal(doc.platform, process.platform);
  t.same(doc.allowedTeamIds, ['ABCDE12345', 'ZYXWV98765']);
  t.type(doc.reason, 'string');
  if (isLinux) t.equal(doc.reason, 'unsupported-platform');

  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => {
    child.kill();
  });
  const byPid = await runMac([
    'verify-team',
    '--pid',
    String(child.pid),
    '--team',
    'ABCDE12345',
    '--signing-id',
    'org.nodejs.node',
  ]);
  t.equal(byPid.code, 4);
  t.match(byPid.stdout, new RegExp(`^refused: pid ${child.pid}: \\S+`));
  child.stdin!.end();
  await exited(child);

  const noTeam = await runMac(['verify-team', process.execPath]);
  t.equal(noTeam.code, 2);
  t.match(noTeam.stderr, /--team is required/);
  const badTeam = await runMac(['verify-team', process.execPath, '--team', 'abc"def']);
  t.equal(badTeam.code, 2, 'team ids are validated before any requirement is built');
  t.match(badTeam.stderr, /invalid TeamID/);
  const badId = await runMac(['verify-team', process.execPath, '--team', 'ABCDE12345', '--signing-id', 'a b']);
  t.equal(badId.code, 2);
});

t.test('peercred: the server as the client sees it', async (t) => {
  const dir = tempDir('ocmac-pc-');
  const sockPath = path.join(dir, 's.sock');
  const server = net.createServer((c) => c.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  t.teardown(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const res = await runMac(['peercred', '--socket', sockPath, '--json']);
  t.equal(res.code, 0, res.stderr);
  const doc = JSON.parse(res.stdout) as Record<string, unknown>;
  t.equal(doc.socket, sockPath);
  t.equal(doc.pid, process.pid, 'the listening process');
  t.equal(doc.uid, process.getuid!());
  t.equal(doc.gid, process.getgid!());
  t.type(doc.pidReliable, 'boolean');
  if (isLinux && doc.pidReliable) t.equal(doc.executable, nodeReal, 'executable read through the pidfd');
  if (process.platform === 'darwin') t.match(doc.auditToken, /^[0-9a-f]{64}$/);

  const text = await runMac(['peercred', '--socket', sockPath]);
  t.equal(text.code, 0);
  t.match(text.stdout, new RegExp(`^server pid: {3}${process.pid}`, 'm'));
  t.match(text.stdout, new RegExp(`^server uid: {3}${process.getuid!()}$`, 'm'));
});

t.test(
  'peercred: a server running as another uid (65534)',
  { skip: !isRoot && 'needs root to start a second-uid server' },
  async (t) => {
    const dir = tempDir('ocmac-pc2-');
    fs.chmodSync(dir, 0o777);
    const sockPath = path.join(dir, 's.sock');
    const server = await spawnServer(sockPath, { t, uid: 65534 });
    t.teardown(async () => {
      server.stdin!.end();
      await exited(server);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const res = await runMac(['peercred', '--socket', sockPath, '--json']);
    t.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout) as Record<string, unknown>;
    t.equal(doc.uid, 65534);
    t.equal(doc.gid, 65534);
    t.equal(doc.pid, server.pid);
  },
);

t.test('peercred: unusable sockets are typed errors', async (t) => {
  const dir = tempDir('ocmac-pc3-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = await runMac(['peercred', '--socket', path.join(dir, 'none.sock')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /\[ENOENT\]/);
  const plain = path.join(dir, 'file');
  fs.writeFileSync(plain, 'x');
  const notSock = await runMac(['peercred', '--socket', plain]);
  t.equal(notSock.code, 1);
  t.match(notSock.stderr, /\[ECONNREFUSED\]/);
  const noArg = await runMac(['peercred']);
  t.equal(noArg.code, 2);
  const extra = await runMac(['peercred', '--socket', plain, 'extra']);
  t.equal(extra.code, 2);
});

t.test('without a loadable addon: a typed error, and help still works (nothing loads at startup)', async (t) => {
  // node-gyp-build honours <PKG>_PREBUILD; pointing it at nothing makes the addon unloadable.
  const env = { ...process.env, OPENCLAW_IPC_PREBUILD: '/nonexistent/openclaw_ipc.node' };
  const res = await runMac(['permissions', 'status', 'camera'], { env });
  t.equal(res.code, 1);
  t.match(res.stderr, /native addon could not be loaded.*\[ERR_NATIVE_UNAVAILABLE\]/s);
  t.equal(res.stdout, '', 'no partial output');
  const help = await runMac(['--help'], { env });
  t.equal(help.code, 0);
  t.match(help.stdout, /^usage: openclaw-mac/);
});
