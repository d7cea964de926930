import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

import { PeerCredError, codeIdentity, openPeerProcess, peerCredentials, peerUid } from '../../lib/index.js';
import { getBinding } from '../../lib/native/binding.js';
import { PeerProcess } from '../../lib/native/peer.js';
import { exited, firstLine, listenUnix, nextConnection, spawnNodePeer, type SocketDir } from '../helpers/native.js';

t.test('listening socket, same process: our own pid/uid/gid, pid pinned by a pidfd', async (t) => {
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const client = net.connect(s.sockPath);
  const conn = await accepted;
  t.teardown(() => {
    client.destroy();
    conn.destroy();
  });
  t.equal(peerUid(conn), process.getuid!());
  const cred = peerCredentials(conn);
  t.equal(cred.pid, process.pid);
  t.equal(cred.uid, process.getuid!());
  t.equal(cred.gid, process.getgid!());
  t.equal(cred.pidReliable, true, 'kernel 6.5+ gives SO_PEERPIDFD');
  // The client side sees the server's credentials as well (both are us).
  await new Promise<void>((resolve) => (client.connecting ? client.once('connect', resolve) : resolve()));
  t.equal(peerCredentials(client).pid, process.pid);
});

t.test('socketpair (libuv stdio pipe): reports the process that created the pair', async (t) => {
  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const cred = peerCredentials(child.stdout as net.Socket);
  // SO_PEERCRED of a socketpair is the creator's credentials, not the child's.
  t.equal(cred.pid, process.pid);
  t.equal(cred.uid, process.getuid!());
  t.equal(cred.gid, process.getgid!());
  child.stdin!.end();
  await exited(child);
});

t.test('listening socket across processes: the child node process', async (t) => {
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const child = spawnNodePeer(s.sockPath);
  const conn = await accepted;
  t.teardown(() => conn.destroy());
  t.equal(await firstLine(conn), 'ready');
  const cred = peerCredentials(conn);
  t.equal(cred.pid, child.pid);
  t.equal(cred.uid, process.getuid!());
  t.equal(cred.gid, process.getgid!());
  t.equal(peerUid(conn), process.getuid!());
  const peer = openPeerProcess(conn);
  t.equal(peer.pid, child.pid);
  t.equal(peer.isAlive(), true);
  t.equal(peer.executable(), fs.realpathSync(process.execPath));
  peer.close();
  peer.close(); // idempotent
  t.throws(() => peer.isAlive(), { code: 'ERR_PEERCRED_CLOSED' });
  conn.destroy();
  t.equal(await exited(child), 0);
});

t.test(
  'a peer running as uid/gid 65534 reports that uid/gid',
  { skip: process.getuid!() !== 0 && 'needs root to spawn as 65534' },
  async (t) => {
    const s = await listenUnix(true);
    t.teardown(() => s.close());
    const accepted = nextConnection(s.server);
    const child = spawnNodePeer(s.sockPath, { t, uid: 65534 });
    const conn = await accepted;
    t.teardown(() => conn.destroy());
    t.equal(await firstLine(conn), 'ready');
    t.equal(peerUid(conn), 65534);
    const cred = peerCredentials(conn);
    t.same({ pid: cred.pid, uid: cred.uid, gid: cred.gid }, { pid: child.pid, uid: 65534, gid: 65534 });
    conn.destroy();
    t.equal(await exited(child), 0);
  },
);

t.test('the pidfd pins the peer: after it exits, lookups say so instead of trusting the pid', async (t) => {
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const child = spawnNodePeer(s.sockPath);
  const conn = await accepted;
  t.equal(await firstLine(conn), 'ready');
  const peer = openPeerProcess(conn);
  t.teardown(() => peer.close());
  t.equal(peer.isAlive(), true);
  const closed = new Promise((resolve) => conn.once('close', resolve));
  conn.destroy(); // the child exits when its socket closes
  await closed;
  t.equal(await exited(child), 0);
  t.equal(peer.isAlive(), false, 'pidfd reports the exit');
  t.throws(() => peer.executable(), { code: 'ERR_PEERCRED_PROCESS_EXITED', name: 'PeerCredError' });
  // Even with the pid now free (and possibly reused), the handle never describes another process.
  t.equal(peer.pid, child.pid);
});

t.test('fds that are closed, not sockets, or not Unix sockets give typed errors', async (t) => {
  const file = fs.openSync(process.execPath, 'r');
  t.throws(() => peerUid(file), { code: 'ENOTSOCK', name: 'PeerCredError' });
  t.throws(() => peerCredentials(file), { code: 'ENOTSOCK', name: 'PeerCredError' });
  t.throws(() => openPeerProcess(file), { code: 'ENOTSOCK' });
  fs.closeSync(file);

  t.throws(() => peerUid(0x7ffffff0), { code: 'EBADF', name: 'PeerCredError' }, 'an fd that is not open');
  const closedFd = fs.openSync(process.execPath, 'r');
  fs.closeSync(closedFd);
  t.throws(() => peerCredentials(closedFd), { code: 'EBADF' }, 'a closed fd');

  t.throws(() => peerUid(-1), TypeError);
  t.throws(() => peerUid(1.5), TypeError);
  t.throws(() => peerUid('3' as unknown as number), TypeError);

  const tcp = net.createServer();
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const accepted = nextConnection(tcp);
  const client = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
  const conn = await accepted;
  t.throws(() => peerUid(conn), { code: 'EAFNOSUPPORT', name: 'PeerCredError' }, 'TCP is not a Unix socket');
  t.throws(() => peerCredentials(conn), { code: 'EAFNOSUPPORT' });
  client.destroy();
  conn.destroy();
  tcp.close();

  const s = await listenUnix();
  t.teardown(() => s.close());
  const acceptedUnix = nextConnection(s.server);
  const unixClient = net.connect(s.sockPath);
  const unixConn = await acceptedUnix;
  unixConn.destroy();
  unixClient.destroy();
  t.throws(() => peerUid(unixConn), { code: 'ERR_PEERCRED_NO_FD' }, 'a destroyed socket');
  t.throws(() => peerCredentials(unixConn), PeerCredError);
});

const canForcePid = (() => {
  try {
    fs.accessSync('/proc/sys/kernel/ns_last_pid', fs.constants.W_OK);
    return process.getuid!() === 0;
  } catch {
    return false;
  }
})();

interface Recycled {
  conn: net.Socket;
  peer: PeerProcess;
  pid: number;
  impostor: ChildProcess;
}

/**
 * Connects a peer, pins it by pidfd, kills it, and gets its pid handed to a fresh /bin/sleep. Every pid
 * allocation on the box races us between the ns_last_pid write and the fork, and whoever wins keeps the
 * pid (a thread of another test's process can hold it for minutes): then start over with a new peer.
 */
async function recyclePeerPid(s: SocketDir, released: Array<() => void>): Promise<Recycled | undefined> {
  for (let round = 0; round < 20; round++) {
    const accepted = nextConnection(s.server);
    const child = spawnNodePeer(s.sockPath);
    const conn = await accepted;
    released.push(() => conn.destroy());
    if ((await firstLine(conn)) !== 'ready') continue;
    const peer = openPeerProcess(conn);
    released.push(() => peer.close());
    const pid = peer.pid!;
    child.kill('SIGKILL');
    await exited(child);
    for (let attempt = 0; attempt < 50; attempt++) {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const candidate = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
      if (candidate.pid === pid) return { conn, peer, pid, impostor: candidate };
      candidate.kill('SIGKILL');
      await exited(candidate);
      if (fs.existsSync(`/proc/${pid}`)) break; // taken by another process: this pid is lost to us
    }
  }
  return undefined;
}

t.test(
  "a recycled pid is never described: the peer's pid is handed to an impostor",
  { skip: !canForcePid && 'needs root and a writable /proc/sys/kernel/ns_last_pid to force pid reuse' },
  async (t) => {
    const s = await listenUnix(false, true);
    t.teardown(() => s.close());
    const released: Array<() => void> = [];
    t.teardown(() => {
      for (const release of released) release();
    });
    const recycled = await recyclePeerPid(s, released);
    t.ok(recycled, 'a connected peer was killed and its pid handed to /bin/sleep (20 peers, 50 attempts each)');
    if (!recycled) return;
    const { conn, peer, pid, impostor } = recycled;
    t.teardown(() => impostor.kill('SIGKILL'));
    t.match(fs.readlinkSync(`/proc/${pid}/exe`), /sleep$/, 'a pid-based lookup would now describe /bin/sleep');
    t.equal(peer.isAlive(), false, 'the pidfd still refers to the dead peer');
    t.throws(() => peer.executable(), { code: 'ERR_PEERCRED_PROCESS_EXITED' });
    await t.rejects(codeIdentity(conn), { code: 'ERR_CODESIGN_PROCESS_EXITED' }, 'socket identity is pinned too');
    const byPid = await codeIdentity({ pid });
    t.match(byPid.executable, /sleep$/, 'a bare pid is (correctly) the impostor: pids are not identities');
  },
);

t.test('no descriptor leaks: peerCredentials, PeerProcess.close, codeIdentity, errors', async (t) => {
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const client = net.connect(s.sockPath);
  const conn = await accepted;
  t.teardown(() => {
    client.destroy();
    conn.destroy();
  });
  const openFds = () => fs.readdirSync('/proc/self/fd').length;
  const before = openFds();
  for (let i = 0; i < 500; i++) peerCredentials(conn);
  for (let i = 0; i < 500; i++) openPeerProcess(conn).close();
  for (let i = 0; i < 20; i++) await codeIdentity(conn);
  const file = fs.openSync(process.execPath, 'r');
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    try {
      openPeerProcess(file).close();
    } catch (err) {
      if ((err as PeerCredError).code === 'ENOTSOCK') refused++;
    }
  }
  t.equal(refused, 100, 'a non-socket fd is refused every time');
  fs.closeSync(file);
  t.equal(openFds(), before, 'same number of open fds afterwards');
});

// macOS handles hold the audit token (no pidfds there); on Linux the token calls are a typed ENOSYS and
// a handle never silently falls back to a bare pid.
t.test(
  'audit-token process handles: typed ENOSYS on Linux, token shape checked, never a bare-pid fallback',
  async (t) => {
    const binding = getBinding();
    const token = new Uint8Array(32);
    token.set(
      new Uint8Array(new Uint32Array([0, process.getuid!(), process.getgid!(), 0, 0, process.pid, 0, 1]).buffer),
    );
    if (process.platform === 'linux') {
      t.throws(() => binding.tokenAlive(token), { code: 'ENOSYS', name: 'PeerCredError' });
      t.throws(() => binding.tokenExecutable(token), { code: 'ENOSYS', name: 'PeerCredError' });
      // A handle that has only a token (what macOS produces) goes through the token path, not the pid.
      const handle = new PeerProcess(
        { pid: process.pid, uid: 0, gid: 0, pidReliable: true, auditToken: Buffer.from(token) },
        -1,
      );
      t.throws(() => handle.isAlive(), { code: 'ENOSYS' }, 'isAlive asks the kernel about the token');
      t.throws(() => handle.executable(), { code: 'ENOSYS' }, 'executable asks the kernel about the token');
      handle.close();
      t.throws(() => handle.isAlive(), { code: 'ERR_PEERCRED_CLOSED' });
      // Neither a pidfd nor a token: refused, whatever the pid says.
      const bare = new PeerProcess({ pid: process.pid, uid: 0, gid: 0, pidReliable: false }, -1);
      t.throws(() => bare.isAlive(), { code: 'ERR_PEERCRED_NO_PIDFD' });
      t.throws(() => bare.executable(), { code: 'ERR_PEERCRED_NO_PIDFD' });
    }
    for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint16Array(16), Buffer.alloc(0)]) {
      t.throws(
        () => binding.tokenAlive(bad as Uint8Array),
        TypeError,
        `${bad.constructor.name}(${bad.length}) refused`,
      );
      t.throws(() => binding.tokenExecutable(bad as Uint8Array), TypeError);
    }
    t.throws(() => (binding.tokenAlive as (x: unknown) => boolean)(undefined), TypeError);
  },
);
