// A rotated socket token (a new `socket.token` written to exec-approvals.json) takes effect in a running
// exec host without a restart, for both `exec` (HMAC key) and `request` (plain token); the old one stops working.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import { updateApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket, loadClientConfig, requestApprovalViaSocket } from '../../lib/exec-host/client.js';
import { newSocketToken } from '../../lib/exec-host/hmac.js';
import type { Approver } from '../../lib/exec-host/prompts.js';
import { startHost } from '../helpers/exec-host.js';

const alwaysAllowOnce: Approver = { name: 'test', isAvailable: () => true, ask: async () => 'allow-once' };

t.test('token rotation without restart', async (t) => {
  const { host, token: oldToken } = await startHost(t, { approver: alwaysAllowOnce });
  const stateDir = host.stateDir;
  const socketPath = host.socketPath;
  const hmacError = { code: 'INVALID_REQUEST', message: 'invalid auth', reason: 'hmac' };

  const before = await execViaSocket({ command: ['/bin/echo', 'before'] }, { socketPath, token: oldToken });
  t.equal(before.ok, true, 'old token works before rotation');
  t.equal(
    await requestApprovalViaSocket({ command: 'echo x' }, { socketPath, token: oldToken }),
    'allow-once',
    'request with the old token reaches the approver',
  );

  const newToken = newSocketToken();
  updateApprovals(host.approvalsFile, (d) => {
    d.socket!.token = newToken;
  });

  const stale = await execViaSocket({ command: ['/bin/echo', 'stale'] }, { socketPath, token: oldToken });
  t.same(stale.ok ? stale : stale.error, hmacError, 'exec signed with the old token is refused after rotation');
  t.equal(
    await requestApprovalViaSocket({ command: 'echo x' }, { socketPath, token: oldToken }),
    'deny',
    'request with the old token is denied',
  );

  const config = loadClientConfig(stateDir);
  t.equal(config.token, newToken, 'clients read the new token from the file');
  const fresh = await execViaSocket({ command: ['/bin/echo', 'after'] }, config);
  t.same(fresh.ok ? fresh.payload.stdout : fresh.error, 'after\n', 'exec with the new token runs');
  t.equal(
    await requestApprovalViaSocket({ command: 'echo x' }, config),
    'allow-once',
    'request with the new token reaches the approver',
  );

  // A file that loses its token never leaves the host with an empty or missing one: the last token stays.
  updateApprovals(host.approvalsFile, (d) => {
    delete d.socket!.token;
  });
  const kept = await execViaSocket({ command: ['/bin/echo', 'kept'] }, { socketPath, token: newToken });
  t.equal(kept.ok, true, 'last token kept when the file has none');
  const empty = await execViaSocket({ command: ['/bin/echo', 'empty'] }, { socketPath, token: '' });
  t.same(empty.ok ? empty : empty.error, hmacError, 'an empty token is never accepted');

  const audit = fs
    .readFileSync(host.auditFile!, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string });
  t.equal(audit.filter((r) => r.event === 'token-rotated').length, 1, 'one rotation audited');
  t.notOk(fs.readFileSync(host.auditFile!, 'utf8').includes(newToken), 'the token itself is not in the audit log');
  t.equal(path.dirname(host.approvalsFile), stateDir);
});
