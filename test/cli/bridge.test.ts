import t, { type Test } from 'tap';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { tempDir } from '../helpers/bridge.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.PEEKABOO_BRIDGE_SOCKET;
  delete env.PEEKABOO_NO_REMOTE;
  delete env.PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS;
  return { ...env, ...extra };
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = cliEnv(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliNodeArgs('main', ['bridge', ...args]), { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function startHostProcess(
  t: Test,
  args: string[],
  env: NodeJS.ProcessEnv = cliEnv(),
): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, cliNodeArgs('main', ['bridge', 'host', ...args]), { cwd: root, env });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`host exited early (${code})`)));
  });
  return child;
}

t.test('bridge host / call / status as real processes', async (t) => {
  const dir = tempDir(t);
  const sock = path.join(dir, 'OpenClaw', 'bridge.sock');
  const host = await startHostProcess(t, ['--socket', sock, '--same-user']);
  t.equal(fs.lstatSync(sock).mode & 0o777, 0o600);

  const created = await runCli(['call', 'createSnapshot', '--socket', sock, '--json']);
  t.equal(created.code, 0, created.stderr);
  const json = JSON.parse(created.stdout);
  t.equal(json.via, 'remote');
  t.equal(json.socketPath, sock);
  t.equal(json.case, 'snapshotId');

  const store = await runCli([
    'call',
    'storeAnnotatedScreenshot',
    '--socket',
    sock,
    '--payload',
    JSON.stringify({ snapshotId: json.value, annotatedScreenshotPath: '/tmp/a.png' }),
    '--json',
  ]);
  t.same(JSON.parse(store.stdout), { via: 'remote', socketPath: sock, case: 'ok', value: null });

  const capture = await runCli([
    'call',
    'captureScreen',
    '--socket',
    sock,
    '--payload',
    '{"visualizerMode":{"screenshotFlash":{}},"scale":{"native":{}}}',
    '--json',
  ]);
  t.equal(capture.code, 1);
  t.equal(JSON.parse(capture.stdout).error.bridgeCode, 'operationNotSupported');

  const status = await runCli(['status', '--socket', sock, '--json']);
  t.equal(status.code, 0);
  const st = JSON.parse(status.stdout);
  t.equal(st.selected, sock);
  t.equal(st.probes[0].handshake.negotiatedVersion.minor, 7);

  const local = await runCli(['call', 'permissionsStatus', '--json'], cliEnv({ PEEKABOO_NO_REMOTE: '1' }));
  t.same(JSON.parse(local.stdout), {
    via: 'local',
    socketPath: null,
    case: 'permissionsStatus',
    value: { screenRecording: false, accessibility: false, appleScript: false, postEvent: false },
  });

  const listing = await runCli(['call']);
  t.equal(listing.code, 0, '`call` alone lists the operations');
  t.match(listing.stdout, /^\s+permissionsStatus\b/m);
  t.match(listing.stdout, /^\s+captureScreen\s+needs screenRecording/m);
  const badJson = await runCli(['call', 'createSnapshot', '--payload', '{nope']);
  t.equal(badJson.code, 2);

  host.kill('SIGTERM');
  const code = await new Promise((r) => host.once('exit', r));
  t.equal(code, 0, 'host exits cleanly on SIGTERM');
  t.notOk(fs.existsSync(sock), 'socket removed on shutdown');
});

t.test('default host refuses unsigned clients; --debug-build honours the variable', async (t) => {
  const dir = tempDir(t);
  const sock = path.join(dir, 'a', 'bridge.sock');
  await startHostProcess(t, ['--socket', sock], cliEnv({ PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS: '1' }));
  const refused = await runCli(['call', 'permissionsStatus', '--socket', sock, '--json']);
  t.equal(refused.code, 4, 'denied exit code');
  t.equal(JSON.parse(refused.stdout).error.bridgeCode, 'unauthorizedClient', 'release host ignores the variable');

  const sock2 = path.join(dir, 'b', 'bridge.sock');
  await startHostProcess(
    t,
    ['--socket', sock2, '--debug-build'],
    cliEnv({ PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS: '1' }),
  );
  const admitted = await runCli(['call', 'permissionsStatus', '--socket', sock2, '--json']);
  t.equal(admitted.code, 0, admitted.stderr);
  t.equal(JSON.parse(admitted.stdout).case, 'permissionsStatus');
});
