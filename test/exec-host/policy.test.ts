import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import { buildChildEnv, validateEnvOverrides } from '../../lib/exec-host/env.js';
import {
  applyDecision,
  canonicalCommandText,
  evaluateSystemRun,
  globToRegExp,
  rawCommandMatches,
  resolveEffectivePolicy,
} from '../../lib/exec-host/policy.js';

const TRUE = fs.realpathSync('/bin/true');
const SH = fs.realpathSync('/bin/sh');

function allowlistFile(patterns: string[], extra: Partial<ApprovalsFile> = {}): ApprovalsFile {
  return {
    version: 1,
    defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
    agents: { main: { allowlist: patterns.map((pattern) => ({ pattern })) } },
    ...extra,
  };
}

t.test('no policy → fail closed (deny / on-miss / deny)', async (t) => {
  const p = resolveEffectivePolicy(undefined);
  t.match(p, { agentId: 'main', security: 'deny', ask: 'on-miss', askFallback: 'deny' });
  const e = evaluateSystemRun({ command: ['true'] }, undefined);
  t.equal(e.outcome, 'deny');
  t.same(e.denial, { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DISABLED: security=deny', reason: 'security=deny' });
});

t.test('precedence: agents.<id> > agents.* > defaults, per field; allowlist = * then <id>', async (t) => {
  const file: ApprovalsFile = {
    version: 1,
    defaults: { security: 'full', ask: 'always', askFallback: 'full' },
    agents: {
      '*': { ask: 'off', allowlist: [{ pattern: '/a' }] },
      ops: { security: 'allowlist', allowlist: [{ pattern: '/b' }] },
      default: { security: 'deny' },
    },
  };
  t.match(resolveEffectivePolicy(file, 'ops'), { security: 'allowlist', ask: 'off', askFallback: 'full' });
  t.same(
    resolveEffectivePolicy(file, 'ops').allowlist.map((a) => a.entry.pattern),
    ['/a', '/b'],
  );
  t.match(resolveEffectivePolicy(file, 'other'), { security: 'full', ask: 'off' });
  t.match(
    resolveEffectivePolicy(file),
    { agentId: 'main', security: 'deny' },
    'legacy agents.default merges into main',
  );
});

t.test('glob semantics', async (t) => {
  t.ok(globToRegExp('/usr/bin/*')!.test('/usr/bin/git'));
  t.notOk(globToRegExp('/usr/bin/*')!.test('/usr/bin/x/git'), '* does not cross /');
  t.ok(globToRegExp('/usr/**')!.test('/usr/bin/x/git'));
  t.notOk(globToRegExp('/usr/bin/gi?')!.test('/usr/bin/g/t'), '? never matches /');
  t.notOk(globToRegExp('/USR/BIN/GIT')!.test('/usr/bin/git'), 'case-sensitive');
  t.equal(globToRegExp('git'), null, 'bare names are ignored');
  t.ok(globToRegExp('*')!.test('/anything'));
  t.ok(globToRegExp('~/bin/*')!.test(path.join(os.homedir(), 'bin/x')));
  t.notOk(globToRegExp('/usr/bin/a.b')!.test('/usr/bin/aXb'), 'regex metachars are literal');
});

t.test('allowlist hit runs the canonical path and reports the match', async (t) => {
  const e = evaluateSystemRun({ command: ['true'] }, allowlistFile([TRUE]));
  t.equal(e.outcome, 'allow');
  t.equal(e.plan?.file, TRUE);
  t.equal(e.match?.entry.pattern, TRUE);
  const viaAlias = evaluateSystemRun({ command: ['/bin/true'] }, allowlistFile(['/bin/true']));
  t.equal(viaAlias.outcome, 'allow', 'a literal pattern is canonicalised too (/bin → /usr/bin on merged-usr)');
});

t.test('allowlist tricks do not pass', async (t) => {
  const dir = t.testdir();
  const allowed = path.join(dir, 'allowed');
  fs.mkdirSync(allowed);
  // A directory glob covers only exec-free programs: a real copy of `true`, not a script.
  fs.copyFileSync(TRUE, path.join(allowed, 'true'));
  fs.chmodSync(path.join(allowed, 'true'), 0o755);
  fs.writeFileSync(path.join(allowed, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  const evil = path.join(dir, 'evil');
  fs.writeFileSync(evil, '#!/bin/sh\n', { mode: 0o755 });
  const file = allowlistFile([`${allowed}/*`, TRUE]);
  const miss = (command: string[], cwd?: string, env?: Record<string, string>): void => {
    const e = evaluateSystemRun({ command, cwd, env }, file);
    t.equal(e.outcome, 'deny', `${JSON.stringify(command)} denied`);
    t.not(e.plan?.file, TRUE);
  };
  t.equal(
    evaluateSystemRun({ command: [path.join(allowed, 'true')] }, file).outcome,
    'allow',
    'control: the exec-free program under the glob passes',
  );
  t.match(
    evaluateSystemRun({ command: [path.join(allowed, 'tool')] }, file),
    { outcome: 'deny', miss: { code: 'GLOB_NEEDS_EXEC_FREE', subject: 'tool' } },
    'a script under the glob is not covered by it',
  );
  miss([`${allowed}/../evil`]);
  fs.symlinkSync(SH, path.join(allowed, 'sh'));
  miss([path.join(allowed, 'sh'), '-c', 'id']);
  fs.symlinkSync(evil, path.join(allowed, 'innocent'));
  miss([path.join(allowed, 'innocent')]);
  // A bare name is looked up only on the trusted PATH: a hostile cwd or '.' entries never supply it.
  const hostile = path.join(dir, 'cwd');
  fs.mkdirSync(hostile);
  fs.writeFileSync(path.join(hostile, 'true'), '#!/bin/sh\ntouch pwned\n', { mode: 0o755 });
  const bare = evaluateSystemRun({ command: ['true'], cwd: hostile }, file, { searchPath: `.::${path.dirname(TRUE)}` });
  t.equal(bare.plan?.file, TRUE, 'bare `true` with hostile cwd and "." in PATH resolves to the system binary');
  const noSystem = evaluateSystemRun({ command: ['true'], cwd: hostile }, file, {
    searchPath: `.:${hostile.replace(/^\//, '')}`,
  });
  t.equal(noSystem.outcome, 'deny', 'relative PATH entries are ignored');
  t.equal(noSystem.plan?.file, undefined);
  const pathOverride = evaluateSystemRun({ command: ['true'], env: { PATH: hostile } }, file);
  t.match(pathOverride.denial, {
    code: 'INVALID_REQUEST',
    reason: 'invalid',
    message: /environment override rejected \(PATH/,
  });
  miss(['/BIN/TRUE']);
  miss([`${TRUE}/`]);
  miss([TRUE.replace('true', 'tru\u0435')]); // Cyrillic e
  miss(['./evil'], dir);
  // A symlink elsewhere to an allowlisted binary resolves to that same inode: it runs exactly it.
  fs.symlinkSync(TRUE, path.join(dir, 'alias'));
  const alias = evaluateSystemRun({ command: [path.join(dir, 'alias')] }, file);
  t.equal(alias.plan?.file, TRUE, 'symlink to the allowlisted binary executes the allowlisted inode, nothing else');
});

t.test('decisions: ask modes, approvalDecision, askFallback', async (t) => {
  const onMiss: ApprovalsFile = {
    version: 1,
    defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
  };
  const e = evaluateSystemRun({ command: ['true'] }, onMiss);
  t.equal(e.outcome, 'prompt');
  t.same(e.allowedDecisions, ['allow-once', 'allow-always', 'deny']);
  t.match(applyDecision(e, null, { command: ['true'] }).denial, { reason: 'approval-required' }, 'askFallback deny');
  t.equal(applyDecision(e, 'allow-once', { command: ['true'] }).outcome, 'allow');
  t.match(applyDecision(e, 'deny', { command: ['true'] }).denial, {
    message: 'SYSTEM_RUN_DENIED: user denied',
    reason: 'user-denied',
  });
  const full = evaluateSystemRun(
    { command: ['true'] },
    { version: 1, defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'full' } },
  );
  t.equal(applyDecision(full, null, { command: ['true'] }).outcome, 'allow', 'askFallback full runs');
  const always = evaluateSystemRun(
    { command: ['true'] },
    { version: 1, defaults: { security: 'full', ask: 'always' } },
  );
  t.same(always.allowedDecisions, ['allow-once', 'deny'], 'ask=always offers no Always Allow');
  t.match(
    evaluateSystemRun(
      { command: ['true'], approvalDecision: 'deny' },
      { version: 1, defaults: { security: 'full', ask: 'off' } },
    ).denial,
    { reason: 'user-denied' },
  );
  t.equal(evaluateSystemRun({ command: ['true'], approvalDecision: 'allow-once' }, onMiss).outcome, 'allow');
  t.match(
    evaluateSystemRun({ command: ['true'] }, { version: 1, defaults: { security: 'allowlist', ask: 'off' } }).denial,
    { message: 'SYSTEM_RUN_DENIED: allowlist miss', reason: 'allowlist-miss' },
  );
  t.match(
    evaluateSystemRun(
      { command: ['true'], needsScreenRecording: true },
      { version: 1, defaults: { security: 'full', ask: 'off' } },
      { screenRecordingGranted: false },
    ).denial,
    { reason: 'permission:screenRecording' },
  );
});

t.test('request validation and rawCommand', async (t) => {
  const full: ApprovalsFile = { version: 1, defaults: { security: 'full', ask: 'off' } };
  t.match(evaluateSystemRun({ command: [] }, full).denial, {
    code: 'INVALID_REQUEST',
    message: 'command required',
    reason: 'invalid',
  });
  t.match(evaluateSystemRun({ command: ['  '] }, full).denial, { message: 'command required' });
  t.match(evaluateSystemRun({ command: ['echo', 'a\0b'] }, full).denial, { reason: 'invalid' });
  t.match(evaluateSystemRun({ command: ['echo', 'hi'], rawCommand: 'echo bye' }, full).denial, {
    message: /rawCommand does not match command/,
  });
  t.equal(evaluateSystemRun({ command: ['echo', 'hi there'], rawCommand: 'echo "hi there"' }, full).outcome, 'allow');
  t.equal(canonicalCommandText(['a', '', 'b c', 'd"e']), 'a "" "b c" "d\\"e"');
  t.ok(rawCommandMatches(['/bin/sh', '-lc', 'ls | wc'], 'ls | wc'));
  t.notOk(rawCommandMatches(['/bin/sh', '-lc', 'ls | wc'], 'ls'));
  t.match(evaluateSystemRun({ command: ['x'], timeoutMs: -1 } as never, full).denial, { reason: 'invalid' });
});

t.test('env: allowlist base, blocked keys rejected, never the IPC token', async (t) => {
  const base = {
    PATH: '/usr/bin',
    HOME: '/root',
    LD_PRELOAD: '/evil.so',
    NODE_OPTIONS: '--require x',
    OPENCLAW_STATE_DIR: '/s',
    SECRET: 'x',
    LC_ALL: 'C',
  };
  const env = buildChildEnv({ FOO: 'bar' }, base, '/usr/bin:/bin');
  t.same(env, { PATH: '/usr/bin:/bin', HOME: '/root', LC_ALL: 'C', FOO: 'bar' });
  for (const key of [
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'LD_AUDIT',
    'GCONV_PATH',
    'DYLD_INSERT_LIBRARIES',
    'DYLD_LIBRARY_PATH',
    'DYLD_FRAMEWORK_PATH',
    'NODE_OPTIONS',
    'BASH_ENV',
    'ENV',
    'IFS',
    'PATH',
    'PYTHONPATH',
    'PERL5OPT',
    'GIT_SSH_COMMAND',
    'BASH_FUNC_x%%',
    'ld_preload',
    'OPENCLAW_TOKEN',
  ]) {
    t.throws(
      () => validateEnvOverrides({ [key]: 'x' }),
      { code: 'INVALID_REQUEST', message: /^SYSTEM_RUN_DENIED: environment override rejected/ },
      key,
    );
  }
  t.throws(() => validateEnvOverrides({ A: 'x\0y' }), { code: 'INVALID_REQUEST' });
  t.throws(() => validateEnvOverrides({ A: 1 }), { code: 'INVALID_REQUEST' });
  t.throws(() => validateEnvOverrides(['A']), { code: 'INVALID_REQUEST' });
  t.same(validateEnvOverrides(null), {});
});

t.test(
  'option injection on allowlisted tools is a miss: prompted or denied, never silently allowed (case 23)',
  async (t) => {
    const dir = t.testdir();
    for (const tool of ['git', 'find', 'tar', 'rsync'])
      fs.writeFileSync(path.join(dir, tool), '#!/bin/sh\n', { mode: 0o755 });
    // Exact entries: the tools' positive option models apply to them too. cwd: not inside a git repository.
    const tool = (name: string): string => path.join(dir, name);
    const exact = ['git', 'find', 'tar', 'rsync'].map(tool);
    const file = allowlistFile(exact);
    const allowed = [
      [tool('git'), 'status'],
      [tool('git'), '-C', dir, 'log'],
      [tool('find'), '.', '-name', '*.ts'],
      [tool('tar'), '-czf', 'a.tgz', 'src'],
      [tool('rsync'), '-avz', 'a/', 'b/'],
    ];
    for (const command of allowed)
      t.equal(
        evaluateSystemRun({ command, cwd: dir }, file).outcome,
        'allow',
        `control: ${command.slice(1).join(' ')}`,
      );
    const injected = [
      [tool('git'), '-c', 'core.sshCommand=touch /tmp/pwned', 'fetch'],
      [tool('git'), '-ccore.pager=sh', 'log'],
      [tool('git'), '--config-env=core.sshCommand=X', 'fetch'],
      [tool('git'), 'clone', '--upload-pack=touch /tmp/p', 'x'],
      [tool('git'), 'clone', 'ext::sh -c touch% /tmp/p', 'd'],
      [tool('find'), '.', '-exec', 'sh', '-c', 'id', ';'],
      [tool('find'), '.', '-execdir', 'id', '+'],
      [tool('find'), '.', '-fprintf', '/etc/x', 'y'],
      [tool('tar'), '-cf', '/dev/null', '--checkpoint=1', '--checkpoint-action=exec=sh -c id', 'src'],
      [tool('tar'), '--to-command=sh', '-xf', 'a.tar'],
      [tool('tar'), '-xIsh', '-f', 'a'],
      [tool('tar'), '--use-compress-program', 'sh', '-xf', 'a'],
      [tool('rsync'), '-e', 'sh -c id', 'a', 'b:'],
      [tool('rsync'), '-avze', 'sh', 'a', 'b:'],
      [tool('rsync'), '--rsh=sh', 'a', 'b:'],
      [tool('rsync'), '--rsync-path=sh -c id', 'a', 'b:'],
    ];
    for (const command of injected) {
      const e = evaluateSystemRun({ command, cwd: dir }, file);
      t.equal(e.outcome, 'deny', `${command.slice(1).join(' ')} denied with ask=off`);
      t.match(e.denial, { reason: 'allowlist-miss', message: /OPTION_NOT_ALLOWED/ });
      t.equal(e.match, undefined);
      const asked = evaluateSystemRun(
        { command, cwd: dir },
        allowlistFile(exact, { defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'allowlist' } }),
      );
      t.equal(asked.outcome, 'prompt', 'with ask=on-miss a human decides');
      t.equal(
        applyDecision(asked, null, { command }).outcome,
        'deny',
        'and askFallback=allowlist does not run it on a timeout',
      );
    }
    t.equal(
      evaluateSystemRun({ command: injected[0] }, { version: 1, defaults: { security: 'full', ask: 'off' } }).outcome,
      'allow',
      'security=full is unaffected',
    );
  },
);

t.test('a hard-link copy of an allowlisted binary outside the allowlist is a miss (case 25)', async (t) => {
  const dir = t.testdir();
  fs.mkdirSync(path.join(dir, 'allowed'));
  const tool = path.join(dir, 'allowed', 'true');
  fs.copyFileSync(TRUE, tool);
  fs.chmodSync(tool, 0o755);
  const copy = path.join(dir, 'copy');
  fs.linkSync(tool, copy);
  t.equal(fs.statSync(copy).ino, fs.statSync(tool).ino, 'same inode');
  const file = allowlistFile([`${dir}/allowed/*`]);
  t.equal(evaluateSystemRun({ command: [tool] }, file).outcome, 'allow', 'control');
  const e = evaluateSystemRun({ command: [copy] }, file);
  t.equal(e.outcome, 'deny', 'the hard link is judged by its own path');
  t.equal(e.plan?.file, copy, 'and never rewritten to the allowlisted path');
});
