// A host started without an audit log identifies peers without a pinned process handle: it still
// checks the kernel uid and serves our own uid.
import t from 'tap';

import { execViaSocket } from '../../lib/exec-host/client.js';
import { startHost } from '../helpers/exec-host.js';

t.test('auditLog: false still serves (and checks) our uid', async (t) => {
  const { host, token } = await startHost(t, { auditLog: false });
  t.equal(host.auditFile, undefined, 'no audit file');
  const opts = { socketPath: host.socketPath, token };
  for (let i = 0; i < 3; i++) {
    const reply = await execViaSocket({ command: ['echo', `n${i}`] }, opts);
    t.match(
      reply,
      { type: 'exec-res', ok: true, payload: { exitCode: 0, success: true, stdout: `n${i}\n` } },
      `run ${i}`,
    );
  }
  t.equal(host.stats.rejectedPeers, 0, 'our uid is never rejected');
  t.equal(host.stats.executed, 3);
});
