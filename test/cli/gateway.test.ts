import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import t from 'tap';

import { RawClient, tempStateDir } from '../helpers/gateway.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

t.test('`openclaw-ipc gateway --json` prints where it listens, serves, and stops cleanly on SIGTERM', async (t) => {
  const stateDir = tempStateDir(t);
  const child = spawn(
    process.execPath,
    cliNodeArgs('main', ['gateway', '--port', '0', '--state-dir', stateDir, '--json']),
    {
      cwd: ROOT,
      env: { ...process.env, OPENCLAW_GATEWAY_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = readline.createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
  });
  const info = JSON.parse(first);
  t.match(info, {
    ready: true,
    url: /^ws:\/\/127\.0\.0\.1:\d+$/,
    token: { source: 'generated', location: /openclaw\.json \(gateway\.auth\.token\)$/ },
  });

  const client = await RawClient.open(info.url);
  const challenge = await client.event('connect.challenge');
  t.ok(challenge.payload.nonce, 'the CLI gateway speaks the protocol');
  child.kill('SIGTERM');
  t.equal((await client.closed).code, 1012, 'clients see a service-restart close');
  t.equal(await exited, 0, `exit 0 (stderr: ${stderr})`);
});

t.test('`openclaw-ipc gateway` rejects a bad port with a usage error', async (t) => {
  const child = spawn(process.execPath, cliNodeArgs('main', ['gateway', '--port', 'nope']), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 2);
  t.match(stderr, /invalid port from --port: nope/);
});
