// socketPeerGone (native/posix/socket-state.cc): a client that half-closes after its request is still
// there; one that closed its end completely is gone. Real Unix sockets, real peer in another process too.
import t from 'tap';
import { spawn } from 'node:child_process';
import net from 'node:net';

import { socketPeerGone } from '../../lib/native/socket-state.js';
import { listenUnix, nextConnection } from '../helpers/native.js';

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

t.test('connected, half-closed, then gone (same process)', async (t) => {
  const s = await listenUnix(false, true);
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const client = net.connect(s.sockPath);
  const conn = await accepted;
  conn.on('data', () => {});
  conn.on('error', () => {});
  t.teardown(() => conn.destroy());
  t.equal(socketPeerGone(conn), false, 'a connected peer is there');
  const ended = new Promise((r) => conn.once('end', r));
  client.end('request\n');
  await ended;
  t.equal(socketPeerGone(conn), false, 'a half-close (end after the request) is not gone: it waits for the answer');
  client.destroy();
  t.ok(await until(() => socketPeerGone(conn) === true), 'a full close is gone');
});

t.test('a peer process that exits is gone', async (t) => {
  const s = await listenUnix(false, true);
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const peer = spawn(
    process.execPath,
    [
      '-e',
      `const c=require('net').connect(${JSON.stringify(s.sockPath)});c.on('connect',()=>c.end('x\\n'));setInterval(()=>{},1000)`,
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => peer.kill('SIGKILL'));
  const conn = await accepted;
  conn.on('data', () => {});
  conn.on('error', () => {});
  t.teardown(() => conn.destroy());
  await new Promise((r) => conn.once('end', r));
  t.equal(socketPeerGone(conn), false, 'half-closed and alive');
  peer.kill('SIGKILL');
  t.ok(await until(() => socketPeerGone(conn) === true), 'killed peer: gone');
  conn.destroy();
  t.equal(socketPeerGone(conn), true, 'a destroyed socket counts as gone');
});
