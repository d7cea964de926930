// `npm start` as a supervisor runs it (issue 7, "Also"), with package.json's real start script and the real
// npm: the "try:" lines `up` prints work when run in order, as printed, against that `up`; SIGTERM to npm
// reaches `up`, which exits and releases the state-dir lock. The script's `node dist/cli/main.js` is a
// shim in a temp package that loads this checkout's sources (so the test never depends on a stale build).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import t from 'tap';
import { acquireInstanceLock } from '../../lib/exec-host/instance-lock.js';
import { repo } from '../helpers/cli.js';

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

t.test('npm start: the printed try lines work in order; SIGTERM to npm stops up and frees the lock', async (t) => {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-npmstart-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const app = path.join(root, 'app');
  fs.mkdirSync(path.join(app, 'dist', 'cli'), { recursive: true });
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'npm-start-probe', private: true, type: 'module', scripts: { start: pkg.scripts.start } }),
  );
  fs.writeFileSync(
    path.join(app, 'dist', 'cli', 'main.js'),
    [
      `import { register } from ${JSON.stringify(path.join(repo, 'node_modules/tsx/dist/esm/api/index.mjs'))};`,
      'register();',
      `await import(${JSON.stringify(path.join(repo, 'lib/cli/main.ts'))});`,
    ].join('\n'),
  );
  const stateDir = path.join(root, 'state');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_NODE_EXEC_HOST: '',
    XDG_RUNTIME_DIR: '',
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  delete env.npm_lifecycle_event;
  const npm = spawn('npm', ['start', '--silent', '--', '--port', '0', '--no-bridge', '--no-prompt'], {
    cwd: app,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (npm.exitCode === null) npm.kill('SIGKILL');
  });
  let stderr = '';
  npm.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const lines: string[] = [];
  readline.createInterface({ input: npm.stdout! }).on('line', (l) => lines.push(l));
  t.ok(
    await waitFor(() => lines.some((l) => l.includes('openclaw-ipc run ')), 120_000),
    `up printed its try lines: ${stderr.slice(-500)}`,
  );
  const lockFile = path.join(stateDir, 'exec-approvals.lock');
  const upPid = (JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { pid: number }).pid;
  t.ok(alive(upPid), 'up holds the state-dir lock');

  const tryLines = lines
    .slice(lines.findIndex((l) => l.startsWith('try:')) + 1)
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim());
  t.equal(tryLines.length, 3, 'the default policy runs nothing: two lines allow echo, the third runs it');
  t.match(tryLines[0], /openclaw-ipc approvals set --security allowlist --ask on-miss$/);
  t.match(tryLines[1], /openclaw-ipc approvals allow \S+echo$/);
  t.match(tryLines[2], /openclaw-ipc run --node \S+ --url ws:\/\/127\.0\.0\.1:\d+\/? -- \S+echo hi$/);
  // As a user would: a shell, with `openclaw-ipc` on PATH.
  const bin = path.join(root, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'openclaw-ipc'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(path.join(repo, 'lib/cli/main.ts'))} "$@"\n`,
    { mode: 0o755 },
  );
  const shellEnv = { ...env, OPENCLAW_STATE_DIR: '', PATH: `${bin}:${process.env.PATH ?? ''}` };
  const outputs = tryLines.map((line) => {
    const r = spawnSync('/bin/sh', ['-c', line], { cwd: repo, env: shellEnv, encoding: 'utf8', timeout: 120_000 });
    t.equal(r.status, 0, `${line}: ${r.stderr}`);
    return r.stdout;
  });
  t.equal(outputs[2], 'hi\n', 'the run line runs echo through that up');

  npm.kill('SIGTERM');
  await exited(npm);
  t.ok(await waitFor(() => !alive(upPid)), 'SIGTERM to npm reached up: it exited');
  t.notOk(fs.existsSync(lockFile), 'and removed its lock');
  const lock = acquireInstanceLock(stateDir);
  t.ok(lock, 'the state dir can be locked again');
  lock.release();
});
