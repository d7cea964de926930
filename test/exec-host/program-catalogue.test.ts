// Issue 7 items 3 and 6: the catalogue is tested on this machine. Every catalogued exec-free program that
// is installed must really be exec-free by the file check (root-installed, dynamically linked, no import
// that starts a program); interpreters hidden under Debian alternatives and versioned names are caught;
// only real system shells are trusted; `approvals allow` says what a new entry really allows.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { allowlistAdvice } from '../../lib/exec-host/allowlist-advice.js';
import { EXEC_IMPORTS, execImports, readElfSummary } from '../../lib/exec-host/elf-imports.js';
import { EXEC_CAPABLE, EXEC_FREE, isExecCapableName, programNames } from '../../lib/exec-host/program-catalogue.js';
import { identifyProgram, isTrustedShell } from '../../lib/exec-host/program-identity.js';
import { readApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import type { ApprovalPrompt, Approver } from '../../lib/exec-host/prompts.js';
import { startHost, tmpRoot } from '../helpers/exec-host.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

const DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];

function which(name: string): string | undefined {
  for (const dir of DIRS) {
    try {
      const real = fs.realpathSync(path.join(dir, name));
      if (fs.statSync(real).isFile()) return real;
    } catch {
      // not here
    }
  }
  return undefined;
}

t.test('every installed exec-free program passes the file check', async (t) => {
  let checked = 0;
  for (const name of EXEC_FREE) {
    const file = which(name);
    if (!file) continue;
    if (path.basename(file) !== name) {
      // An alias of something else on this system (e.g. a symlink to busybox): judged as that.
      t.not(identifyProgram(file).kind, 'exec-free', `${name} -> ${file} is not taken as ${name}`);
      continue;
    }
    checked++;
    const id = identifyProgram(file);
    t.equal(id.kind, 'exec-free', `${name}: ${id.why ?? 'exec-free'}`);
    t.same(
      execImports(readElfSummary(file)),
      [],
      `${name}: no import among ${EXEC_IMPORTS.size} process-starting functions`,
    );
    t.notOk(isExecCapableName(name), `${name} is not also on the exec-capable list`);
  }
  t.ok(checked >= 80, `${checked} catalogued exec-free programs checked on this machine`);
});

t.test('the file check sees what a program can do, whatever its name', async (t) => {
  const withImports = [
    'bash',
    'dash',
    'env',
    'xargs',
    'nice',
    'timeout',
    'sort',
    'tar',
    'find',
    'git',
    'perl',
    'mawk',
    'sed',
    'setpriv',
    'flock',
  ];
  for (const name of withImports) {
    const file = which(name);
    if (!file) continue;
    t.ok(
      (execImports(readElfSummary(file)) ?? ['(not ELF)']).length > 0,
      `${name} imports a process-starting function`,
    );
    t.not(identifyProgram(file).kind, 'exec-free', `${name} is never exec-free`);
  }
  const loader = which('ld.so');
  if (loader) {
    t.equal(readElfSummary(loader)?.dynamic, false, 'ld.so is not dynamically linked (it is the loader)');
    t.equal(identifyProgram(loader).kind, 'exec-capable', 'and is recognised as exec-capable');
  }
  for (const script of ['egrep', 'gunzip', 'zcat', 'which']) {
    const file = which(script);
    if (file && readElfSummary(file) === undefined)
      t.not(identifyProgram(file).kind, 'exec-free', `${script} (a script) is not exec-free`);
  }
});

t.test('interpreters under other names: alternatives, versions, flavours', async (t) => {
  for (const link of [
    'python3',
    'awk',
    'vi',
    'editor',
    'pager',
    'perl',
    'tclsh',
    'psql',
    'view',
    'ex',
    'x-www-browser',
    'nawk',
    'pydoc3',
  ]) {
    const file = which(link);
    if (!file) continue;
    t.equal(identifyProgram(file).kind, 'exec-capable', `${link} -> ${file} is exec-capable`);
  }
  for (const name of [
    'python3.11',
    'python3.12',
    'perl5.36.0',
    'perl5.36-x86_64-linux-gnu',
    'node20',
    'nodejs',
    'ruby3.1',
    'lua5.4',
    'luajit-2.1',
    'tclsh8.6',
    'wish8.6',
    'pwsh',
    'vim.basic',
    'vim.tiny',
    'nvim',
    'gawk-5.2',
    'x86_64-linux-gnu-gcc-12',
    'ld-linux-x86-64.so.2',
    'ld-musl-x86_64.so.1',
    'busybox',
    'psql',
    'sqlite3',
    'mysql',
    'tmux',
    'screen',
    'gdb',
    'make',
    'dpkg',
    'apt-get',
    'systemd-run',
    'PYTHON3.EXE',
  ])
    t.ok(isExecCapableName(name), `${name} (${programNames(name).join(' → ')}) is exec-capable`);
  for (const name of ['ls', 'cat', 'grep', 'r2', 'shred', 'base64', 'sha256sum'])
    t.notOk(isExecCapableName(name), `${name} is not`);
  t.same(
    [...EXEC_FREE].filter((n) => EXEC_CAPABLE.has(n)),
    [],
    'no name is on both lists',
  );
});

t.test('trusted shells: a system shell by canonical path, listed and root-installed', async (t) => {
  for (const shell of ['/bin/sh', '/bin/bash', '/usr/bin/dash'])
    if (fs.existsSync(shell)) t.ok(isTrustedShell(fs.realpathSync(shell)), shell);
  if (fs.existsSync('/usr/bin/tmux'))
    t.notOk(isTrustedShell('/usr/bin/tmux'), '/etc/shells lists tmux, but it is not a shell');
  const root = tmpRoot(t, 'ocipc-shell-');
  fs.copyFileSync('/usr/bin/dash', path.join(root, 'sh'));
  fs.chmodSync(path.join(root, 'sh'), 0o755);
  t.notOk(isTrustedShell(path.join(root, 'sh')), 'a copy of dash named sh elsewhere is not trusted');
});

t.test('approvals allow says what an entry really allows', async (t) => {
  const glob = allowlistAdvice('/usr/bin/*');
  t.match(glob.warnings[0], /covers only programs known not to run other programs/);
  t.ok(glob.suggestions.includes(fs.realpathSync('/usr/bin/ls')), 'ls is covered');
  t.ok(glob.notCovered.includes(fs.realpathSync('/usr/bin/setpriv')), 'setpriv is not');
  t.notOk(glob.suggestions.some((f) => isExecCapableName(path.basename(f)) && !/\/(tar|find|sort|rsync)$/.test(f)));
  t.match(allowlistAdvice('/usr/bin/python3').warnings, [
    /python3\.\d+ can run other programs: this entry allows anything/,
  ]);
  t.match(allowlistAdvice('/usr/bin/git').warnings, [/only invocations whose options are on its positive list/]);
  t.match(allowlistAdvice('/bin/sh').warnings, [/is a shell: allowlisting it allows every script/]);
  t.match(allowlistAdvice('*').warnings, [/allows every command/]);
  t.same(allowlistAdvice('/usr/bin/ls').warnings, [], 'an exec-free program: no warning');

  const root = tmpRoot(t, 'ocipc-advice-');
  const env = { ...process.env, OPENCLAW_STATE_DIR: path.join(root, 'state') };
  const run = (pattern: string) =>
    spawnSync(process.execPath, cliNodeArgs('main', ['approvals', 'allow', pattern]), {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
  const cliGlob = run('/usr/sbin/*');
  t.equal(cliGlob.status, 0);
  t.match(cliGlob.stdout, /warning: a directory glob covers only programs known not to run other programs/);
  const cliPython = run('/usr/bin/perl');
  t.match(cliPython.stdout, /allowed \/usr\/bin\/perl for agent main\nwarning: perl can run other programs/);
});

t.test(
  'Always Allow on a program that runs others: the prompt says what it would allow, the log records it',
  async (t) => {
    const asked: ApprovalPrompt[] = [];
    const approver: Approver = {
      name: 'always',
      isAvailable: () => true,
      ask: async (prompt) => {
        asked.push(prompt);
        return 'allow-always';
      },
    };
    const perl = fs.realpathSync('/usr/bin/perl');
    const { host, token } = await startHost(t, {
      approver,
      evaluate: { baseEnv: { PATH: '/usr/bin:/bin' } },
      policy: (d) => {
        d.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
        d.agents = { main: { allowlist: [] } };
      },
    });
    const reply = await execViaSocket({ command: [perl, '-e', 'print 1'] }, { socketPath: host.socketPath, token });
    t.match(reply, { ok: true, payload: { stdout: '1' } });
    t.match(asked[0]?.notes, [/Always Allow would add .*perl.* can run other programs, so that entry allows anything/]);
    t.same(
      readApprovals(host.approvalsFile)?.agents?.main?.allowlist?.map((e) => e.pattern),
      [perl],
      'added, as upstream',
    );
    const audit = fs.readFileSync(host.auditFile!, 'utf8');
    t.match(audit, new RegExp(`"event":"allowlist-warning".*"pattern":"${perl}"`));
  },
);
