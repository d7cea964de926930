// The client's reading of a `decision` reply fails closed: only a known decision for our own id counts.
import net from 'node:net';
import path from 'node:path';

import t from 'tap';

import { requestApprovalViaSocket } from '../../lib/exec-host/client.js';
import { tmpRoot, type Teardown } from '../helpers/exec-host.js';

/** A real socket server (our uid) that answers each `request` line with `answer(id)`. */
async function replyingServer(t: Teardown, answer: (id: string) => unknown): Promise<string> {
  const socketPath = path.join(tmpRoot(t), 's.sock');
  const server = net.createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {
      /* client gone */
    });
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const { id } = JSON.parse(buf.slice(0, nl)) as { id: string };
      socket.end(JSON.stringify(answer(id)) + '\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return socketPath;
}

const token = 'x'.repeat(32);

t.test('a known decision for our id is returned as is', async (t) => {
  const socketPath = await replyingServer(t, (id) => ({ type: 'decision', id, decision: 'allow-always' }));
  t.equal(await requestApprovalViaSocket({ command: 'ls' }, { socketPath, token }), 'allow-always');
});

t.test('an unknown decision string is a deny', async (t) => {
  const socketPath = await replyingServer(t, (id) => ({ type: 'decision', id, decision: 'allow-everything' }));
  t.equal(await requestApprovalViaSocket({ command: 'ls' }, { socketPath, token }), 'deny');
});

t.test('a non-string decision is a deny', async (t) => {
  const socketPath = await replyingServer(t, (id) => ({ type: 'decision', id, decision: ['allow-once'] }));
  t.equal(await requestApprovalViaSocket({ command: 'ls' }, { socketPath, token }), 'deny');
});

t.test('a decision for another id is a deny', async (t) => {
  const socketPath = await replyingServer(t, () => ({ type: 'decision', id: 'someone-else', decision: 'allow-once' }));
  t.equal(await requestApprovalViaSocket({ command: 'ls' }, { socketPath, token }), 'deny');
});
