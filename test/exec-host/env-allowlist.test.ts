// Issue 7 item 1: request environment overrides are an allowlist. A variable off the list is an allowlist
// miss that names the variable (ask=on-miss: a human sees it and decides; ask=off: denied), never run
// silently and never dropped silently. The child's inherited environment is a strict allowlist too.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import type { ApprovalsFile } from '../../lib/exec-host/exec-approvals-file.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import { INHERITED_ENV_KEYS, OVERRIDE_ALLOWLIST } from '../../lib/exec-host/env.js';
import { evaluateSystemRun } from '../../lib/exec-host/policy.js';
import { promptText, type ApprovalPrompt, type Approver } from '../../lib/exec-host/prompts.js';
import { createSystemRunService } from '../../lib/node-host/system-run.js';
import { startHost, tmpRoot, writePolicy } from '../helpers/exec-host.js';

const TAR = fs.realpathSync('/usr/bin/tar');
const ENV = fs.realpathSync('/usr/bin/env');
const SEARCH = '/usr/bin:/bin';

function onlyTar(ask: 'off' | 'on-miss' = 'off'): (d: ApprovalsFile) => void {
  return (d) => {
    d.defaults = { security: 'allowlist', ask, askFallback: 'deny' };
    d.agents = { main: { allowlist: [{ pattern: TAR }, { pattern: ENV }] } };
  };
}

/** A tar invocation that, with TAR_OPTIONS carrying a checkpoint action, runs `touch <canary>`. */
function tarWithOptions(root: string, canary: string): { command: string[]; env: Record<string, string> } {
  const src = path.join(root, 'src');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'f'), 'x'.repeat(20_000));
  return {
    command: [TAR, '-cf', '/dev/null', '-C', root, 'src'],
    env: { TAR_OPTIONS: `--checkpoint=1 --checkpoint-action=exec=touch\\ ${canary}` },
  };
}

t.test('policy: only allowlisted variables with the expected value shape pass', async (t) => {
  const file: ApprovalsFile = {
    version: 1,
    defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
    agents: { main: { allowlist: [{ pattern: TAR }] } },
  };
  const run = (env: Record<string, string>) => evaluateSystemRun({ command: [TAR, '--version'], env }, file);
  for (const env of [
    { LANG: 'C.UTF-8' } as Record<string, string>,
    { LC_ALL: 'en_US.UTF-8', LANGUAGE: 'en_US:en' },
    { TERM: 'xterm-256color', COLORTERM: 'truecolor', COLUMNS: '120', LINES: '40' },
    { NO_COLOR: '1', FORCE_COLOR: '0', CLICOLOR: '1', CLICOLOR_FORCE: '1' },
    { TZ: 'Europe/Berlin' },
    { TZ: 'UTC0' },
  ])
    t.equal(run(env).outcome, 'allow', `${JSON.stringify(env)} passes`);
  // Variables tools read options or helper commands from, and anything else: a miss naming the variable.
  for (const key of [
    'TAR_OPTIONS',
    'GZIP',
    'XZ_OPT',
    'ZSTD_CLEVEL',
    'PAGER',
    'MANPAGER',
    'LESSOPEN',
    'EDITOR',
    'VISUAL',
    'GIT_PAGER',
    'GIT_EDITOR',
    'GIT_DIR',
    'GIT_EXTERNAL_DIFF',
    'RSYNC_RSH',
    'SSH_ASKPASS',
    'HOME',
    'XDG_CONFIG_HOME',
    'TMPDIR',
    'SHELL',
    'PYTHONWARNINGS',
    'PERL5DB',
    'AWKPATH',
    'FOO',
  ]) {
    const e = run({ [key]: 'x' });
    t.equal(e.outcome, 'deny', `${key} denied (ask=off)`);
    t.match(e.miss, { code: 'ENV_NOT_ALLOWLISTED', subject: key });
    t.equal(e.denial?.reason, 'allowlist-miss');
    t.ok(e.denial?.message.includes(key), `${key}: the denial names the variable`);
  }
  // Allowlisted names with a value that could name a file: a miss too.
  for (const env of [
    { LANG: '/tmp/evil' } as Record<string, string>,
    { TERM: '../../x' },
    { TZ: '/etc/passwd' },
    { TZ: ':../../x' },
    { COLUMNS: '1e9' },
  ]) {
    const e = run(env);
    t.equal(e.outcome, 'deny', `${JSON.stringify(env)} denied`);
    t.match(e.miss, { code: 'ENV_NOT_ALLOWLISTED', text: /value/ });
  }
  // Loader and interpreter keys stay a hard INVALID_REQUEST (upstream wording), whatever the policy.
  t.match(run({ LD_PRELOAD: '/x.so' }).denial, { code: 'INVALID_REQUEST', message: /environment override rejected/ });
  t.equal(
    evaluateSystemRun(
      { command: [TAR, '--version'], env: { FOO: 'x' } },
      { version: 1, defaults: { security: 'full', ask: 'off' } },
    ).outcome,
    'allow',
    'security=full runs whatever it is given (no allowlist to miss)',
  );
  t.ok(OVERRIDE_ALLOWLIST.size >= 20 && OVERRIDE_ALLOWLIST.size < 30, 'the allowlist stays small');
});

t.test('through a real exec host: TAR_OPTIONS does not turn an allowlisted tar into "run anything"', async (t) => {
  const root = tmpRoot(t, 'ocipc-envw-');
  const canary = path.join(root, 'canary');
  const { host, token } = await startHost(t, { policy: onlyTar('off'), evaluate: { baseEnv: { PATH: SEARCH } } });
  const request = tarWithOptions(root, canary);
  const reply = await execViaSocket(request, { socketPath: host.socketPath, token });
  t.notOk(fs.existsSync(canary), 'the checkpoint action never ran');
  t.match(reply, { ok: false, error: { code: 'UNAVAILABLE', reason: 'allowlist-miss', message: /TAR_OPTIONS/ } });
  const control = await execViaSocket(
    { command: request.command, env: { LANG: 'C' } },
    { socketPath: host.socketPath, token },
  );
  t.match(control, { ok: true, payload: { exitCode: 0 } }, 'control: the same tar with an allowlisted variable runs');
});

t.test('ask=on-miss: the human sees the refused variable and the miss, and decides', async (t) => {
  const root = tmpRoot(t, 'ocipc-envp-');
  const canary = path.join(root, 'canary');
  const asked: ApprovalPrompt[] = [];
  let answer: 'deny' | 'allow-once' = 'deny';
  const approver: Approver = {
    name: 'recording',
    isAvailable: () => true,
    ask: async (prompt) => {
      asked.push(prompt);
      return answer;
    },
  };
  const { host, token } = await startHost(t, {
    approver,
    policy: onlyTar('on-miss'),
    evaluate: { baseEnv: { PATH: SEARCH } },
  });
  const request = tarWithOptions(root, canary);
  const denied = await execViaSocket(request, { socketPath: host.socketPath, token });
  t.match(denied, { ok: false, error: { reason: 'user-denied' } });
  t.notOk(fs.existsSync(canary));
  t.equal(asked.length, 1, 'asked once');
  t.same(asked[0].env, request.env, 'the prompt carries the environment overrides');
  const text = promptText(asked[0]);
  t.match(text, /Environment: TAR_OPTIONS=--checkpoint=1 --checkpoint-action=exec=/);
  t.match(text, /environment variable TAR_OPTIONS is not on the override allowlist \(ENV_NOT_ALLOWLISTED\)/);
  answer = 'allow-once';
  const approved = await execViaSocket(request, { socketPath: host.socketPath, token });
  t.match(approved, { ok: true }, 'approved by a human: it runs as requested');
  t.ok(fs.existsSync(canary), 'with the approved environment');
});

t.test('the child inherits only the allowlisted keys of the daemon environment', async (t) => {
  const baseEnv = {
    PATH: SEARCH,
    HOME: '/root',
    LANG: 'C',
    TAR_OPTIONS: '--x',
    GIT_DIR: '/x',
    GIT_CONFIG_PARAMETERS: "'core.pager'='x'",
    PAGER: 'x',
    LESSOPEN: '|x',
    EDITOR: 'x',
    LD_PRELOAD: '/x.so',
    PYTHONSTARTUP: '/x',
    OPENCLAW_GATEWAY_TOKEN: 'secret',
    SSH_AUTH_SOCK: '/x',
  };
  const { host, token } = await startHost(t, {
    policy: onlyTar('off'),
    evaluate: { baseEnv },
  });
  const reply = await execViaSocket({ command: [ENV], env: { TZ: 'UTC' } }, { socketPath: host.socketPath, token });
  t.match(reply, { ok: true, payload: { exitCode: 0 } });
  const keys = reply.ok
    ? String(reply.payload.stdout)
        .trim()
        .split('\n')
        .map((l) => l.split('=')[0])
    : [];
  t.same(keys.sort(), ['HOME', 'LANG', 'PATH', 'TZ'], 'exactly the inherited allowlist present in the base, plus TZ');
  t.ok(keys.every((k) => INHERITED_ENV_KEYS.includes(k) || OVERRIDE_ALLOWLIST.has(k)));
});

t.test('the node host local runner applies the same allowlist', async (t) => {
  const root = tmpRoot(t, 'ocipc-envn-');
  const canary = path.join(root, 'canary');
  const stateDir = path.join(root, 'state');
  writePolicy(stateDir, onlyTar('off'));
  const events: string[] = [];
  const service = createSystemRunService({
    stateDir,
    mode: 'local',
    emitEvent: (e, p) => events.push(`${e}:${p.reason}`),
  });
  const request = tarWithOptions(root, canary);
  await t.rejects(service.run(request, { invokeId: 'i1' }), { code: 'SYSTEM_RUN_DENIED', message: /TAR_OPTIONS/ });
  t.notOk(fs.existsSync(canary), 'the checkpoint action never ran');
  t.same(events, ['exec.denied:allowlist-miss']);
});
