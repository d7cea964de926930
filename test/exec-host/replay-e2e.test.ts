// End to end: a signed exec line accepted by one exec host is refused by the
// next host started on the same state dir, within the TTL.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import { buildExecLine } from '../../lib/exec-host/client.js';
import { startExecHost } from '../../lib/exec-host/server.js';
import { REPLAY_JOURNAL_FILE_NAME } from '../../lib/exec-host/replay-cache.js';
import { parseReply, rawExchange, startHost } from '../helpers/exec-host.js';

t.test('a captured exec line is refused after the exec host restarts', async (t) => {
  const { host, token, root } = await startHost(t);
  const canary = path.join(root, 'ran');
  const { line } = buildExecLine({ command: ['/usr/bin/touch', canary] }, token);
  t.match(parseReply((await rawExchange(host.socketPath, line)).text), { ok: true });
  t.ok(fs.existsSync(canary));
  fs.rmSync(canary);
  await host.close();
  const again = await startExecHost({ stateDir: host.stateDir });
  t.teardown(() => again.close());
  const reply = parseReply((await rawExchange(again.socketPath, line)).text);
  t.same(reply?.error, { code: 'INVALID_REQUEST', message: 'expired request', reason: 'ttl' });
  t.notOk(fs.existsSync(canary), 'the replay did not run');
  t.equal(again.stats.replays, 1);
  const fresh = buildExecLine({ command: ['/usr/bin/touch', canary] }, token);
  t.match(parseReply((await rawExchange(again.socketPath, fresh.line)).text), { ok: true }, 'a new line runs');
});

t.test('a corrupt journal: the host starts, refuses for one window, audits why', async (t) => {
  const { host, token } = await startHost(t);
  await host.close();
  fs.writeFileSync(path.join(host.stateDir, REPLAY_JOURNAL_FILE_NAME), 'garbage\n');
  const again = await startExecHost({ stateDir: host.stateDir });
  t.teardown(() => again.close());
  const { line } = buildExecLine({ command: ['true'] }, token);
  const reply = parseReply((await rawExchange(again.socketPath, line)).text);
  t.equal(reply?.ok, false);
  const audit = fs.readFileSync(path.join(host.stateDir, 'exec-approvals.audit.jsonl'), 'utf8');
  t.match(audit, /"event":"replay-journal","state":"corrupt"/);
  t.match(audit, /"reason":"replay-unverifiable"/);
});

t.test('a symlink at the journal path: the host refuses to start, typed', async (t) => {
  const { host } = await startHost(t);
  await host.close();
  const journal = path.join(host.stateDir, REPLAY_JOURNAL_FILE_NAME);
  fs.rmSync(journal);
  fs.symlinkSync('/etc/passwd', journal);
  await t.rejects(startExecHost({ stateDir: host.stateDir }), { code: 'ERR_REPLAY_JOURNAL_SYMLINK' });
  fs.rmSync(journal);
  const again = await startExecHost({ stateDir: host.stateDir });
  t.ok(again, 'the lock was released by the failed start');
  await again.close();
});
