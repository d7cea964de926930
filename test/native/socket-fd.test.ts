// Guards the one private Node field we rely on (net.Socket#_handle.fd). If a Node major moves it, this
// fails loudly instead of every peer check failing with ERR_PEERCRED_NO_FD in production.
import t from 'tap';
import net from 'node:net';
import fs from 'node:fs';

import { socketFd } from '../../lib/native/socket-fd.js';
import { listenUnix, nextConnection } from '../helpers/native.js';

t.test(`net.Socket#_handle.fd exists on Node ${process.version}`, async (t) => {
  const s = await listenUnix();
  t.teardown(() => s.close());
  const accepted = nextConnection(s.server);
  const client = net.connect(s.sockPath);
  const conn = await accepted;
  t.teardown(() => {
    client.destroy();
    conn.destroy();
  });
  const handle = (conn as unknown as { _handle?: { fd?: unknown } })._handle;
  t.ok(handle, 'accepted sockets have a _handle');
  t.type(handle!.fd, 'number', '_handle.fd is a number');
  const fd = socketFd(conn);
  t.ok(fd > 2);
  // It is the real descriptor: /proc/self/fd/<fd> is a socket.
  t.match(fs.readlinkSync(`/proc/self/fd/${fd}`), /^socket:\[\d+\]$/);
});

t.test('raw fds are validated; non-sockets are refused', async (t) => {
  t.equal(socketFd(5), 5);
  t.throws(() => socketFd(-1), TypeError);
  t.throws(() => socketFd(2 ** 31), TypeError);
  t.throws(() => socketFd(Number.NaN), TypeError);
  t.throws(() => socketFd({} as net.Socket), TypeError);
});
