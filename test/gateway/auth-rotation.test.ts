/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Secret rotation without a restart, over real sockets and real files: openclaw.json rewritten atomically
// closes the sessions that proved the old secret with 4001 "gateway auth changed"; new handshakes need the
// new one (the old gets the exact mismatch frame); device-token sessions stay; token↔password and none→token
// mode changes; a malformed, token-less or unsupported config keeps the old secret and the Gateway serving;
// chmod and symlinks at the config path behave as at startup; env secrets are not reloaded; GatewayClient
// follows a secret source after 4001 and stops with a clear error when it only had a literal.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { GatewayClient } from '../../lib/client/gateway-client.js';
import { operatorCredentials } from '../../lib/client/operator.js';
import { writeFileAtomic } from '../../lib/common/state-dir.js';
import type { AuthReloadOutcome } from '../../lib/gateway/auth-reload.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../lib/gateway/index.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import { RawClient, connectOk, connectParams, connectRaw, tempStateDir, until, type Tap } from '../helpers/gateway.js';

// Reloads are driven by fs.watch and a 2 s stat poll on a loaded box: deadlines are generous.
t.setTimeout(120_000);

const OLD = 'old-token-0123456789abcdef';
const NEW = 'new-token-fedcba9876543210';
const PASSWORD = 'rotation password';

interface Rotating {
  gw: GatewayHandle;
  stateDir: string;
  configPath: string;
  logs: string[];
  /** Resolves with the next reload outcome after the call (arm it before changing the file). */
  nextReload(timeoutMs?: number): Promise<AuthReloadOutcome>;
}

async function rotatingGateway(t: Tap, config: unknown, options: Partial<GatewayOptions> = {}): Promise<Rotating> {
  const stateDir = tempStateDir(t);
  const configPath = path.join(stateDir, 'openclaw.json');
  writeFileAtomic(configPath, JSON.stringify(config));
  const logs: string[] = [];
  const reloads = new EventEmitter<{ reload: [AuthReloadOutcome] }>();
  const gw = await startGateway({
    port: 0,
    stateDir,
    env: {},
    log: (line) => logs.push(line),
    onAuthReload: (outcome) => reloads.emit('reload', outcome),
    ...options,
  });
  t.teardown(() => gw.close());
  const nextReload = (timeoutMs = 30_000): Promise<AuthReloadOutcome> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reloads.off('reload', onReload);
        reject(new Error('no config reload'));
      }, timeoutMs);
      const onReload = (outcome: AuthReloadOutcome): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      reloads.once('reload', onReload);
    });
  return { gw, stateDir, configPath, logs, nextReload };
}

/** Rewrites the config (atomic rename, 0600) and waits for the reload it causes. */
async function rewrite(r: Rotating, content: unknown): Promise<AuthReloadOutcome> {
  const reloaded = r.nextReload();
  writeFileAtomic(r.configPath, typeof content === 'string' ? content : JSON.stringify(content));
  return reloaded;
}

const operator = { role: 'operator' as const, identity: null, clientId: 'gateway-client', mode: 'backend' };

async function connectPassword(gw: { url: string }, password: string): Promise<{ client: RawClient; res: any }> {
  const client = await RawClient.open(gw.url);
  const challenge = (await client.event('connect.challenge')) as any;
  const params = connectParams(challenge.payload.nonce, challenge.payload.ts, '', { ...operator, token: null });
  params.auth = { password };
  return { client, res: await client.request('connect', params) };
}

t.test('token rotated in openclaw.json: old sessions close 4001, new handshakes need the new token', async (t) => {
  const r = await rotatingGateway(t, { gateway: { auth: { token: OLD } } });
  t.equal(r.gw.authReloads, true, 'a config token follows the file');
  const before = await connectOk({ url: r.gw.url, token: OLD }, operator);
  const node = await connectOk({ url: r.gw.url, token: OLD }, { role: 'node' });
  t.equal(r.gw.nodes.list().length, 1);

  const outcome = await rewrite(r, { gateway: { auth: { token: NEW } }, other: { kept: true } });
  t.same(outcome, { status: 'rotated', mode: 'token', closed: 2 }, 'both shared-token sessions were closed');
  t.same(
    await before.client.closed,
    { code: 4001, reason: 'gateway auth changed' },
    'operator: close 4001 "gateway auth changed"',
  );
  t.same(await node.client.closed, { code: 4001, reason: 'gateway auth changed' }, 'node: close 4001 too');
  t.equal(r.gw.token, NEW, 'the handle reports the current token');

  const stale = await connectRaw({ url: r.gw.url, token: OLD }, operator);
  t.same(
    stale.res.error,
    {
      code: 'INVALID_REQUEST',
      message: 'unauthorized: gateway token mismatch',
      details: {
        code: 'AUTH_TOKEN_MISMATCH',
        authReason: 'token_mismatch',
        canRetryWithDeviceToken: false,
        recommendedNextStep: 'update_auth_credentials',
      },
    },
    'the old token gets the exact mismatch frame',
  );
  t.equal((await stale.client.closed).code, 1008);
  const fresh = await connectOk({ url: r.gw.url, token: NEW }, operator);
  t.equal((await fresh.client.request('node.list', {})).ok, true, 'the new token works');
  await until(() => r.gw.nodes.list().length === 0, 30_000);
  t.pass('the closed node left the registry');

  t.equal(fs.statSync(r.configPath).mode & 0o777, 0o600, 'the config stays 0600');
  const logged = r.logs.join('\n');
  t.match(logged, /gateway auth changed \(token\); closed 2 connections with 4001/);
  t.notOk(logged.includes(OLD) || logged.includes(NEW), 'no secret in the log');

  const again = await rewrite(r, { gateway: { auth: { token: NEW } }, other: { kept: false } });
  t.same(again, { status: 'unchanged' }, 'an unrelated edit changes nothing');
  t.equal((await fresh.client.request('health', {})).ok, true, 'and closes nothing');
  fresh.client.close();
});

t.test('device-token sessions stay after a rotation (only shared-secret sessions are closed)', async (t) => {
  const r = await rotatingGateway(t, { gateway: { auth: { token: OLD } } });
  const identity = generateDeviceIdentity();
  const first = await connectOk({ url: r.gw.url, token: OLD }, { role: 'operator', identity });
  const deviceToken = first.res.payload.auth.deviceToken as string;
  t.match(deviceToken, /^[A-Za-z0-9_-]{43}$/);
  const byDevice = await connectOk(
    { url: r.gw.url, token: OLD },
    { role: 'operator', identity, token: null, deviceToken },
  );
  t.equal(byDevice.res.payload.auth.method, 'device-token');

  t.same(await rewrite(r, { gateway: { auth: { token: NEW } } }), { status: 'rotated', mode: 'token', closed: 1 });
  t.equal((await first.client.closed).code, 4001, 'the shared-token session is closed');
  t.equal((await byDevice.client.request('node.list', {})).ok, true, 'the device-token session keeps working');
  const reconnect = await connectOk(
    { url: r.gw.url, token: NEW },
    { role: 'operator', identity, token: null, deviceToken },
  );
  t.equal(reconnect.res.payload.auth.method, 'device-token', 'the device token still admits new connections');
  byDevice.client.close();
  reconnect.client.close();
});

t.test('mode changes: token → password → token, and none → token', async (t) => {
  const r = await rotatingGateway(t, { gateway: { auth: { token: OLD } } });
  const tokenSession = await connectOk({ url: r.gw.url, token: OLD }, operator);
  t.same(await rewrite(r, { gateway: { auth: { mode: 'password', password: PASSWORD, token: OLD } } }), {
    status: 'rotated',
    mode: 'password',
    closed: 1,
  });
  t.same(await tokenSession.client.closed, { code: 4001, reason: 'gateway auth changed' });
  t.same(r.gw.auth, {
    mode: 'password',
    source: 'config',
    location: `${r.configPath} (gateway.auth.password)`,
    password: PASSWORD,
  });
  const oldToken = await connectRaw({ url: r.gw.url, token: OLD }, operator);
  t.equal(oldToken.res.ok, false, 'the token no longer admits in password mode');
  const pw = await connectPassword(r.gw, PASSWORD);
  t.equal(pw.res.ok, true, 'the password does');

  t.same(await rewrite(r, { gateway: { auth: { mode: 'token', token: NEW, password: PASSWORD } } }), {
    status: 'rotated',
    mode: 'token',
    closed: 1,
  });
  t.same(await pw.client.closed, { code: 4001, reason: 'gateway auth changed' }, 'the password session is closed');
  t.equal((await connectOk({ url: r.gw.url, token: NEW }, operator)).res.ok, true);

  // Mode none admitted sessions without a secret: enabling a token must not leave them connected.
  const open = await rotatingGateway(t, { gateway: { auth: { mode: 'none' } } });
  const unauthenticated = await connectOk({ url: open.gw.url, token: '' }, { ...operator, token: null });
  t.same(await rewrite(open, { gateway: { auth: { mode: 'token', token: NEW } } }), {
    status: 'rotated',
    mode: 'token',
    closed: 1,
  });
  t.same(await unauthenticated.client.closed, { code: 4001, reason: 'gateway auth changed' });
  const missing = await connectRaw({ url: open.gw.url, token: '' }, { ...operator, token: null });
  t.match(missing.res.error, { details: { code: 'AUTH_TOKEN_MISSING' } }, 'a token is required now');
});

t.test(
  'a malformed, token-less or unsupported config keeps the old secret; the next good change applies',
  async (t) => {
    const r = await rotatingGateway(t, { gateway: { auth: { token: OLD } } });
    const session = await connectOk({ url: r.gw.url, token: OLD }, operator);

    const malformed = await rewrite(r, '{"gateway": {"auth": {"token": ');
    t.match(malformed, { status: 'failed', message: /is not valid JSON/ });
    const sameAgain = await rewrite(r, '{"gateway": {"auth": {"token": ');
    t.match(sameAgain, { status: 'failed' }, 'a second save of the same bad file');
    t.equal(
      r.logs.filter((l) => l.startsWith('gateway auth reload failed, keeping the current secret:')).length,
      1,
      'one log line per distinct problem',
    );
    t.equal((await session.client.request('node.list', {})).ok, true, 'the live session keeps working');
    t.equal((await connectOk({ url: r.gw.url, token: OLD }, operator)).res.ok, true, 'the old token still admits');

    const tokenless = await rewrite(r, { gateway: { auth: {} } });
    t.match(tokenless, { status: 'failed', message: /gateway\.auth\.token is missing/ });
    t.same(
      JSON.parse(fs.readFileSync(r.configPath, 'utf8')),
      { gateway: { auth: {} } },
      'no token generated into the file mid-run',
    );
    t.match(await rewrite(r, { gateway: { auth: { mode: 'trusted-proxy' } } }), {
      status: 'failed',
      message: /trusted-proxy is not supported/,
    });
    t.match(await rewrite(r, { gateway: { auth: { mode: 'password' } } }), {
      status: 'failed',
      message: /no password was configured/,
    });
    t.match(await rewrite(r, { gateway: { auth: { token: 42 } } }), { status: 'failed', message: /must be a string/ });
    t.equal(r.gw.auth.mode, 'token');
    t.equal(r.gw.token, OLD, 'never fell back to another mode or secret');
    t.equal((await connectOk({ url: r.gw.url, token: OLD }, operator)).res.ok, true);
    t.notOk(r.logs.join('\n').includes(OLD), 'no secret in the log');

    t.same(
      await rewrite(r, { gateway: { auth: { token: NEW } } }),
      { status: 'rotated', mode: 'token', closed: 3 },
      'the next good change applies',
    );
    t.equal((await session.client.closed).code, 4001);
  },
);

t.test('chmod and symlinks at the config path are handled as at startup', async (t) => {
  const r = await rotatingGateway(t, { gateway: { auth: { token: OLD } } });
  const session = await connectOk({ url: r.gw.url, token: OLD }, operator);

  // A chmod changes no bytes: the stat poll notices it, the secret is the same, nothing is closed.
  const chmodded = r.nextReload();
  fs.chmodSync(r.configPath, 0o640);
  t.same(await chmodded, { status: 'unchanged' });
  t.equal((await session.client.request('health', {})).ok, true);
  fs.chmodSync(r.configPath, 0o600);
  await r.nextReload();

  // A symlink is followed, as the startup read follows it.
  const target = path.join(r.stateDir, 'real-config.json');
  writeFileAtomic(target, JSON.stringify({ gateway: { auth: { token: NEW } } }));
  const linked = r.nextReload();
  const tmpLink = `${r.configPath}.link`;
  fs.symlinkSync(target, tmpLink);
  fs.renameSync(tmpLink, r.configPath);
  t.same(await linked, { status: 'rotated', mode: 'token', closed: 1 });
  t.equal((await session.client.closed).code, 4001);
  t.equal((await connectOk({ url: r.gw.url, token: NEW }, operator)).res.ok, true);

  // A symlink to something that is not a regular file is refused, as at startup; the secret stays.
  const dirLink = `${r.configPath}.dirlink`;
  fs.symlinkSync(r.stateDir, dirLink);
  const toDir = r.nextReload();
  fs.renameSync(dirLink, r.configPath);
  t.match(await toDir, { status: 'failed', message: /is not a regular file/ });
  t.equal(
    (await connectOk({ url: r.gw.url, token: NEW }, operator)).res.ok,
    true,
    'still serving with the last good token',
  );
});

t.test('a token from the environment is not reloaded; the file cannot override it', async (t) => {
  const r = await rotatingGateway(
    t,
    { gateway: { auth: { token: OLD } } },
    { env: { OPENCLAW_GATEWAY_TOKEN: 'env-token-abcdef0123' } },
  );
  t.equal(r.gw.auth.source, 'env');
  t.equal(r.gw.authReloads, false, 'reported as fixed for the run');
  const session = await connectOk({ url: r.gw.url, token: 'env-token-abcdef0123' }, operator);
  t.same(await rewrite(r, { gateway: { auth: { token: NEW } } }), { status: 'unchanged' });
  t.equal((await session.client.request('node.list', {})).ok, true, 'the env-token session stays');
});

t.test(
  'GatewayClient: a secret source reconnects with the new secret; a literal stops with a clear error',
  async (t) => {
    const r = await rotatingGateway(t, { gateway: { auth: { token: OLD } } });
    const client = (extra: Record<string, unknown>): GatewayClient =>
      new GatewayClient({
        url: r.gw.url,
        role: 'operator',
        scopes: ['operator.read'],
        client: { id: 'gateway-client', mode: 'backend', version: '0.0.1', platform: process.platform },
        reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
        ...extra,
      });
    const sourced = client({ credentials: operatorCredentials({}, { OPENCLAW_STATE_DIR: r.stateDir }) });
    const literal = client({ token: OLD });
    t.teardown(() => Promise.all([sourced.close(), literal.close()]));
    await sourced.start();
    await literal.start();

    const sourcedDrop = new Promise<any>((resolve) => sourced.once('disconnect', resolve));
    const literalDrop = new Promise<any>((resolve) => literal.once('disconnect', resolve));
    const sourcedBack = new Promise<void>((resolve) => sourced.once('hello', () => resolve()));
    t.same(await rewrite(r, { gateway: { auth: { token: NEW } } }), { status: 'rotated', mode: 'token', closed: 2 });

    t.match(await sourcedDrop, { code: 4001, reason: 'gateway auth changed', willReconnect: true });
    await sourcedBack;
    t.match(
      await sourced.request('node.list', {}),
      { nodes: [] },
      'reconnected with the token read anew from openclaw.json',
    );

    const dropped = await literalDrop;
    t.match(dropped, {
      code: 4001,
      willReconnect: false,
      error: { code: 'ERR_GATEWAY_AUTH_CHANGED', message: /fixed token\/password; restart it with the new secret/ },
    });
    t.equal(literal.connected, false, 'the literal client stays down instead of retrying a dead secret');
  },
);
