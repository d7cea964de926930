// Host and Origin of every request to the Gateway's listener (issue 7 items 12 and 15): DNS rebinding,
// cross-site WebSocket hijacking, password guessing from a page, and "local" auto-pairing by Host.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import t from 'tap';

import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  allowedOriginsFromConfig,
  checkRequestOrigin,
  isLocalHostHeader,
  normaliseOrigin,
} from '../../lib/gateway/request-origin.js';
import { RawClient, connectOk, connectRaw, startTestGateway, tempStateDir } from '../helpers/gateway.js';

/** Status of a WebSocket upgrade with these headers: 101 when it opened, else the HTTP status. */
async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  try {
    const client = await RawClient.open(url, headers);
    client.close();
    return 101;
  } catch (err) {
    const match = /HTTP (\d+)/.exec((err as Error).message);
    if (!match) throw err;
    return Number(match[1]);
  }
}

/** Status and body of a plain GET with these headers. */
function httpGet(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

t.test('checkRequestOrigin: Host and Origin rules (pure)', async (t) => {
  const facts = (headers: Record<string, string>, remoteAddress = '127.0.0.1', localPort = 18789) => ({
    headers,
    socket: { remoteAddress, localPort },
  });
  const loopback = { bindHost: '127.0.0.1' };
  t.match(checkRequestOrigin(facts({ host: '127.0.0.1:18789' }), loopback), {
    ok: true,
    browser: false,
    directLocal: true,
  });
  t.match(checkRequestOrigin(facts({ host: 'LOCALHOST:18789' }), loopback), { ok: true, directLocal: true });
  t.match(checkRequestOrigin(facts({ host: '[::1]:18789' }, '::1'), loopback), { ok: true, directLocal: true });
  for (const host of [
    'evil.example:18789',
    'localhost:18790',
    'localhost',
    '127.0.0.1',
    'evil.example@127.0.0.1:18789',
    '127.0.0.1:18789/x',
    'localhost.evil.example:18789',
    '127.0.0.1:18789, evil.example',
    '',
  ]) {
    t.match(
      checkRequestOrigin(facts({ host }), loopback),
      { ok: false, status: 403, code: 'ERR_HOST_NOT_ALLOWED' },
      host,
    );
  }
  t.match(checkRequestOrigin(facts({}), loopback), { ok: false, code: 'ERR_HOST_NOT_ALLOWED' }, 'no Host');
  for (const origin of [
    'http://127.0.0.1:18789',
    'http://localhost:18789',
    'http://[::1]:18789',
    'HTTP://LOCALHOST:18789',
    'http://localhost:18789/',
  ]) {
    t.match(
      checkRequestOrigin(facts({ host: 'localhost:18789', origin }), loopback),
      { ok: true, browser: true, directLocal: false },
      `own origin ${origin}`,
    );
  }
  for (const origin of [
    'http://evil.example',
    'http://127.0.0.1:5173',
    'https://127.0.0.1:18789',
    'http://localhost:18789/page',
    'null',
    '',
    'file://',
    'http://user@localhost:18789',
  ]) {
    t.match(
      checkRequestOrigin(facts({ host: 'localhost:18789', origin }), loopback),
      { ok: false, status: 403, code: 'ERR_ORIGIN_NOT_ALLOWED' },
      `foreign origin ${JSON.stringify(origin)}`,
    );
  }
  t.match(
    checkRequestOrigin(facts({ host: 'localhost:18789', origin: 'https://ui.example' }), {
      ...loopback,
      allowedOrigins: ['https://ui.example'],
    }),
    { ok: true, browser: true, origin: 'https://ui.example' },
  );
  t.match(
    checkRequestOrigin(facts({ host: 'localhost:18789', origin: 'https://other.example' }), {
      ...loopback,
      allowedOrigins: ['*'],
    }),
    { ok: true, browser: true },
    '"*" admits any origin (the Host rule still holds)',
  );
  t.match(
    checkRequestOrigin(facts({ host: '127.0.0.1:18789', 'x-forwarded-for': '10.0.0.1' }), loopback),
    { ok: true, directLocal: false },
    'proxy headers: not direct local',
  );
  t.match(
    checkRequestOrigin(facts({ host: '127.0.0.1:18789' }, '10.0.0.7'), loopback),
    { ok: true, directLocal: false },
    'remote peer: not direct local',
  );
  // A LAN bind cannot know its names: Host is not checked, but only a local Host is "direct local".
  const lan = { bindHost: '0.0.0.0' };
  t.match(checkRequestOrigin(facts({ host: 'evil.example:18789' }), lan), { ok: true, directLocal: false });
  t.match(checkRequestOrigin(facts({ host: '192.168.1.5:18789', origin: 'http://192.168.1.5:18789' }), lan), {
    ok: false,
    code: 'ERR_ORIGIN_NOT_ALLOWED',
  });
  t.match(
    checkRequestOrigin(facts({ host: '192.168.1.5:18789', origin: 'http://192.168.1.5:18789' }), {
      bindHost: '192.168.1.5',
    }),
    { ok: true, browser: true },
    'a specific LAN bind address is an own origin',
  );
  t.match(
    checkRequestOrigin(
      {
        headers: { host: 'localhost:18789' },
        rawHeaders: ['Host', 'localhost:18789', 'host', 'evil'],
        socket: { localPort: 18789 },
      },
      loopback,
    ),
    { ok: false, status: 400, code: 'ERR_HEADER_AMBIGUOUS' },
  );
  t.ok(isLocalHostHeader('127.0.0.2:80', 80));
  t.notOk(isLocalHostHeader('127.0.0.1:8080', 80));
  t.equal(normaliseOrigin('chrome-extension://abcdefgh'), 'chrome-extension://abcdefgh');
  t.same(allowedOriginsFromConfig({ gateway: { controlUi: { allowedOrigins: ['https://A.example:443', '*'] } } }), [
    'https://a.example',
    '*',
  ]);
  t.same(allowedOriginsFromConfig({}), []);
  t.throws(() => allowedOriginsFromConfig({ gateway: { controlUi: { allowedOrigins: 'https://a.example' } } }), {
    code: 'ERR_CONFIG_MALFORMED',
  });
  t.throws(() => allowedOriginsFromConfig({ gateway: { controlUi: { allowedOrigins: ['https://a.example/path'] } } }), {
    code: 'ERR_CONFIG_MALFORMED',
  });
});

t.test('a real gateway refuses foreign Origins and rebinding Hosts before the handshake', async (t) => {
  const gw = await startTestGateway(t);
  const port = gw.port;
  t.equal(await upgradeStatus(gw.url, {}), 101, 'no Origin (node, CLI): admitted');
  t.equal(await upgradeStatus(gw.url, { origin: `http://127.0.0.1:${port}` }), 101, 'own origin 127.0.0.1');
  t.equal(await upgradeStatus(gw.url, { origin: `http://localhost:${port}` }), 101, 'own origin localhost');
  t.equal(await upgradeStatus(gw.url, { origin: 'http://evil.example' }), 403, 'foreign page');
  t.equal(await upgradeStatus(gw.url, { origin: `http://127.0.0.1:${port + 1}` }), 403, 'another local port');
  t.equal(await upgradeStatus(gw.url, { origin: 'null' }), 403, 'sandboxed page / file:');
  t.equal(await upgradeStatus(gw.url, { host: `evil.example:${port}` }), 403, 'DNS rebinding Host, no Origin');
  t.equal(
    await upgradeStatus(gw.url, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }),
    403,
    'DNS rebinding page (same-origin to itself)',
  );
  t.equal(await upgradeStatus(gw.url, { host: `localhost:${port + 1}` }), 403, 'local name, wrong port');
  const plain = await httpGet(port, { host: `evil.example:${port}` });
  t.equal(plain.status, 403, 'plain HTTP with a rebinding Host');
  t.match(plain.body, /ERR_HOST_NOT_ALLOWED/);
  t.equal((await httpGet(port, { origin: 'http://evil.example' })).status, 403, 'plain HTTP from a foreign page');
  t.equal((await httpGet(port, {})).status, 200, 'plain HTTP without Origin, local Host: the control page');
  t.equal(gw.connectionCount(), 0, 'no refused request became a connection');
});

t.test('gateway.controlUi.allowedOrigins in openclaw.json admits more origins and follows reloads', async (t) => {
  const stateDir = tempStateDir(t);
  const configPath = path.join(stateDir, 'openclaw.json');
  const write = (origins: string[]): void =>
    fs.writeFileSync(configPath, JSON.stringify({ gateway: { controlUi: { allowedOrigins: origins } } }), {
      mode: 0o600,
    });
  write(['https://ui.example']);
  const gw = await startTestGateway(t, { stateDir });
  t.equal(await upgradeStatus(gw.url, { origin: 'https://ui.example' }), 101, 'configured origin');
  t.equal(await upgradeStatus(gw.url, { origin: 'https://other.example' }), 403, 'unlisted origin');
  write(['https://other.example']);
  gw.reloadAuth();
  t.equal(await upgradeStatus(gw.url, { origin: 'https://other.example' }), 101, 'reloaded list applies');
  t.equal(await upgradeStatus(gw.url, { origin: 'https://ui.example' }), 403, 'removed origin refused');
});

t.test(
  'browser clients are rate-limited on loopback; the local CLI is neither exempted out nor locked out',
  async (t) => {
    const gw = await startTestGateway(t, {
      authMode: 'password',
      password: 'right-password',
      token: undefined,
      authRateLimit: { maxAttempts: 3, lockoutMs: 10 * 60_000 },
    });
    const page = { origin: `http://127.0.0.1:${gw.port}` };
    const guess = async (password: string, headers: Record<string, string> = {}) => {
      const client = await RawClient.open(gw.url, headers);
      const challenge = await client.event('connect.challenge');
      const res = await client.request('connect', {
        minProtocol: 4,
        maxProtocol: 4,
        client: { id: 'openclaw-control-ui', version: '1', platform: 'web', mode: 'ui' },
        role: 'operator',
        scopes: [],
        auth: { password },
      });
      client.close();
      t.ok(challenge);
      return res;
    };
    for (let i = 0; i < 3; i++) {
      const res = await guess(`wrong-${i}`, page);
      t.match(res.error?.details, { code: 'AUTH_PASSWORD_MISMATCH' }, `browser guess ${i + 1} counted`);
    }
    const locked = await guess('right-password', page);
    t.match(
      locked.error?.details,
      { code: 'AUTH_RATE_LIMITED' },
      'the page is locked out, even with the right password',
    );
    for (let i = 0; i < 5; i++) {
      const res = await guess(`cli-wrong-${i}`);
      t.match(res.error?.details, { code: 'AUTH_PASSWORD_MISMATCH' }, 'a local non-browser client stays exempt');
    }
    const cli = await guess('right-password');
    t.equal(cli.ok, true, 'the local CLI is not locked out by the page');
  },
);

t.test('item 15: a loopback connect with a foreign Host is not auto-paired as local', async (t) => {
  // A LAN bind cannot refuse the Host, so the connect reaches pairing: only a local Host counts as local.
  const gw = await startTestGateway(t, { host: '0.0.0.0', tls: { enabled: true } });
  const url = `wss://127.0.0.1:${gw.port}`;
  const identity = generateDeviceIdentity();
  const foreign = await connectRaw(
    { url, token: gw.token },
    { identity, scopes: ['operator.read'], headers: { host: `evil.example:${gw.port}` } },
  );
  t.match(
    foreign.res.error,
    { code: 'NOT_PAIRED', details: { code: 'PAIRING_REQUIRED', reason: 'not-paired' } },
    'Host evil.example: pairing required',
  );
  foreign.client.close();
  t.equal(gw.devices.paired().length, 0, 'nothing was paired');
  const local = await connectOk({ url, token: gw.token }, { identity, scopes: ['operator.read'] });
  t.equal(local.res.payload.auth.role, 'operator', 'the same device with a local Host is auto-paired');
  local.client.close();
});
