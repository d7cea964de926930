// `openclaw-ipc up` with gateway.tls.enabled, end to end as real processes: wss:// on the Gateway port (plain
// ws:// refused), the SHA-256 fingerprint printed at start and equal to the certificate file and to what the
// port presents; `openclaw-mac connect` and `node run` pinning it work; `doctor` shows it and whether it
// matches node.json's pin. A man in the middle (a TLS proxy with its own certificate, forwarding to `up`)
// is refused by a client pinning up's fingerprint before any byte of HTTP (let alone the token) reaches it;
// the same proxy pinned on purpose relays the upgrade, so the zero-byte check can fail.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import t from 'tap';

import { presentedFingerprint } from '../../lib/client/tls-pin.js';
import { normalizeTlsFingerprint } from '../../lib/common/tls-fingerprint.js';
import { generateSelfSignedCertificate } from '../../lib/gateway/self-signed-cert.js';
import { cli, cliInProcess, repo } from '../helpers/cli.js';
import { firstJsonLine, ourCliArgv } from '../helpers/netns-launch.js';

t.setTimeout(180_000);

const TOKEN = 'up-tls-token-0123456789abcdef';

function isolatedEnv(root: string, name: string): { stateDir: string; env: NodeJS.ProcessEnv } {
  const stateDir = path.join(root, name);
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_NODE_EXEC_HOST: '',
    XDG_RUNTIME_DIR: '',
    OPENCLAW_GATEWAY_TOKEN: TOKEN,
  };
  for (const key of ['OPENCLAW_GATEWAY_PASSWORD', 'OPENCLAW_GATEWAY_URL', 'OPENCLAW_GATEWAY_PORT']) delete env[key];
  return { stateDir, env };
}

/** up's human output up to its `try:` block (it prints the fingerprint there, not only in --json). */
function startUp(env: NodeJS.ProcessEnv): { child: ChildProcess; banner: Promise<string> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'lib/cli/main.ts', 'up', '--port', '0', '--no-bridge', '--no-prompt'],
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const banner = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (/^\s*state\s/m.test(out)) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`up exited with ${code}: ${stderr}`)));
  });
  return { child, banner };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A TLS proxy with its own certificate that relays plaintext to `upstreamPort` over TLS and records it. */
async function mitmProxy(
  t: { teardown(fn: () => unknown): void },
  upstreamPort: number,
): Promise<{ port: number; fingerprint: string; received: () => Buffer; handshakes: () => number }> {
  const pair = generateSelfSignedCertificate({ ipAddresses: ['127.0.0.1'] });
  const chunks: Buffer[] = [];
  let handshakes = 0;
  const server = tls.createServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => {
    const upstream = tls.connect({ host: '127.0.0.1', port: upstreamPort, rejectUnauthorized: false });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.pipe(upstream).pipe(socket);
    const close = (): void => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.on('connection', () => handshakes++); // TCP accepts: a pin mismatch aborts before the server's handshake ends
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port: (server.address() as net.AddressInfo).port,
    fingerprint: normalizeTlsFingerprint(new crypto.X509Certificate(pair.certPem).fingerprint256),
    received: () => Buffer.concat(chunks),
    handshakes: () => handshakes,
  };
}

t.test(
  'up with gateway.tls.enabled: wss://, fingerprint printed and shown, pins work, a MITM is refused',
  async (t) => {
    // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-up-tls-'));
    t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
    const gw = isolatedEnv(root, 'gw');
    fs.writeFileSync(
      path.join(gw.stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { tls: { enabled: true }, auth: { mode: 'token', token: TOKEN } } }),
      { mode: 0o600 },
    );
    const up = startUp(gw.env);
    t.teardown(() => stop(up.child));
    const banner = await up.banner;
    const url = /^\s*gateway\s+(\S+)/m.exec(banner)?.[1] ?? '';
    t.match(url, /^wss:\/\/127\.0\.0\.1:\d+/, `up serves wss:// (${banner.slice(0, 300)})`);
    const port = Number(new URL(url).port);
    const printed = /^\s*tls\s+SHA-256 ([0-9a-f]{64})$/m.exec(banner)?.[1];
    t.ok(printed, 'up prints the SHA-256 fingerprint at start');
    const certFile = path.join(gw.stateDir, 'gateway', 'tls', 'gateway-cert.pem');
    t.equal(fs.statSync(certFile).mode & 0o777, 0o600, 'the generated certificate is 0600');
    t.equal(
      printed,
      normalizeTlsFingerprint(new crypto.X509Certificate(fs.readFileSync(certFile)).fingerprint256),
      'printed = the certificate file',
    );
    t.equal(await presentedFingerprint(url, 5_000), printed, 'printed = what the port presents');

    // Plain ws:// on the same port gets no WebSocket session.
    const plain = await cliInProcess(
      'mac',
      ['connect', '--json', '--url', `ws://127.0.0.1:${port}`, '--token', TOKEN],
      {
        ...gw.env,
      },
    );
    t.equal(plain.code, 1, 'ws:// to a TLS port fails');
    t.equal(JSON.parse(plain.stdout).status, 'error');

    // connect pinning the printed fingerprint (JSON and human), and with no flags on the Gateway host.
    const pinned = await cliInProcess(
      'mac',
      ['connect', '--json', '--url', url, '--token', TOKEN, '--tls-fingerprint', printed!.toUpperCase()],
      gw.env,
    );
    t.equal(pinned.code, 0, `connect with the pin (${pinned.stdout.slice(0, 400)})`);
    t.match(JSON.parse(pinned.stdout), {
      status: 'ok',
      url,
      tls: { fingerprintSha256: printed, pinned: printed, matches: true },
    });
    const human = await cliInProcess(
      'mac',
      ['connect', '--url', url, '--token', TOKEN, '--tls-fingerprint', printed!],
      gw.env,
    );
    t.equal(human.code, 0);
    t.match(human.stdout, new RegExp(`^TLS: SHA-256 ${printed} \\(matches the pin\\)$`, 'm'), 'human output shows it');
    fs.writeFileSync(
      path.join(gw.stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { port, tls: { enabled: true }, auth: { mode: 'token', token: TOKEN } } }),
      { mode: 0o600 },
    );
    const local = await cliInProcess('mac', ['connect', '--json'], gw.env);
    t.match(
      JSON.parse(local.stdout),
      { status: 'ok', url: `wss://127.0.0.1:${port}`, tls: { matches: true } },
      'local mode: wss:// and the pin from the state dir',
    );
    const wrongPin = await cliInProcess(
      'mac',
      ['connect', '--json', '--url', url, '--token', TOKEN, '--tls-fingerprint', 'ab'.repeat(32)],
      gw.env,
    );
    t.equal(wrongPin.code, 1, 'a wrong pin: exit 1');
    t.match(JSON.parse(wrongPin.stdout), {
      status: 'error',
      error: /nothing was sent/,
      tls: { fingerprintSha256: printed, pinned: 'ab'.repeat(32), matches: false },
    });

    // A node host in another state dir pins it and joins; doctor there shows the fingerprint and the match.
    const nodeSide = isolatedEnv(root, 'node');
    const [nodeExec, ...nodeArgs] = ourCliArgv([
      'node',
      'run',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--tls',
      '--tls-fingerprint',
      printed!,
      '--json',
    ]);
    const node = spawn(nodeExec!, nodeArgs, { cwd: repo, env: nodeSide.env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => stop(node));
    const ready = await firstJsonLine(node, 'node run');
    t.match(ready, { ready: true, gateway: `wss://127.0.0.1:${port}/` }, 'the pinned node host joins');
    const doctor = await cliInProcess('mac', ['doctor', '--json'], nodeSide.env);
    const tlsFinding = (JSON.parse(doctor.stdout) as { findings: Array<Record<string, unknown>> }).findings.find(
      (f) => f.id === 'tls',
    );
    t.match(tlsFinding, {
      status: 'ok',
      summary: new RegExp(`SHA-256 ${printed}, the fingerprint node.json pins`),
      details: { fingerprintSha256: printed, pinned: printed },
    });
    const human2 = await cliInProcess('main', ['doctor'], nodeSide.env);
    t.match(human2.stdout, new RegExp(`SHA-256 ${printed}`), 'doctor (human) prints the fingerprint');
    await stop(node);

    // node.json pins a fingerprint the Gateway no longer presents: doctor fails that finding, with the fix.
    const saved = JSON.parse(fs.readFileSync(path.join(nodeSide.stateDir, 'node.json'), 'utf8'));
    saved.gateway.tlsFingerprint = 'cd'.repeat(32);
    fs.writeFileSync(path.join(nodeSide.stateDir, 'node.json'), JSON.stringify(saved), { mode: 0o600 });
    const broken = await cliInProcess('mac', ['doctor', '--json'], nodeSide.env);
    t.not(broken.code, 0, 'doctor exits non-zero on a pin mismatch');
    t.match(
      (JSON.parse(broken.stdout) as { findings: Array<Record<string, unknown>> }).findings.find((f) => f.id === 'tls'),
      {
        status: 'fail',
        summary: new RegExp(`presents SHA-256 ${printed}, but node.json pins ${'cd'.repeat(32)}`),
        fix: new RegExp(`--tls-fingerprint ${printed}`),
      },
    );

    // A man in the middle: the client pins up's fingerprint; the proxy's certificate differs → nothing sent.
    const mitm = await mitmProxy(t, port);
    const refused = await cliInProcess(
      'mac',
      ['connect', '--json', '--url', `wss://127.0.0.1:${mitm.port}`, '--token', TOKEN, '--tls-fingerprint', printed!],
      gw.env,
    );
    t.equal(refused.code, 1);
    t.match(JSON.parse(refused.stdout), { status: 'error', error: /nothing was sent/, tls: { matches: false } });
    const nodeViaMitm = await cli(
      ['node', 'run', '--host', '127.0.0.1', '--port', String(mitm.port), '--tls', '--tls-fingerprint', printed!],
      isolatedEnv(root, 'node2').env,
      30_000,
    );
    t.not(nodeViaMitm.code, 0, 'node run through the MITM fails');
    t.match(nodeViaMitm.stderr, /ERR_GATEWAY_TLS_PIN_MISMATCH|nothing was sent/);
    t.ok(mitm.handshakes() >= 2, 'both clients reached the proxy (TLS handshakes)');
    t.equal(mitm.received().length, 0, 'not one byte of HTTP (nor the token) reached the man in the middle');

    // Control: pinning the proxy on purpose, the upgrade request goes out to it (up then answers 403: the Host
    // names the proxy's port, which its DNS-rebinding guard refuses; what matters here is that bytes flowed).
    const through = await cliInProcess(
      'mac',
      [
        'connect',
        '--json',
        '--url',
        `wss://127.0.0.1:${mitm.port}`,
        '--token',
        TOKEN,
        '--tls-fingerprint',
        mitm.fingerprint,
      ],
      gw.env,
    );
    t.match(
      JSON.parse(through.stdout),
      { status: 'error', error: /403/, tls: { matches: true } },
      'past TLS, refused by Host',
    );
    t.match(mitm.received().toString('latin1'), /^GET \/ HTTP\/1\.1\r\n/, 'the proxy sees the upgrade then');
  },
);
