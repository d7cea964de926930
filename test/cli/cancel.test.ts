// Ctrl-C on `openclaw-ipc run` cancels end to end (issue 7, "Also"): operator CLI → Gateway (invoke and
// approval tied to the operator's connection) → node host (node.invoke.cancel) → exec host (closed socket:
// prompt withdrawn, run killed). All real processes: `up`, the CLI, the command. Asserted by process
// liveness, files the command would have written, the pending list and the audit log; no timings.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import t from 'tap';
import { cli, repo } from '../helpers/cli.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

t.setTimeout(240_000);

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(pred: () => boolean, ms = 60_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return pred();
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** `openclaw-ipc <args>` as a long-running process (the cli() helper waits for the end). */
function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, cliNodeArgs('main', args), {
    cwd: repo,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout!.resume();
  return { child, stderr: () => stderr };
}

t.test('Ctrl-C on run: the running command is killed; a pending approval is withdrawn', async (t) => {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-cancel-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_NODE_EXEC_HOST: '',
    XDG_RUNTIME_DIR: '',
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  const up = spawn(
    process.execPath,
    cliNodeArgs('main', ['up', '--port', '0', '--json', '--no-bridge', '--no-prompt']),
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
  });
  const log: string[] = [];
  readline.createInterface({ input: up.stderr! }).on('line', (l) => log.push(l));
  const info = await new Promise<{ url: string; nodeId: string }>((resolve, reject) => {
    readline.createInterface({ input: up.stdout! }).on('line', (l) => {
      if (l.startsWith('{')) resolve(JSON.parse(l) as { url: string; nodeId: string });
    });
    up.once('exit', (code) => reject(new Error(`up exited with ${code}: ${log.join('\n')}`)));
  });
  const approvalsFile = path.join(stateDir, 'exec-approvals.json');
  const setPolicy = (defaults: Record<string, string>): void => {
    const current = JSON.parse(fs.readFileSync(approvalsFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(approvalsFile, JSON.stringify({ ...current, defaults }), { mode: 0o600 });
  };
  const node = info.nodeId.slice(0, 12);

  // 1. While the command runs.
  setPolicy({ security: 'full', ask: 'off', askFallback: 'deny' });
  const pidFile = path.join(root, 'run.pid');
  const canary = path.join(root, 'canary');
  const run = startCli(
    ['run', '--node', node, '--url', info.url, '--', '/bin/sh', '-c', `echo $$ > ${pidFile}; sleep 4; touch ${canary}`],
    env,
  );
  t.ok(
    await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== ''),
    'the command runs',
  );
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  run.child.kill('SIGINT');
  t.equal(await exited(run.child), 130, 'run exits 130 on Ctrl-C');
  t.match(run.stderr(), /SIGINT: cancelled/);
  t.ok(await waitFor(() => !alive(pid)), `the command (pid ${pid}) was killed`);
  t.notOk(fs.existsSync(canary), 'so the canary it would write later never is');

  // 2. While its approval is pending.
  setPolicy({ security: 'allowlist', ask: 'always', askFallback: 'full' });
  const canary2 = path.join(root, 'canary2');
  const asking = startCli(['run', '--node', node, '--url', info.url, '--', '/usr/bin/touch', canary2], env);
  let waiting: RegExpExecArray | null = null;
  t.ok(
    await waitFor(() => {
      waiting = log.map((l) => /approval (\S+) waiting for: (.*) — /.exec(l)).find((m) => m !== null) ?? null;
      return waiting !== null;
    }),
    'up reports the pending approval',
  );
  const [, id, shown] = waiting!;
  t.equal(shown, `/usr/bin/touch ${canary2}`, "up's log shows the argv");
  const listed = await cli(['approvals', 'pending', '--url', info.url, '--json'], env);
  t.match(JSON.parse(listed.stdout), { approvals: [{ id, request: { commandArgv: ['/usr/bin/touch', canary2] } }] });
  asking.child.kill('SIGINT');
  t.equal(await exited(asking.child), 130);
  t.ok(
    await waitFor(() => log.some((l) => l.includes(`approval ${id} closed: withdrawn: the requester went away`))),
    'up reports the approval withdrawn',
  );
  const after = await cli(['approvals', 'pending', '--url', info.url, '--json'], env);
  t.same(JSON.parse(after.stdout), { approvals: [] }, 'the pending list no longer shows it');
  const approve = await cli(['approvals', 'approve', id!, '--url', info.url], env);
  t.not(approve.code, 0, `approving afterwards fails: ${approve.stderr.trim()}`);
  const audit = fs
    .readFileSync(path.join(stateDir, 'exec-approvals.audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event?: string; outcome?: string; command?: string });
  t.ok(
    audit.some((r) => r.event === 'exec' && r.outcome === 'withdrawn' && r.command?.includes(canary2)),
    'the audit log records the withdrawal',
  );
  t.notOk(fs.existsSync(canary2), 'nothing ran, not even askFallback=full: nobody was left to answer');

  up.kill('SIGTERM');
  t.equal(await exited(up), 0);
});
