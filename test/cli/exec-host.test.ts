// The CLI as a user runs it: real processes for `app`, `exec` and `approvals`.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { tmpRoot } from '../helpers/exec-host.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

function cli(args: string[], env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cliNodeArgs('main', args), {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('app / exec / approvals end to end', async (t) => {
  const root = tmpRoot(t);
  const env = { OPENCLAW_STATE_DIR: path.join(root, 'state') };
  t.equal(cli(['approvals', 'set', '--security', 'allowlist', '--ask', 'off'], env).code, 0);
  t.equal(cli(['approvals', 'set', '--security', 'bogus'], env).code, 2, 'bad value is a usage error');
  t.equal(cli(['approvals', 'allow', 'echo'], env).code, 2, 'a bare name would never match: refused');
  const allow = cli(['approvals', 'allow', fs.realpathSync('/bin/echo'), '--json'], env);
  t.equal(allow.code, 0);
  const entryId = (JSON.parse(allow.stdout) as { entry: { id: string } }).entry.id;

  const app = spawn(process.execPath, cliNodeArgs('main', ['app', '--no-prompt']), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let appErr = '';
  const appExit = new Promise<number | null>((resolve) => app.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (app.exitCode === null) app.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    app.stderr.on('data', (c: Buffer) => {
      appErr += c.toString();
      if (appErr.includes('listening on')) resolve();
    });
    app.on('exit', () => reject(new Error(`app exited early: ${appErr}`)));
  });
  const sock = path.join(root, 'state', 'exec-approvals.sock');
  t.ok(fs.lstatSync(sock).isSocket());

  const second = cli(['app'], env);
  t.equal(second.code, 3, 'second instance exits with ExitCode.locked');
  t.match(second.stderr, /another exec host \(pid \d+\) is running/);

  const ok = cli(['exec', '--', 'echo', 'hello world'], env);
  t.equal(ok.code, 0);
  t.equal(ok.stdout, 'hello world\n');
  const status = cli(['exec', '--json', '--', 'echo', '-n', 'x'], env);
  t.match(JSON.parse(status.stdout), { type: 'exec-res', ok: true, payload: { exitCode: 0, stdout: 'x' } });
  const denied = cli(['exec', '--', 'sh', '-c', 'exit 7'], env);
  t.equal(denied.code, 4, 'allowlist miss → exit 4');
  t.match(denied.stderr, /SYSTEM_RUN_DENIED: allowlist miss/);
  t.equal(cli(['approvals', 'set', '--security', 'full'], env).code, 0);
  t.equal(cli(['exec', '--', 'sh', '-c', 'exit 7'], env).code, 7, "the command's exit code");
  const timedOut = cli(['exec', '--timeout', '300', '--', 'sleep', '20'], env);
  t.equal(timedOut.code, 124);
  t.match(timedOut.stderr, /timeout/);

  const show = JSON.parse(cli(['approvals', 'show', '--json'], env).stdout) as {
    config: { socket: { path: string; token?: string } };
    effective: { security: string; allowlist: { id: string; lastUsedCommand?: string }[] };
  };
  t.equal(show.effective.security, 'full');
  t.same(Object.keys(show.config.socket), ['path'], 'token never printed (socket shown as {path}, as on the wire)');
  t.equal(show.effective.allowlist[0].lastUsedCommand, 'echo -n x', 'lastUsed written back (last allowlisted run)');
  t.equal(cli(['approvals', 'remove', entryId], env).code, 0);
  t.equal(cli(['approvals', 'remove', entryId], env).code, 1, 'nothing left to remove');

  app.kill('SIGTERM');
  t.equal(await appExit, 0, 'clean exit on SIGTERM');
  t.notOk(fs.existsSync(sock), 'socket removed on shutdown');
  t.notOk(fs.existsSync(path.join(root, 'state', 'exec-approvals.lock')), 'lock released');
  const noHost = cli(['exec', '--', 'true'], env);
  t.equal(noHost.code, 1);
  t.match(noHost.stderr, /ERR_SOCKET_NOT_FOUND/);
});
