// Rate limits and lockout for remote addresses, across two network namespaces: our Gateway on `lan` with
// TLS in namespace A; from namespace B a client hammers it with a wrong token until it is locked out, after
// which even the right token from B is refused. The lockout keys on the remote address: loopback in A
// (exempt) is still served after as many wrong tokens, and A's own LAN address, another remote address,
// still gets in with the right token.
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import t from 'tap';

import { repo } from '../helpers/cli.js';
import { createNetnsPair, netnsAvailable, type Netns } from '../helpers/netns.js';

t.setTimeout(180_000);

const net = netnsAvailable();
const TOKEN = 'remote-ratelimit-token-0123456789abcdef';
const ATTEMPTS = path.join(repo, 'test', 'helpers', 'auth-attempts.ts');
interface GatewayReady {
  port: number;
  tls: { fingerprintSha256: string };
}

const LOCKED = 'unauthorized: too many failed authentication attempts (retry later)';

function firstJsonLine(child: ChildProcess): Promise<GatewayReady> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as GatewayReady);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}; stderr: ${stderr}`)));
  });
}

/** `count` sessions from `ns` to `url`, pinned, presenting `token`: each "ok" or the Gateway's message. */
async function attempts(ns: Netns, url: string, pin: string, token: string, count: number): Promise<string[]> {
  const r = await ns.run([process.execPath, '--import', 'tsx', ATTEMPTS, url, pin, String(count)], {
    cwd: repo,
    env: { PATH: process.env.PATH, ATTEMPT_TOKEN: token },
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`auth-attempts exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
}

t.test(
  'a remote address hammering bad tokens is locked out; loopback and other addresses stay served',
  { skip: !net.ok && net.reason },
  async (t) => {
    // Not t.testdir(): processes in another network namespace use it and its sockets (short path, outside the checkout).
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-ratelimit-'));
    fs.chmodSync(root, 0o700);
    t.teardown(() => fs.rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
    const pair = await createNetnsPair(t);
    const env: NodeJS.ProcessEnv = { ...process.env, OPENCLAW_GATEWAY_TOKEN: TOKEN, OPENCLAW_NODE_EXEC_HOST: '' };
    for (const key of ['OPENCLAW_GATEWAY_PASSWORD', 'OPENCLAW_GATEWAY_URL', 'OPENCLAW_GATEWAY_PORT']) delete env[key];
    const gateway = pair.a.spawn(
      [
        process.execPath,
        '--import',
        'tsx',
        path.join(repo, 'lib/cli/main.ts'),
        'gateway',
        '--bind',
        'lan',
        '--tls',
        '--port',
        '0',
        '--json',
        '--state-dir',
        path.join(root, 'gw'),
      ],
      { cwd: repo, env },
    );
    const ready = await firstJsonLine(gateway);
    const port = ready.port;
    const pin = ready.tls.fingerprintSha256;
    const remoteUrl = `wss://${pair.a.address}:${port}`;

    const fromB = await attempts(pair.b, remoteUrl, pin, 'wrong-token', 12);
    t.equal(fromB.length, 12);
    t.ok(
      fromB.slice(0, 10).every((m) => /unauthorized/.test(m) && m !== LOCKED),
      `ten wrong tokens are compared and refused (${fromB.slice(0, 10).join(' | ')})`,
    );
    t.same(fromB.slice(10), [LOCKED, LOCKED], 'then the address is locked out');
    t.same(await attempts(pair.b, remoteUrl, pin, TOKEN, 1), [LOCKED], 'even the right token from B is refused now');

    // Keyed on the address: loopback in A (exempt) with as many wrong tokens, then the right one, is served;
    // A's own LAN address is another remote address and is not locked.
    const loopback = await attempts(pair.a, `wss://127.0.0.1:${port}`, pin, 'wrong-token', 12);
    t.notOk(loopback.includes(LOCKED), 'loopback is never locked out');
    t.same(await attempts(pair.a, `wss://127.0.0.1:${port}`, pin, TOKEN, 1), ['ok'], 'loopback still served');
    t.same(await attempts(pair.a, remoteUrl, pin, TOKEN, 1), ['ok'], `${pair.a.address} (not locked) still served`);
  },
);
