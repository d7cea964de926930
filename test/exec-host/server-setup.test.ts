// Filesystem and identity hardening of the exec host and its client: private dirs, socket born 0600,
// no deleting what is not ours, single instance, foreign peers, planted sockets.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { buildExecLine, execViaSocket } from '../../lib/exec-host/client.js';
import { startExecHost } from '../../lib/exec-host/server.js';
import { parseReply, startHost, tmpRoot, writePolicy } from '../helpers/exec-host.js';
import { OTHER_UID as NOBODY, peerNode, spawnNodeAs, stageCli } from '../helpers/other-uid.js';

/** Runs a plain-JS snippet as uid/gid 65534 (staged: any checkout location) and returns its stdout. */
function runAsNobody(
  t: Parameters<typeof spawnNodeAs>[0],
  script: string,
  env: Record<string, string>,
): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawnNodeAs(t, ['-e', script], {
      env: { ...env, PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.on('close', (code) => resolve({ stdout, code }));
  });
}

const CLIENT_SCRIPT = `
const net = require('node:net');
const s = net.connect(process.env.SOCK);
let out = '';
s.on('data', (c) => { out += c; });
s.on('error', (e) => { out += 'ERROR ' + e.code; });
s.on('close', () => { process.stdout.write(out); });
s.on('connect', () => s.end(process.env.LINE));
setTimeout(() => { process.stdout.write(out + 'TIMEOUT'); process.exit(0); }, 30000).unref();
`;

t.test(
  'a peer with another uid gets decision:deny, even with the right token and a loosened socket',
  { skip: process.getuid?.() !== 0 ? 'SKIPPED LOUDLY: needs root to run a second uid' : false },
  async (t) => {
    const root = tmpRoot(t);
    const { host, token } = await startHost(t, { root });
    const canary = path.join(root, 'canary');
    // The attacker scenario of ssh-agent's regression test: loosen dir and socket so only the peer check remains.
    fs.chmodSync(root, 0o711);
    fs.chmodSync(host.stateDir, 0o711);
    fs.chmodSync(host.socketPath, 0o666);
    const rejectedBefore = host.stats.rejectedPeers;
    const { line } = buildExecLine({ command: ['/usr/bin/touch', canary] }, token);
    const { stdout } = await runAsNobody(t, CLIENT_SCRIPT, { SOCK: host.socketPath, LINE: line });
    const reply = parseReply(stdout);
    t.match(reply, { type: 'decision', decision: 'deny' });
    t.match(reply?.id, /^[0-9a-f-]{36}$/, 'a fresh random id, not the request id');
    t.equal(
      Object.keys(reply ?? {})
        .sort()
        .join(','),
      'decision,id,type',
    );
    t.notOk(fs.existsSync(canary), 'nothing ran');
    t.equal(host.stats.rejectedPeers, rejectedBefore + 1);
    const requestLine = `${JSON.stringify({ type: 'request', token, id: 'r1', request: { command: 'id' } })}\n`;
    t.match(parseReply((await runAsNobody(t, CLIENT_SCRIPT, { SOCK: host.socketPath, LINE: requestLine })).stdout), {
      type: 'decision',
      decision: 'deny',
    });
    const audit = fs
      .readFileSync(host.auditFile!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; peer?: { uid: number; pid: number; exe?: string } });
    const rejected = audit.filter((r) => r.event === 'peer-rejected');
    t.equal(rejected.length, 2);
    t.equal(rejected[0].peer?.uid, NOBODY);
    t.ok(rejected[0].peer?.pid && rejected[0].peer.pid > 0, 'peer pid recorded');
    // The node the peer ran (a staged link when this checkout's node is not reachable by other uids).
    t.equal(rejected[0].peer?.exe, fs.realpathSync(peerNode(t)), 'peer executable recorded');
  },
);

t.test('without peer credentials nothing is served (fail closed)', async (t) => {
  const { host, token } = await startHost(t, {
    peerCredentials: () => {
      throw new Error('addon unavailable');
    },
  });
  await t.rejects(execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token }), {
    code: 'ERR_PEER_DENIED',
  });
});

t.test('created under umask 000: state dir 0700, socket 0600, approvals 0600, audit 0600', async (t) => {
  const root = tmpRoot(t);
  const old = process.umask(0);
  let host;
  try {
    host = await startExecHost({ stateDir: path.join(root, 'fresh', 'state') });
  } finally {
    process.umask(old);
  }
  t.teardown(() => host.close());
  t.equal(fs.statSync(host.stateDir).mode & 0o777, 0o700);
  t.equal(fs.lstatSync(host.socketPath).mode & 0o777, 0o600);
  t.ok(fs.lstatSync(host.socketPath).isSocket());
  t.equal(fs.statSync(host.approvalsFile).mode & 0o777, 0o600);
  t.equal(fs.statSync(host.auditFile!).mode & 0o777, 0o600);
  const data = JSON.parse(fs.readFileSync(host.approvalsFile, 'utf8'));
  t.equal(data.socket.path, host.socketPath);
  t.match(data.socket.token, /^[A-Za-z0-9_-]{32}$/);
  t.same(data.defaults ?? {}, {}, 'no policy is invented: built-in deny applies');
  const r = await execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token: data.socket.token });
  t.match(r, {
    ok: false,
    error: { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DISABLED: security=deny', reason: 'security=deny' },
  });
});

t.test('refused state dirs and socket paths, left untouched', async (t) => {
  const root = tmpRoot(t);
  const real = path.join(root, 'real');
  fs.mkdirSync(real, { mode: 0o700 });
  fs.symlinkSync(real, path.join(root, 'link'));
  await t.rejects(
    startExecHost({ stateDir: path.join(root, 'link') }),
    { code: 'ERR_STATE_DIR_SYMLINK' },
    'symlinked state dir',
  );
  t.same(fs.readdirSync(real), [], 'nothing written through the symlink');

  const foreign = path.join(root, 'foreign');
  fs.mkdirSync(foreign, { mode: 0o777 });
  fs.chmodSync(foreign, 0o777);
  fs.chownSync(foreign, NOBODY, NOBODY);
  await t.rejects(startExecHost({ stateDir: foreign }), { code: 'ERR_STATE_DIR_OWNER' }, 'foreign-owned state dir');
  t.equal(fs.statSync(foreign).mode & 0o777, 0o777, "someone else's dir is not chmod-ed");

  for (const kind of ['file', 'dir', 'symlink', 'dangling'] as const) {
    const stateDir = path.join(root, `s-${kind}`);
    writePolicy(stateDir, () => {});
    const sock = path.join(stateDir, 'exec-approvals.sock');
    if (kind === 'file') fs.writeFileSync(sock, 'precious');
    if (kind === 'dir') fs.mkdirSync(sock);
    if (kind === 'symlink') fs.symlinkSync(path.join(root, 'real'), sock);
    if (kind === 'dangling') fs.symlinkSync(path.join(root, 'nowhere.sock'), sock);
    await t.rejects(startExecHost({ stateDir }), { code: 'ERR_SOCKET_PATH_NOT_SOCKET' }, `${kind} at the socket path`);
    const st = fs.lstatSync(sock);
    if (kind === 'file') t.equal(fs.readFileSync(sock, 'utf8'), 'precious', 'regular file left intact');
    if (kind === 'dir') t.ok(st.isDirectory());
    if (kind === 'symlink' || kind === 'dangling') t.ok(st.isSymbolicLink(), 'symlink left in place');
    t.notOk(fs.existsSync(path.join(root, 'nowhere.sock')), 'bind did not follow the symlink');
    t.notOk(fs.existsSync(path.join(stateDir, 'exec-approvals.lock')), 'lock released after the failed start');
  }

  // socket.path in the file naming a symlinked directory
  const stateDir = path.join(root, 's-custom');
  fs.symlinkSync(real, path.join(root, 'sockdir-link'));
  writePolicy(stateDir, (d) => {
    d.socket = { ...d.socket, path: path.join(root, 'sockdir-link', 'x.sock') };
  });
  await t.rejects(startExecHost({ stateDir }), { code: 'ERR_STATE_DIR_SYMLINK' }, 'socket dir is a symlink');
});

t.test('single instance, stale socket after kill -9, live foreign server not stolen', async (t) => {
  const root = tmpRoot(t);
  const stateDir = path.join(root, 'state');
  writePolicy(stateDir, (d) => {
    d.defaults = { security: 'full', ask: 'off' };
  });
  const sock = path.join(stateDir, 'exec-approvals.sock');
  const lock = path.join(stateDir, 'exec-approvals.lock');

  // A crashed exec host: it held the lock file and the socket, then died by SIGKILL.
  const crashed = spawnSync(process.execPath, [
    '-e',
    `
    const fs = require('node:fs'); const net = require('node:net');
    fs.writeFileSync(${JSON.stringify(lock)}, JSON.stringify({ pid: process.pid }), { mode: 0o600 });
    net.createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'));
  `,
  ]);
  t.equal(crashed.signal, 'SIGKILL');
  t.ok(fs.lstatSync(sock).isSocket(), 'stale socket left behind');
  t.ok(fs.existsSync(lock), 'stale lock left behind');

  const first = await startExecHost({ stateDir });
  t.teardown(() => first.close());
  t.pass('restart after kill -9 succeeds');
  const token = JSON.parse(fs.readFileSync(first.approvalsFile, 'utf8')).socket.token as string;
  const inode = fs.lstatSync(sock).ino;

  await t.rejects(
    startExecHost({ stateDir }),
    { code: 'ERR_EXEC_HOST_LOCKED', message: /another exec host \(pid \d+\) is running/ },
    'second instance refused',
  );
  t.equal(fs.lstatSync(sock).ino, inode, 'the live socket was not touched');
  t.equal(
    (await execViaSocket({ command: ['true'] }, { socketPath: sock, token })).ok,
    true,
    'first instance still serves',
  );
  await first.close();
  t.notOk(fs.existsSync(sock), 'close removes the socket');
  t.notOk(fs.existsSync(lock), 'close releases the lock');

  // A live server we do not know about (e.g. OpenClaw.app) at the path: refuse, do not unlink.
  const other = net.createServer();
  await new Promise<void>((r) => other.listen(sock, r));
  t.teardown(() => other.close());
  await t.rejects(startExecHost({ stateDir }), { code: 'ERR_SOCKET_IN_USE' });
  t.ok(fs.lstatSync(sock).isSocket(), 'live socket still there');
});

t.test(
  'client refuses a planted socket before sending anything',
  { skip: process.getuid?.() !== 0 ? 'SKIPPED LOUDLY: needs root to run a second uid' : false },
  async (t) => {
    const root = tmpRoot(t);
    fs.chmodSync(root, 0o755);
    const token = 'T'.repeat(32);
    const opts = (socketPath: string): { socketPath: string; token: string; timeoutMs: number } => ({
      socketPath,
      token,
      timeoutMs: 5000,
    });

    // 1. A symlink to a real socket of ours.
    fs.mkdirSync(path.join(root, 'h'));
    const { host, token: realToken } = await startHost(t, { root: path.join(root, 'h') });
    const link = path.join(root, 'link.sock');
    fs.symlinkSync(host.socketPath, link);
    await t.rejects(execViaSocket({ command: ['true'] }, { ...opts(link), token: realToken }), {
      code: 'ERR_SOCKET_NOT_SOCKET',
    });
    await t.rejects(execViaSocket({ command: ['true'] }, opts(path.join(root, 'missing.sock'))), {
      code: 'ERR_SOCKET_NOT_FOUND',
    });

    // 2. A socket served by uid 65534: first as its own file, then chowned to us (only the peer-uid check remains).
    const plantDir = path.join(root, 'plant');
    fs.mkdirSync(plantDir, { mode: 0o777 });
    fs.chmodSync(plantDir, 0o777);
    const planted = path.join(plantDir, 'evil.sock');
    const received = path.join(plantDir, 'received');
    const attacker = spawnNodeAs(
      t,
      [
        '-e',
        `
    const fs = require('node:fs'); const net = require('node:net');
    const srv = net.createServer((c) => c.on('data', (d) => fs.appendFileSync(${JSON.stringify(received)}, d)));
    srv.listen(${JSON.stringify(planted)}, () => { fs.chmodSync(${JSON.stringify(planted)}, 0o666); process.stdout.write('ready\\n'); });
    setTimeout(() => process.exit(0), 30000);
  `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.teardown(() => attacker.kill('SIGKILL'));
    await new Promise<void>((resolve) => attacker.stdout!.once('data', () => resolve()));
    await t.rejects(execViaSocket({ command: ['true'] }, opts(planted)), { code: 'ERR_SOCKET_OWNER' });
    fs.lchownSync(planted, 0, 0);
    await t.rejects(execViaSocket({ command: ['true'] }, opts(planted)), {
      code: 'ERR_PEER_UID',
      message: /runs as uid 65534/,
    });
    await new Promise((r) => setTimeout(r, 200));
    t.notOk(fs.existsSync(received), 'the planted server never received a byte (no token, no MAC)');
  },
);

t.test(
  'uid policy is MYSELF_ONLY: a host run by uid 65534 refuses root (case 9)',
  { skip: process.getuid?.() !== 0 ? 'SKIPPED LOUDLY: needs root to run a second uid' : false },
  async (t) => {
    const root = tmpRoot(t);
    fs.chmodSync(root, 0o755);
    const stateDir = path.join(root, 'nobody-state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.chownSync(stateDir, NOBODY, NOBODY);
    // The CLI as uid 65534 runs from a staged bundle: the checkout itself may be private (0700).
    const cli = stageCli(t);
    const app = spawnNodeAs(t, [cli.main, 'app', '--no-prompt'], {
      env: { PATH: '/usr/bin:/bin', HOME: root, OPENCLAW_STATE_DIR: stateDir, ...cli.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    t.teardown(() => app.kill('SIGKILL'));
    let err = '';
    const ready = await new Promise<boolean>((resolve) => {
      app.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        if (err.includes('listening on')) resolve(true);
      });
      app.on('exit', () => resolve(false));
    });
    t.ok(ready, `nobody's exec host started ${ready ? '' : err}`);
    const sock = path.join(stateDir, 'exec-approvals.sock');
    t.equal(fs.lstatSync(sock).uid, NOBODY);
    await t.rejects(
      execViaSocket({ command: ['true'] }, { socketPath: sock, token: 'x'.repeat(32) }),
      { code: 'ERR_SOCKET_OWNER' },
      'root client refuses a socket owned by another uid',
    );
    // Root can connect regardless of modes; the host's peer check alone refuses it.
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(sock);
      let out = '';
      s.on('data', (c: Buffer) => {
        out += c.toString();
      });
      s.on('error', () => resolve(out));
      s.on('close', () => resolve(out));
      s.on('connect', () => s.end('{"type":"request","token":"x","id":"r","request":{"command":"id"}}\n'));
    });
    t.match(parseReply(reply), { type: 'decision', decision: 'deny' }, 'uid 0 is not our uid: denied like any other');
    t.not(parseReply(reply)?.id, 'r');
  },
);
