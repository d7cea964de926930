import t from 'tap';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

import { peerCredentials, peerUid } from '../../lib/index.js';

t.test('listening socket reports our own pid/uid/gid', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sockPath = path.join(dir, 's.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(sockPath);
  const conn = await accepted;
  t.equal(peerUid(conn), process.getuid!());
  const cred = peerCredentials(conn);
  t.equal(cred.pid, process.pid);
  t.equal(cred.gid, process.getgid!());
  client.destroy();
  conn.destroy();
  server.close();
});
