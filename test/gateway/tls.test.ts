// Issue 11 on one machine: gateway.tls (generated self-signed certificate, stored 0600 and reused; given
// files; broken pairs refused), bind modes and the refusal of a non-loopback bind without auth or TLS,
// and the client's certificate pin, which must fail before a single byte of the upgrade request (let alone
// a secret) reaches the peer. The two-host tests are in remote-netns.test.ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

import t from 'tap';

import { GatewayClient } from '../../lib/client/gateway-client.js';
import { normalizeTlsFingerprint, requireTlsFingerprint } from '../../lib/common/tls-fingerprint.js';
import { resolveBind, tailnetIPv4 } from '../../lib/gateway/bind.js';
import { startGateway } from '../../lib/gateway/index.js';
import { generateSelfSignedCertificate } from '../../lib/gateway/self-signed-cert.js';
import { defaultTlsPaths } from '../../lib/gateway/tls.js';
import { tempStateDir } from '../helpers/gateway.js';

const TOKEN = 'tls-test-token-0123456789';

function operator(url: string, tlsFingerprint?: string): GatewayClient {
  return new GatewayClient({
    url,
    role: 'operator',
    token: TOKEN,
    ...(tlsFingerprint !== undefined ? { tlsFingerprint } : {}),
    scopes: ['operator.read'],
    client: { id: 'gateway-client', mode: 'backend', version: '1', platform: process.platform },
    connectTimeoutMs: 20_000,
  });
}

t.test('fingerprints: the canonical form is 64 lower-case hex; colon pairs and sha256: are accepted', async (t) => {
  const hex = 'ab'.repeat(32);
  t.equal(normalizeTlsFingerprint(hex.toUpperCase()), hex);
  t.equal(normalizeTlsFingerprint(`sha256:${hex}`), hex);
  t.equal(normalizeTlsFingerprint(Array(32).fill('AB').join(':')), hex);
  t.equal(normalizeTlsFingerprint('ab'.repeat(31)), '', 'too short');
  t.equal(normalizeTlsFingerprint(`${hex}00`), '', 'too long');
  t.throws(() => requireTlsFingerprint('nope'), { code: 'ERR_TLS_FINGERPRINT_INVALID' });
});

t.test(
  'the generated certificate: ECDSA P-256, self-signed, serverAuth, names loopback and the bind address',
  async (t) => {
    const pair = generateSelfSignedCertificate({ ipAddresses: ['127.0.0.1', '::1', '10.20.30.40'] });
    const x509 = new crypto.X509Certificate(pair.certPem);
    t.equal(x509.subject, 'CN=openclaw-gateway');
    t.ok(x509.verify(x509.publicKey), 'signed by its own key');
    t.ok(x509.checkPrivateKey(crypto.createPrivateKey(pair.keyPem)), 'the key belongs to it');
    t.equal(x509.publicKey.asymmetricKeyType, 'ec');
    t.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    t.match(x509.subjectAltName, /DNS:localhost/);
    t.match(x509.subjectAltName, /IP Address:10\.20\.30\.40/);
    t.match(x509.subjectAltName, /IP Address:0:0:0:0:0:0:0:1/);
    t.ok(x509.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'extKeyUsage serverAuth');
    const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    t.ok(days > 3600 && days < 3700, `valid about ten years (${Math.round(days)} days)`);
    // Serial bytes with leading zeros (1 random serial in 256 had one) still make valid DER.
    const zeros = generateSelfSignedCertificate({ serial: Buffer.from([0, 0, 0x01, 0x02]) });
    t.equal(new crypto.X509Certificate(zeros.certPem).serialNumber, '0102', 'minimal INTEGER encoding');
    const high = generateSelfSignedCertificate({ serial: Buffer.from([0, 0x80, 0x01]) });
    t.equal(new crypto.X509Certificate(high.certPem).serialNumber, '8001', 'positive despite the high bit');
    // A TLS 1.3 server accepts the pair as is.
    t.doesNotThrow(() => tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: 'TLSv1.3' }));
  },
);

t.test('gateway.tls.enabled: generated once (0600), served as wss://, the same certificate on restart', async (t) => {
  const stateDir = tempStateDir(t);
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify({ gateway: { tls: { enabled: true } } }));
  const first = await startGateway({ port: 0, stateDir, token: TOKEN, env: {} });
  const { certPath, keyPath } = defaultTlsPaths(stateDir);
  t.match(first.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
  t.match(first.tls, { certPath, keyPath, generated: true, fingerprintSha256: /^[0-9a-f]{64}$/ });
  for (const file of [certPath, keyPath, path.dirname(certPath)]) {
    const mode = fs.statSync(file).mode & 0o777;
    t.equal(mode & 0o077, 0, `${path.basename(file)} is private (${mode.toString(8)})`);
  }
  const fingerprint = first.tls!.fingerprintSha256;
  t.equal(
    normalizeTlsFingerprint(new crypto.X509Certificate(fs.readFileSync(certPath)).fingerprint256),
    fingerprint,
    'the printed fingerprint is the stored certificate',
  );
  await first.close();
  const second = await startGateway({ port: 0, stateDir, token: TOKEN, env: {} });
  t.teardown(() => second.close());
  t.equal(second.tls?.generated, false, 'not generated again');
  t.equal(second.tls?.fingerprintSha256, fingerprint, 'pinned nodes keep working across restarts');

  const client = operator(second.url, fingerprint);
  const hello = await client.start();
  t.equal(hello.type, 'hello-ok', 'a pinned client completes the handshake over wss://');
  await client.close();
});

t.test('broken TLS material is refused at start, never replaced', async (t) => {
  const stateDir = tempStateDir(t);
  const { certPath, keyPath } = defaultTlsPaths(stateDir);
  fs.mkdirSync(path.dirname(certPath), { recursive: true, mode: 0o700 });
  const pair = generateSelfSignedCertificate();
  fs.writeFileSync(certPath, pair.certPem, { mode: 0o600 });
  await t.rejects(startGateway({ port: 0, stateDir, token: TOKEN, env: {}, tls: { enabled: true } }), {
    code: 'ERR_GATEWAY_TLS_CONFIG',
    message: /gateway-key\.pem is missing/,
  });
  t.equal(fs.readFileSync(certPath, 'utf8'), pair.certPem, 'a half pair is left as it was');
  fs.writeFileSync(keyPath, generateSelfSignedCertificate().keyPem, { mode: 0o600 });
  await t.rejects(startGateway({ port: 0, stateDir, token: TOKEN, env: {}, tls: { enabled: true } }), {
    code: 'ERR_GATEWAY_TLS_CONFIG',
    message: /is not the key of/,
  });
  fs.writeFileSync(keyPath, 'not a key', { mode: 0o600 });
  await t.rejects(startGateway({ port: 0, stateDir, token: TOKEN, env: {}, tls: { enabled: true } }), {
    code: 'ERR_GATEWAY_TLS_CONFIG',
  });
  // Files given by path are used as they are.
  const own = tempStateDir(t);
  const given = generateSelfSignedCertificate({ commonName: 'given' });
  fs.writeFileSync(path.join(own, 'c.pem'), given.certPem);
  fs.writeFileSync(path.join(own, 'k.pem'), given.keyPem, { mode: 0o600 });
  const gw = await startGateway({
    port: 0,
    stateDir: own,
    token: TOKEN,
    env: {},
    tls: { enabled: true, certPath: path.join(own, 'c.pem'), keyPath: path.join(own, 'k.pem') },
  });
  t.teardown(() => gw.close());
  t.equal(gw.tls?.generated, false);
  t.equal(gw.tls?.fingerprintSha256, normalizeTlsFingerprint(new crypto.X509Certificate(given.certPem).fingerprint256));
  t.notOk(fs.existsSync(defaultTlsPaths(own).certPath), 'nothing generated beside given files');
});

t.test(
  'bind modes resolve as upstream; beyond loopback needs auth and TLS, checked before anything is written',
  async (t) => {
    t.match(resolveBind(undefined), { mode: 'loopback', host: '127.0.0.1', loopbackCompanion: false });
    t.match(resolveBind('lan'), { mode: 'lan', host: '0.0.0.0', loopbackCompanion: false });
    t.match(resolveBind('custom', '192.168.7.9'), { mode: 'custom', host: '192.168.7.9', loopbackCompanion: true });
    t.match(resolveBind('custom', '127.0.0.1'), { host: '127.0.0.1', loopbackCompanion: false });
    t.throws(() => resolveBind('custom'), { code: 'ERR_GATEWAY_BIND_INVALID' }, 'custom without customBindHost');
    t.throws(() => resolveBind('custom', 'gw.example'), { code: 'ERR_GATEWAY_BIND_INVALID' }, 'custom takes IPv4 only');
    t.throws(() => resolveBind('everywhere'), { code: 'ERR_GATEWAY_BIND_INVALID' });
    t.match(resolveBind('10.1.2.3'), { mode: 'address', host: '10.1.2.3', loopbackCompanion: true });
    const tailnet = resolveBind('tailnet');
    t.ok(
      tailnetIPv4()
        ? tailnet.host === tailnetIPv4()
        : tailnet.host === '127.0.0.1' && /no Tailscale/.test(tailnet.note!),
      'tailnet: the Tailscale address when one is up, else loopback with a note',
    );
    const fakeInterfaces = {
      eth0: [{ address: '192.168.1.4', family: 'IPv4', internal: false }],
      tailscale0: [{ address: '100.101.102.103', family: 'IPv4', internal: false }],
    } as unknown as ReturnType<typeof import('node:os').networkInterfaces>;
    t.equal(tailnetIPv4(fakeInterfaces), '100.101.102.103', 'the CGNAT range is how a tailnet address is recognised');

    const stateDir = tempStateDir(t);
    await t.rejects(startGateway({ port: 0, stateDir, token: TOKEN, env: {}, bind: 'lan' }), {
      code: 'ERR_GATEWAY_TLS_REQUIRED',
    });
    await t.rejects(
      startGateway({ port: 0, stateDir, env: {}, bind: 'lan', authMode: 'none', tls: { enabled: true } }),
      { code: 'ERR_GATEWAY_AUTH_CONFIG' },
    );
    fs.writeFileSync(
      path.join(stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { bind: 'custom', customBindHost: '10.255.255.1', auth: { token: TOKEN } } }),
    );
    await t.rejects(startGateway({ port: 0, stateDir, env: {} }), { code: 'ERR_GATEWAY_TLS_REQUIRED' }, 'from config');
    t.notOk(fs.existsSync(defaultTlsPaths(stateDir).certPath), 'no certificate generated for a refused start');
  },
);

/** A TLS server with the given certificate that records every byte a client sends after the handshake. */
async function recordingTlsServer(t: Tap, pair: { certPem: string; keyPem: string }) {
  const received: Buffer[] = [];
  let connections = 0;
  const server = tls.createServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
  });
  server.on('connection', () => (connections += 1));
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return { url: `wss://127.0.0.1:${port}`, received, connections: () => connections };
}

type Tap = { teardown(fn: () => unknown): void };

t.test('a pin mismatch fails before the upgrade request: the peer receives nothing at all', async (t) => {
  const impostor = generateSelfSignedCertificate();
  const server = await recordingTlsServer(t, impostor);
  const client = operator(server.url, 'ab'.repeat(32));
  await t.rejects(client.start(), { code: 'ERR_GATEWAY_TLS_PIN_MISMATCH', message: /nothing was sent/ });
  await client.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(server.connections(), 1, 'the client connected (its TLS handshake is how it saw the certificate)');
  t.equal(Buffer.concat(server.received).length, 0, 'not one byte of HTTP, let alone the token, reached the peer');

  // The right pin against the same server: the upgrade request is sent (so the check above can fail).
  const fingerprint = normalizeTlsFingerprint(new crypto.X509Certificate(impostor.certPem).fingerprint256);
  const pinned = operator(server.url, fingerprint);
  void pinned.start().catch(() => {});
  const deadline = Date.now() + 20_000;
  while (Buffer.concat(server.received).length === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 25));
  t.match(
    Buffer.concat(server.received).toString(),
    /^GET \/ HTTP\/1\.1\r\n/,
    'with the right pin the upgrade goes out',
  );
  await pinned.close();
});

t.test('client TLS errors are typed: untrusted without a pin, a pin on ws://, a malformed pin', async (t) => {
  const gw = await startGateway({ port: 0, stateDir: tempStateDir(t), token: TOKEN, env: {}, tls: { enabled: true } });
  t.teardown(() => gw.close());
  const unpinned = operator(gw.url);
  await t.rejects(unpinned.start(), { code: 'ERR_GATEWAY_TLS_UNTRUSTED', message: /--tls-fingerprint/ });
  await unpinned.close();
  t.throws(() => operator(`ws://127.0.0.1:${gw.port}`, gw.tls!.fingerprintSha256), {
    code: 'ERR_GATEWAY_TLS_CONFIG',
  });
  t.throws(() => operator(gw.url, 'sha1:abcd'), { code: 'ERR_GATEWAY_TLS_CONFIG' });
  const colon = gw.tls!.fingerprintSha256.toUpperCase().match(/../g)!.join(':');
  const pinned = operator(gw.url, colon);
  t.equal((await pinned.start()).type, 'hello-ok', 'the colon-separated spelling pins the same certificate');
  await pinned.close();
  t.equal(gw.devices.paired().length, 0, 'no failed client got as far as pairing');
});
