// Issue 7 items 3 and 5. A directory glob covers only programs known not to run others (the exec-free
// catalogue, checked on the file: root-installed, no exec-capable imports); every stock wrapper that can
// start a shell — the ones nobody listed included — is a miss, as argv[0] and inside an analysed `sh -lc`.
// And only a trusted system shell is analysed as a wrapper: a file named `sh` is an ordinary program.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import type { ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import { evaluateSystemRun, type EvaluateOptions } from '../../lib/exec-host/policy.js';
import { createSystemRunService } from '../../lib/node-host/system-run.js';
import { startHost, tmpRoot, writePolicy } from '../helpers/exec-host.js';

const SEARCH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const OPTS: EvaluateOptions = { searchPath: SEARCH, baseEnv: { PATH: SEARCH, HOME: '/root' } };
const GLOBS = ['/usr/bin/*', '/usr/sbin/*', '/bin/*', '/sbin/*', '/usr/**'];

function globPolicy(d: ApprovalsFile): void {
  d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
  d.agents = { main: { allowlist: GLOBS.map((pattern) => ({ pattern })) } };
}

const onPath = (name: string): boolean => SEARCH.split(':').some((dir) => fs.existsSync(path.join(dir, name)));

/** Stock programs that run `/bin/sh -c <script>` given these arguments (each verified to run on Debian 12). */
function wrappers(script: string, dir: string): string[][] {
  const sh = ['/bin/sh', '-c', script];
  return [
    ['setpriv', ...sh],
    ['runuser', '-u', 'root', '--', ...sh],
    ['chroot', '/', ...sh],
    ['unshare', ...sh],
    ['stdbuf', '-o0', ...sh],
    ['ionice', '-c3', ...sh],
    ['chrt', '-o', '0', ...sh],
    ['taskset', '-c', '0', ...sh],
    ['script', '-qc', script, '/dev/null'],
    ['dbus-run-session', '--', ...sh],
    ['flock', path.join(dir, 'lock'), ...sh],
    ['run-parts', path.join(dir, 'parts')],
    ['setarch', 'x86_64', ...sh],
    ['linux64', ...sh],
    ['prlimit', '--nofile=1024', ...sh],
    ['capsh', '--', '-c', script],
    ['xargs', ...sh],
    ['timeout', '5', ...sh],
    ['nice', ...sh],
    ['env', ...sh],
    ['/usr/bin/ld.so', ...sh],
    ['strace', '-o', '/dev/null', ...sh],
    ['gdb', '-batch', '-ex', `shell ${script}`],
    ['perl', '-e', `system(q{${script}})`],
    ['awk', `BEGIN{system("${script}")}`],
    ['python3', '-c', `import os; os.system(${JSON.stringify(script)})`],
    ['vim', '-es', '-c', `!${script}`, '-c', 'q'],
    ['sqlite3', ':memory:', `.shell ${script}`],
    ['make', '-f', '/dev/null', `--eval=x:;${script}`, 'x'],
    ['find', '/dev/null', '-exec', ...sh, ';'],
  ].filter((argv) => argv[0].startsWith('/') || onPath(argv[0]));
}

/** Single-quotes a word for a POSIX shell. */
const q = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

t.test('policy: under directory globs every wrapper is a miss, as argv[0] and as a script segment', async (t) => {
  const root = tmpRoot(t, 'ocipc-glob-');
  const file: ApprovalsFile = { version: 1 };
  globPolicy(file);
  const list = wrappers(`touch ${path.join(root, 'canary')}`, root);
  t.ok(list.length >= 20, `${list.length} wrappers present on this machine`);
  for (const argv of list) {
    const direct = evaluateSystemRun({ command: argv }, file, OPTS);
    t.equal(direct.outcome, 'deny', `${argv[0]} denied`);
    t.match(direct.miss, { code: /^(EXEC_CAPABLE_NEEDS_EXACT_ENTRY|GLOB_NEEDS_EXEC_FREE|OPTION_NOT_ALLOWED)$/ });
    const wrapped = evaluateSystemRun({ command: ['/bin/sh', '-lc', argv.map(q).join(' ')] }, file, OPTS);
    t.equal(wrapped.outcome, 'deny', `sh -lc "${argv[0]} …" denied`);
    t.equal(wrapped.shell?.analysable, true, 'the script itself was understood');
  }
  for (const argv of [
    ['ls', '-la', '/'],
    ['cat', '/etc/hostname'],
    ['grep', '-c', 'x', '/etc/hostname'],
    ['tar', '-tf', '/dev/null'],
  ])
    t.equal(
      evaluateSystemRun({ command: argv }, file, OPTS).outcome,
      'allow',
      `control: ${argv.join(' ')} under the glob`,
    );
  t.equal(
    evaluateSystemRun({ command: ['/bin/sh', '-lc', 'ls -la / | wc -l && echo done'] }, file, OPTS).outcome,
    'allow',
    'control: an analysed script of exec-free programs',
  );
});

t.test('a program is judged by what it is, not by its name', async (t) => {
  const root = tmpRoot(t, 'ocipc-globid-');
  const bin = path.join(root, 'bin');
  fs.mkdirSync(bin);
  const file: ApprovalsFile = {
    version: 1,
    defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
    agents: { main: { allowlist: [{ pattern: `${bin}/*` }] } },
  };
  const canary = path.join(root, 'canary');
  // A real ls, root-installed: exec-free.
  fs.copyFileSync('/usr/bin/ls', path.join(bin, 'ls'));
  fs.chmodSync(path.join(bin, 'ls'), 0o755);
  t.equal(evaluateSystemRun({ command: [path.join(bin, 'ls'), root] }, file, OPTS).outcome, 'allow', 'control');
  // bash under the name ls: it imports execve.
  fs.copyFileSync('/usr/bin/bash', path.join(bin, 'cat'));
  fs.chmodSync(path.join(bin, 'cat'), 0o755);
  t.match(evaluateSystemRun({ command: [path.join(bin, 'cat'), '-c', `touch ${canary}`] }, file, OPTS), {
    outcome: 'deny',
    miss: { code: 'GLOB_NEEDS_EXEC_FREE', text: /execve/ },
  });
  // A script named like an exec-free program.
  fs.writeFileSync(path.join(bin, 'echo'), `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
  t.match(evaluateSystemRun({ command: [path.join(bin, 'echo')] }, file, OPTS), {
    outcome: 'deny',
    miss: { code: 'GLOB_NEEDS_EXEC_FREE', text: /not a dynamically linked ELF/ },
  });
  // A real ls that another user (the agent) could replace.
  fs.copyFileSync('/usr/bin/ls', path.join(bin, 'head'));
  fs.chownSync(path.join(bin, 'head'), 65534, 65534);
  t.match(evaluateSystemRun({ command: [path.join(bin, 'head')] }, file, OPTS), {
    outcome: 'deny',
    miss: { code: 'GLOB_NEEDS_EXEC_FREE', text: /not installed by root/ },
  });
  // A symlink under the glob to a wrapper elsewhere is judged as the wrapper.
  fs.symlinkSync('/usr/bin/setpriv', path.join(bin, 'wc'));
  t.equal(evaluateSystemRun({ command: [path.join(bin, 'wc'), '/bin/sh'] }, file, OPTS).outcome, 'deny');
});

t.test('through a real exec host: no wrapper runs a shell under /usr/bin/* and friends', async (t) => {
  const root = tmpRoot(t, 'ocipc-globe-');
  const canary = path.join(root, 'canary');
  fs.mkdirSync(path.join(root, 'parts'));
  fs.writeFileSync(path.join(root, 'parts', 'a'), `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
  const { host, token } = await startHost(t, { policy: globPolicy, evaluate: OPTS });
  const opts = { socketPath: host.socketPath, token };
  for (const argv of wrappers(`touch ${canary}`, root)) {
    const direct = await execViaSocket({ command: argv, cwd: root }, opts);
    t.match(direct, { ok: false, error: { reason: 'allowlist-miss' } }, `${argv[0]}: denied`);
    const script = argv.map(q).join(' ');
    const wrapped = await execViaSocket({ command: ['/bin/sh', '-lc', script], rawCommand: script, cwd: root }, opts);
    t.match(wrapped, { ok: false, error: { reason: 'allowlist-miss' } }, `sh -lc "${argv[0]} …": denied`);
    t.notOk(fs.existsSync(canary), `${argv[0]}: nothing ran`);
  }
  const control = await execViaSocket({ command: ['/bin/sh', '-lc', `ls ${root} | wc -l`] }, opts);
  t.match(control, { ok: true, payload: { stdout: '1\n' } }, 'control: exec-free programs under the glob run');
});

t.test('only a trusted system shell is analysed: a file named sh is an ordinary program', async (t) => {
  const root = tmpRoot(t, 'ocipc-fakesh-');
  const canary = path.join(root, 'canary');
  fs.writeFileSync(path.join(root, 'sh'), `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
  fs.copyFileSync('/usr/bin/dash', path.join(root, 'bash'));
  fs.chmodSync(path.join(root, 'bash'), 0o755);
  const policy = (d: ApprovalsFile): void => {
    d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
    d.agents = { main: { allowlist: [{ pattern: '/usr/bin/echo' }] } };
  };
  const file: ApprovalsFile = { version: 1 };
  policy(file);
  for (const argv of [
    ['./sh', '-c', 'echo hi'],
    [path.join(root, 'sh'), '-lc', 'echo hi'],
    ['./bash', '-c', 'echo hi'],
  ]) {
    const e = evaluateSystemRun({ command: argv, cwd: root }, file, OPTS);
    t.equal(e.outcome, 'deny', `${argv[0]} denied`);
    t.equal(e.shell, undefined, `${argv[0]} was not analysed as a shell wrapper`);
  }
  const real = evaluateSystemRun({ command: ['/bin/sh', '-c', 'echo hi'], cwd: root }, file, OPTS);
  t.equal(real.outcome, 'allow', 'control: the system shell is analysed');

  const { host, token } = await startHost(t, { policy, evaluate: OPTS });
  const reply = await execViaSocket(
    { command: ['./sh', '-c', 'echo hi'], cwd: root },
    { socketPath: host.socketPath, token },
  );
  t.match(reply, { ok: false, error: { reason: 'allowlist-miss' } });
  t.notOk(fs.existsSync(canary), 'the agent-written "sh" never ran');

  const stateDir = path.join(root, 'state');
  writePolicy(stateDir, policy);
  const service = createSystemRunService({ stateDir, mode: 'local', emitEvent: () => undefined });
  await t.rejects(service.run({ command: ['./sh', '-c', 'echo hi'], cwd: root }, { invokeId: 'n1' }), {
    code: 'SYSTEM_RUN_DENIED',
  });
  t.notOk(fs.existsSync(canary), 'nor through the node host local runner');
});
