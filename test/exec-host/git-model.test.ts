// Issue 7 item 6, git: an exact /usr/bin/git entry auto-runs only invocations on the positive model
// (global options, built-in sub-command, that sub-command's options), in a repository whose local config
// has only inert keys, with hooks and fsmonitor forced off. Real git, real repositories, real hooks.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import type { ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import { GIT_FORCED_CONFIG, GIT_SUBCOMMAND_TABLES } from '../../lib/exec-host/git-model.js';
import { configFileRefusal, parseGitConfig } from '../../lib/exec-host/git-repo-config.js';
import { evaluateSystemRun, type EvaluateOptions } from '../../lib/exec-host/policy.js';
import { createSystemRunService } from '../../lib/node-host/system-run.js';
import { startHost, tmpRoot, writePolicy } from '../helpers/exec-host.js';

const GIT = fs.realpathSync('/usr/bin/git');
const SEARCH = '/usr/bin:/bin';

function gitPolicy(d: ApprovalsFile): void {
  d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
  d.agents = { main: { allowlist: [{ pattern: GIT }, { pattern: '/usr/bin/*' }] } };
}

/** A repository with two commits, set up directly (not through the policy); HOME is empty (no global config). */
function makeRepo(root: string): { repo: string; home: string; git: (...args: string[]) => string } {
  const repo = path.join(root, 'repo');
  const home = path.join(root, 'home');
  fs.mkdirSync(repo);
  fs.mkdirSync(home);
  const env = { PATH: SEARCH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
  const git = (...args: string[]): string => {
    const out = spawnSync(GIT, ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      env,
      encoding: 'utf8',
    });
    if (out.status !== 0) throw new Error(`git ${args.join(' ')}: ${out.stderr}`);
    return out.stdout;
  };
  git('init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'f.txt'), 'one\n');
  git('add', 'f.txt');
  git('commit', '-q', '-m', 'one');
  fs.writeFileSync(path.join(repo, 'f.txt'), 'two\n');
  git('commit', '-q', '-am', 'two');
  // The repository's identity lives in its own config (inert keys): commits through the policy need it.
  git('config', 'user.name', 'agent');
  git('config', 'user.email', 'agent@example.com');
  return { repo, home, git };
}

t.test('policy: the positive model', async (t) => {
  const root = tmpRoot(t, 'ocipc-gitm-');
  const { repo, home } = makeRepo(root);
  const file: ApprovalsFile = { version: 1 };
  gitPolicy(file);
  const opts: EvaluateOptions = { searchPath: SEARCH, baseEnv: { PATH: SEARCH, HOME: home } };
  const judge = (...args: string[]) => evaluateSystemRun({ command: ['git', ...args], cwd: repo }, file, opts);
  for (const args of [
    ['status'],
    ['status', '--porcelain=v2', '-b'],
    ['log', '--oneline', '-5'],
    ['log', '-n', '3', '--stat', '--format=%H %s', '--', 'f.txt'],
    ['show', 'HEAD~1', '--name-only'],
    ['diff', '--cached', '--stat'],
    ['-C', repo, 'rev-parse', '--show-toplevel'],
    ['--no-pager', 'branch', '-a', '-v'],
    ['ls-files', '-z'],
    ['grep', '-n', 'two'],
    ['blame', '-L', '1,1', 'f.txt'],
    ['add', '-A'],
    ['commit', '-am', 'msg'],
    ['commit', '--amen', '--no-edit'],
    ['checkout', '-b', 'topic'],
    ['stash', 'list'],
    ['stash', 'push', '-m', 'wip'],
    ['remote', '-v'],
    ['tag', '-l'],
    ['fetch', '--prune', 'origin'],
    ['push', '-u', 'origin', 'main'],
    ['version'],
  ]) {
    const e = judge(...args);
    t.equal(e.outcome, 'allow', `allowed: git ${args.join(' ')}`);
    t.same(e.plan?.argv.slice(0, 5), ['git', ...GIT_FORCED_CONFIG], 'runs with hooks and fsmonitor forced off');
  }
  for (const args of [
    ['-c', 'core.pager=id', 'log'],
    ['-ccore.pager=id', 'log'],
    ['--config-env=core.pager=X', 'log'],
    ['--exec-path=/tmp', 'status'],
    ['--git-dir=/tmp/x', 'status'],
    ['-p', 'log'],
    ['--paginate', 'log'],
    ['st'],
    ['frobnicate'],
    ['help', 'log'],
    ['submodule', 'foreach', 'id'],
    ['bisect', 'run', 'id'],
    ['filter-branch', '--tree-filter', 'id'],
    ['config', 'core.pager', 'id'],
    ['grep', '--open-files-in-pager=id', 'x'],
    ['grep', '-Oid', 'x'],
    ['grep', '--open=id', 'x'],
    ['log', '--ext-diff', '-p'],
    ['log', '--textconv', '-p'],
    ['log', '--show-signature'],
    ['diff', '--output=/tmp/x'],
    ['rebase', '-x', 'id', 'HEAD~1'],
    ['rebase', '--exec=id', 'HEAD~1'],
    ['rebase', '-i', 'HEAD~1'],
    ['rebase', '--interactive', 'HEAD~1'],
    ['commit'],
    ['commit', '-a'],
    ['commit', '-e', '-m', 'x'],
    ['commit', '--fixup=reword:HEAD', '-m', 'x'],
    ['commit', '-S', '-m', 'x'],
    ['tag', '-a', 'v1'],
    ['add', '-p'],
    ['add', '--interactive'],
    ['clone', '--upload-pack=id', 'x', 'y'],
    ['clone', '-u', 'id', 'x', 'y'],
    ['clone', '--template=/tmp/t', 'x', 'y'],
    ['clone', 'ext::sh -c id', 'y'],
    ['fetch', 'ext::sh -c id'],
    ['fetch', '--upload-pack=id', 'origin'],
    ['push', '--receive-pack=id', 'origin'],
    ['push', '--exec=id', 'origin'],
    ['pull', '--rebase=interactive'],
    ['pull', '-s', 'ours'],
    ['merge', '--strategy=ours', 'x'],
    ['branch', '--edit-description'],
    ['ls-remote', '--upload-pack=id', 'origin'],
    ['archive', '--remote=x', 'HEAD'],
    ['cat-file', '--textconv', 'HEAD:f.txt'],
  ]) {
    const e = judge(...args);
    t.equal(e.outcome, 'deny', `refused: git ${args.join(' ')}`);
    t.match(e.miss, { code: 'OPTION_NOT_ALLOWED' });
  }
  t.match(
    evaluateSystemRun(
      { command: ['git', 'status'], cwd: repo },
      { ...file, agents: { main: { allowlist: [{ pattern: '/usr/bin/*' }] } } },
      opts,
    ).miss,
    { code: 'EXEC_CAPABLE_NEEDS_EXACT_ENTRY' },
    'a glob never covers git',
  );
});

t.test('repository config: only inert keys auto-run', async (t) => {
  const root = tmpRoot(t, 'ocipc-gitc-');
  const { repo, home, git } = makeRepo(root);
  const file: ApprovalsFile = { version: 1 };
  gitPolicy(file);
  const opts: EvaluateOptions = { searchPath: SEARCH, baseEnv: { PATH: SEARCH, HOME: home } };
  const status = () => evaluateSystemRun({ command: ['git', 'status'], cwd: path.join(repo) }, file, opts);
  t.equal(status().outcome, 'allow', 'control: a fresh repository');
  const config = path.join(repo, '.git', 'config');
  const original = fs.readFileSync(config, 'utf8');
  for (const [section, line, key] of [
    ['[core]', 'fsmonitor = touch x', undefined],
    ['[core]', 'pager = touch x', 'core.pager'],
    ['[core]', 'editor = touch x', 'core.editor'],
    ['[core]', 'sshCommand = touch x', 'core.sshcommand'],
    ['[diff]', 'external = touch x', 'diff.external'],
    ['[diff "evil"]', 'textconv = touch x', 'diff.evil.textconv'],
    ['[filter "evil"]', 'clean = touch x', 'filter.evil.clean'],
    ['[credential]', 'helper = !touch x', 'credential.helper'],
    ['[gpg]', 'program = touch x', 'gpg.program'],
    ['[log]', 'showSignature = true', 'log.showsignature'],
    ['[include]', 'path = ../evil.cfg', 'include.path'],
    ['[includeIf "gitdir:/"]', 'path = ../evil.cfg', 'includeif.gitdir:/.path'],
    ['[submodule "x"]', 'update = !touch x', 'submodule.x.update'],
    ['[alias]', 'st = !touch x', undefined],
    ['[protocol "ext"]', 'allow = always', 'protocol.ext.allow'],
    ['[url "ext::sh -c touch% x"]', 'insteadOf = https://', 'url.ext::sh -c touch% x.insteadof'],
    ['[hook "x"]', 'command = touch x', 'hook.x.command'],
  ] as const) {
    fs.writeFileSync(config, `${original}${section}\n\t${line}\n`);
    const e = status();
    if (key === undefined) {
      t.equal(e.outcome, 'allow', `${section} ${line}: neutralised or inert, allowed`);
      continue;
    }
    t.equal(e.outcome, 'deny', `${section} ${line}: a miss`);
    t.ok(e.miss?.text.includes(key), `names ${key}: ${e.miss?.text}`);
  }
  fs.writeFileSync(config, `${original}[core]\n\tpager = "unterminated\n`);
  t.equal(status().outcome, 'deny', 'a config this parser does not understand is a miss');
  fs.writeFileSync(config, original);
  // Linked worktrees read the common config; absorbed submodules are checked too.
  git('worktree', 'add', '-q', path.join(root, 'wt'), '-b', 'wt');
  fs.appendFileSync(config, '[diff]\n\texternal = touch x\n');
  t.equal(
    evaluateSystemRun({ command: ['git', 'status'], cwd: path.join(root, 'wt') }, file, opts).outcome,
    'deny',
    'a linked worktree is judged by the common config',
  );
  fs.writeFileSync(config, original);
  fs.mkdirSync(path.join(repo, '.git', 'modules', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(repo, '.git', 'modules', 'sub', 'HEAD'), 'ref: refs/heads/main\n');
  fs.writeFileSync(
    path.join(repo, '.git', 'modules', 'sub', 'config'),
    '[core]\n\tfsmonitor = x\n[diff]\n\texternal = x\n',
  );
  t.equal(status().outcome, 'deny', "an absorbed submodule's config is checked too");
  // A directory made to look like a bare repository is discovered as git would.
  const bare = path.join(root, 'bare');
  fs.mkdirSync(path.join(bare, 'objects'), { recursive: true });
  fs.writeFileSync(path.join(bare, 'HEAD'), 'ref: refs/heads/main\n');
  fs.writeFileSync(path.join(bare, 'config'), '[core]\n\tpager = x\n');
  t.equal(evaluateSystemRun({ command: ['git', 'log'], cwd: bare }, file, opts).outcome, 'deny');
  t.same(parseGitConfig('[Core]\n\tBare = false # c\n[remote "o"]\n\turl = "a\\"b" ; c\n\tfetch = x \\\n y\n'), [
    { section: 'core', subsection: undefined, key: 'bare', value: 'false' },
    { section: 'remote', subsection: 'o', key: 'url', value: 'a"b' },
    { section: 'remote', subsection: 'o', key: 'fetch', value: 'x  y' },
  ]);
  t.equal(configFileRefusal(path.join(root, 'missing')), undefined, 'no config: nothing to refuse');
});

t.test('real git through the exec host and the node host: the repository cannot make git run a program', async (t) => {
  const root = tmpRoot(t, 'ocipc-gite-');
  const { repo, home, git } = makeRepo(root);
  const canary = path.join(root, 'canary');
  const evaluate: EvaluateOptions = { baseEnv: { PATH: SEARCH, HOME: home } };
  const { host, token } = await startHost(t, { policy: gitPolicy, evaluate });
  const exec = (command: string[]) => execViaSocket({ command, cwd: repo }, { socketPath: host.socketPath, token });
  const stateDir = path.join(root, 'state-node');
  writePolicy(stateDir, gitPolicy);
  const node = createSystemRunService({ stateDir, mode: 'local', emitEvent: () => undefined });

  // A hook: the commit runs, the hook does not.
  fs.writeFileSync(path.join(repo, '.git', 'hooks', 'pre-commit'), `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(repo, 'f.txt'), 'three\n');
  const committed = await exec(['git', 'commit', '-qam', 'three']);
  t.match(committed, { ok: true, payload: { exitCode: 0 } }, 'git commit -m ran');
  t.match(git('log', '-1', '--format=%s'), /^three/);
  t.notOk(fs.existsSync(canary), 'the pre-commit hook did not');
  fs.writeFileSync(path.join(repo, 'f.txt'), 'four\n');
  const local = await node.run({ command: ['git', 'commit', '-qam', 'four'], cwd: repo }, { invokeId: 'n1' });
  t.match(local, { exitCode: 0 }, 'through the node host local runner too');
  t.notOk(fs.existsSync(canary), 'and the hook did not run there either');

  // Variants the former option list missed, each of which runs a program on a stock git.
  const config = path.join(repo, '.git', 'config');
  const original = fs.readFileSync(config, 'utf8');
  const variants: [string, string[], string?][] = [
    ['grep -O', ['git', 'grep', `-Otouch ${canary}`, 'four']],
    ['rebase -x', ['git', 'rebase', '-x', `touch ${canary}`, 'HEAD~1']],
    ['alias', ['git', 'st'], `[alias]\n\tst = !touch ${canary}\n`],
    ['diff.external', ['git', 'diff', 'HEAD~1'], `[diff]\n\texternal = ${path.join(root, 'ext.sh')}\n`],
    ['-p with core.pager', ['git', '-p', 'log', '-1'], `[core]\n\tpager = touch ${canary}\n`],
  ];
  fs.writeFileSync(path.join(root, 'ext.sh'), `#!/bin/sh\ntouch ${canary}\n`, { mode: 0o755 });
  for (const [name, command, extraConfig] of variants) {
    fs.writeFileSync(config, `${original}${extraConfig ?? ''}`);
    const reply = await exec(command);
    t.match(
      reply,
      { ok: false, error: { reason: 'allowlist-miss', message: /OPTION_NOT_ALLOWED/ } },
      `${name}: denied`,
    );
    await t.rejects(node.run({ command, cwd: repo }, { invokeId: name }), { code: 'SYSTEM_RUN_DENIED' });
    t.notOk(fs.existsSync(canary), `${name}: nothing ran`);
  }
  // core.fsmonitor is neutralised rather than refused: the command line outranks the repository.
  fs.writeFileSync(config, `${original}[core]\n\tfsmonitor = touch ${canary}\n`);
  t.match(
    await exec(['git', 'status']),
    { ok: true, payload: { exitCode: 0 } },
    'git status with a repository fsmonitor runs',
  );
  t.match(await node.run({ command: ['git', 'status'], cwd: repo }, { invokeId: 'fsm' }), { exitCode: 0 });
  t.notOk(fs.existsSync(canary), 'without running the fsmonitor command');
  fs.writeFileSync(config, original);
  const wrapped = await execViaSocket(
    { command: ['/bin/sh', '-lc', `git status --short && git grep -O'touch ${canary}' four`], cwd: repo },
    { socketPath: host.socketPath, token },
  );
  t.match(wrapped, { ok: false, error: { reason: 'allowlist-miss' } }, 'inside an analysed sh -lc too');
  t.notOk(fs.existsSync(canary));
});

t.test('every safe option of a parse-options sub-command exists in the installed git', async (t) => {
  const revisionStyle = new Set([
    'log',
    'show',
    'diff',
    'whatchanged',
    'rev-list',
    'diff-tree',
    'shortlog',
    'rev-parse',
  ]);
  for (const [sub, table] of Object.entries(GIT_SUBCOMMAND_TABLES)) {
    if (revisionStyle.has(sub) || !table.abbreviations) continue;
    const out = spawnSync(GIT, [sub, '-h'], { encoding: 'utf8' });
    const text = `${out.stdout}${out.stderr}`;
    const known = new Set([...text.matchAll(/--(?:\[no-\])?([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]));
    const negatable = new Set([...text.matchAll(/--\[no-\]([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]));
    const names = Object.keys(table.long ?? {});
    const missing = names.filter(
      (n) => !known.has(n) && !(n.startsWith('no-') && (known.has(n.slice(3)) || negatable.has(n.slice(3)))),
    );
    t.same(missing, [], `git ${sub}: every safe long option is a real one`);
  }
});
