// Issue 7 item 4: the enforced shell-wrapper script runs exactly what was checked. Segments are checked by
// canonical path; the script must name that canonical path, not the path as written, or an earlier
// allowlisted segment (`ln -sfn`) re-points a symlink that a later segment then runs — no race needed.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import type { ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import { evaluateSystemRun } from '../../lib/exec-host/policy.js';
import { createSystemRunService } from '../../lib/node-host/system-run.js';
import { startHost, tmpRoot, writePolicy } from '../helpers/exec-host.js';

const SEARCH = '/usr/bin:/bin';
const LN = fs.realpathSync('/usr/bin/ln');

/** A tool dir with `good` (allowlisted, prints "good") reached through the symlink `bin/tool`, and `evil`. */
function fixture(root: string): { link: string; good: string; evil: string; canary: string; script: string } {
  const canary = path.join(root, 'canary');
  fs.mkdirSync(path.join(root, 'real'));
  fs.mkdirSync(path.join(root, 'bin'));
  const good = path.join(root, 'real', 'good');
  const evil = path.join(root, 'real', 'evil');
  fs.writeFileSync(good, '#!/bin/sh\necho good\n', { mode: 0o755 });
  fs.writeFileSync(evil, `#!/bin/sh\ntouch ${canary}\necho evil\n`, { mode: 0o755 });
  const link = path.join(root, 'bin', 'tool');
  fs.symlinkSync(good, link);
  return { link, good, evil, canary, script: `ln -sfn ${evil} ${link} && ${link}` };
}

function policy(good: string): (d: ApprovalsFile) => void {
  return (d) => {
    d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
    d.agents = { main: { allowlist: [{ pattern: LN }, { pattern: good }] } };
  };
}

t.test('the enforced script names the checked canonical paths', async (t) => {
  const root = tmpRoot(t, 'ocipc-enf-');
  const { good, script } = fixture(root);
  const file: ApprovalsFile = { version: 1 };
  policy(good)(file);
  const e = evaluateSystemRun({ command: ['/bin/sh', '-lc', script] }, file, {
    searchPath: SEARCH,
    baseEnv: { PATH: SEARCH },
  });
  t.equal(e.outcome, 'allow');
  t.match(
    e.plan?.argv[2],
    new RegExp(`^'${LN}' '-sfn' '.*' '.*' && '${good}'$`),
    'the second segment is the checked file',
  );
});

t.test('a symlink re-pointed by an earlier segment does not change what a later segment runs', async (t) => {
  const root = tmpRoot(t, 'ocipc-enfe-');
  const { link, good, evil, canary, script } = fixture(root);
  const { host, token } = await startHost(t, { policy: policy(good), evaluate: { baseEnv: { PATH: SEARCH } } });
  const reply = await execViaSocket(
    { command: ['/bin/sh', '-lc', script], rawCommand: script },
    {
      socketPath: host.socketPath,
      token,
    },
  );
  t.match(reply, { ok: true, payload: { exitCode: 0, stdout: 'good\n' } }, 'the checked program ran');
  t.equal(fs.readlinkSync(link), evil, 'the symlink was really re-pointed inside the script');
  t.notOk(fs.existsSync(canary), 'and the program it now points to did not run');

  // The node host's local runner executes the same enforced script.
  fs.rmSync(link);
  fs.symlinkSync(good, link);
  const stateDir = path.join(root, 'state-node');
  writePolicy(stateDir, policy(good));
  const service = createSystemRunService({ stateDir, mode: 'local', emitEvent: () => undefined });
  const local = await service.run({ command: ['/bin/sh', '-lc', script] }, { invokeId: 'n1' });
  t.match(local, { exitCode: 0, stdout: 'good\n' });
  t.equal(fs.readlinkSync(link), evil);
  t.notOk(fs.existsSync(canary), 'nor through the node host local runner');
});
