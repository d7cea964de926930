// The TLS flags of the CLI on one machine: `node run --tls --tls-fingerprint` joins a wss:// Gateway and
// node.json remembers the pin, so a restart without flags goes back to the same Gateway pinned; an
// operator command on the Gateway host needs no flags at all (wss:// from gateway.tls.enabled, the pin
// from the state dir's certificate); `--tls-fingerprint` on a ws:// URL is a usage error.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import t from 'tap';

import { certificateFingerprint } from '../../lib/common/tls-fingerprint.js';
import { startGateway } from '../../lib/gateway/index.js';
import { cli, repo } from '../helpers/cli.js';
import { tempStateDir } from '../helpers/gateway.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

t.setTimeout(180_000);

const TOKEN = 'cli-tls-token-0123456789';

function env(stateDir: string): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of ['OPENCLAW_GATEWAY_PASSWORD', 'OPENCLAW_GATEWAY_URL', 'OPENCLAW_GATEWAY_PORT']) delete base[key];
  return { ...base, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_TOKEN: TOKEN, OPENCLAW_NODE_EXEC_HOST: '' };
}

function nodeRun(args: string[], stateDir: string): ChildProcess {
  return spawn(process.execPath, cliNodeArgs('main', ['node', 'run', ...args, '--json']), {
    cwd: repo,
    env: env(stateDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function readyLine(child: ChildProcess): Promise<Record<string, unknown>> {
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`node run exited ${code}: ${stderr}`)));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

t.test(
  'node run pins with --tls-fingerprint, remembers it, and an operator on the Gateway host needs no flags',
  async (t) => {
    const gwState = tempStateDir(t);
    fs.writeFileSync(
      path.join(gwState, 'openclaw.json'),
      JSON.stringify({ gateway: { tls: { enabled: true }, auth: { token: TOKEN } } }),
    );
    const gateway = await startGateway({ port: 0, stateDir: gwState, env: {} });
    t.teardown(() => gateway.close());
    const fingerprint = gateway.tls!.fingerprintSha256;
    const nodeState = tempStateDir(t);

    const first = nodeRun(
      ['--host', '127.0.0.1', '--port', String(gateway.port), '--tls', '--tls-fingerprint', fingerprint.toUpperCase()],
      nodeState,
    );
    t.match(await readyLine(first), { ready: true, gateway: `wss://127.0.0.1:${gateway.port}/` });
    t.equal(await stop(first), 0);
    const saved = JSON.parse(fs.readFileSync(path.join(nodeState, 'node.json'), 'utf8'));
    t.same(saved.gateway, { host: '127.0.0.1', port: gateway.port, tls: true, tlsFingerprint: fingerprint });
    t.equal(fs.statSync(path.join(nodeState, 'node.json')).mode & 0o777, 0o600);

    // No flags: the remembered Gateway, pinned. (Nothing else names this port: it is random.)
    const again = nodeRun([], nodeState);
    t.match(await readyLine(again), { ready: true, gateway: `wss://127.0.0.1:${gateway.port}/` }, 'restart rejoins');
    t.equal(await stop(again), 0);

    // The Gateway host's own operator commands: wss:// and the pin come from the state dir.
    fs.writeFileSync(
      path.join(gwState, 'openclaw.json'),
      JSON.stringify({ gateway: { port: gateway.port, tls: { enabled: true }, auth: { token: TOKEN } } }),
    );
    const listed = await cli(['nodes', 'list', '--json'], env(gwState));
    t.equal(listed.code, 0, `nodes list without flags (${listed.stderr})`);
    t.ok(Array.isArray(JSON.parse(listed.stdout).nodes), 'answered over wss://');

    const usage = await cli(
      ['nodes', 'list', '--url', `ws://127.0.0.1:${gateway.port}`, '--tls-fingerprint', fingerprint],
      env(gwState),
    );
    t.equal(usage.code, 2, 'a pin on ws:// is a usage error');
    t.match(usage.stderr, /--tls-fingerprint needs a wss:\/\/ URL/);
  },
);

t.test(
  'gateway --tls prints the SHA-256 fingerprint at start (human and --json), equal to its certificate',
  async (t) => {
    const stateDir = tempStateDir(t);
    const start = (json: boolean): { child: ChildProcess; text: Promise<string> } => {
      const child = spawn(
        process.execPath,
        cliNodeArgs('main', ['gateway', '--tls', '--port', '0', ...(json ? ['--json'] : [])]),
        { cwd: repo, env: env(stateDir), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const text = new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (json ? out.includes('\n') : /nodes: .*--tls-fingerprint \S+\n/.test(out)) resolve(out);
        });
        child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
      });
      return { child, text };
    };
    const human = start(false);
    const printed = /tls: SHA-256 ([0-9a-f]{64})/.exec(await human.text)?.[1];
    t.equal(await stop(human.child), 0);
    const certFile = path.join(stateDir, 'gateway', 'tls', 'gateway-cert.pem');
    t.equal(printed, certificateFingerprint(fs.readFileSync(certFile)), 'printed = the certificate file');
    const json = start(true);
    const ready = JSON.parse(await json.text) as {
      url: string;
      tls: { fingerprintSha256: string; generated: boolean };
    };
    t.equal(await stop(json.child), 0);
    t.match(ready, { url: /^wss:\/\//, tls: { fingerprintSha256: printed, generated: false } }, 'reused on restart');
  },
);
