/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Gateway auth modes over real sockets: password mode (accept, each rejection's exact frame and close,
// precedence of option/config/env, derived from a configured password), mode none (explicit only, who
// may go device-less, loopback-only bind), device identity still required for nodes in every mode,
// device tokens beside a password, and our own clients (GatewayClient, connectOperator) sending auth.password.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { GatewayClient } from '../../lib/client/gateway-client.js';
import { GatewayRequestError } from '../../lib/client/errors.js';
import { connectOperator, resolveOperatorTarget } from '../../lib/client/operator.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../lib/gateway/index.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import {
  ALL_OPERATOR_SCOPES,
  RawClient,
  connectParams,
  tempStateDir,
  type ConnectOptions,
  type Tap,
} from '../helpers/gateway.js';

const PASSWORD = 'correct horse battery staple';

function writeConfig(stateDir: string, config: unknown): string {
  const file = path.join(stateDir, 'openclaw.json');
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

async function gateway(t: Tap, options: GatewayOptions & { stateDir: string }): Promise<GatewayHandle> {
  const gw = await startGateway({ port: 0, env: {}, ...options });
  t.teardown(() => gw.close());
  return gw;
}

async function passwordGateway(t: Tap, password = PASSWORD): Promise<GatewayHandle> {
  const stateDir = tempStateDir(t);
  writeConfig(stateDir, { gateway: { auth: { password } } });
  return gateway(t, { stateDir });
}

/** A raw connect whose `auth` is exactly `auth` (the helper's token left out). */
async function connectWith(
  gw: { url: string },
  auth: Record<string, unknown>,
  opts: ConnectOptions = {},
): Promise<{ client: RawClient; res: any; identity: any }> {
  const client = await RawClient.open(gw.url);
  const challenge = (await client.event('connect.challenge')) as any;
  const identity =
    opts.identity === undefined ? (opts.role === 'node' ? generateDeviceIdentity() : null) : opts.identity;
  const signedToken = typeof auth.token === 'string' ? auth.token : undefined;
  const params = connectParams(challenge.payload.nonce, challenge.payload.ts, '', {
    ...opts,
    identity,
    token: signedToken ?? null,
    deviceToken: auth.deviceToken as string | undefined,
  });
  params.auth = auth;
  const res = await client.request('connect', params);
  return { client, res, identity };
}

t.test(
  'password mode: derived from a configured password; right password connects, hello-ok says password',
  async (t) => {
    const gw = await passwordGateway(t);
    t.same(gw.auth, {
      mode: 'password',
      source: 'config',
      location: `${gw.configPath} (gateway.auth.password)`,
      password: PASSWORD,
    });
    t.equal(gw.token, '', 'no token in password mode');
    t.notOk(
      JSON.parse(fs.readFileSync(gw.configPath, 'utf8')).gateway.auth.token,
      'no token generated into the config',
    );

    const op = await connectWith(
      gw,
      { password: PASSWORD },
      { role: 'operator', clientId: 'gateway-client', mode: 'backend' },
    );
    t.equal(op.res.ok, true, 'device-less local backend operator with the password');
    t.notOk(
      'authMode' in op.res.payload.snapshot,
      'no snapshot.authMode: 2026.9.6 sends none (interop); hello-ok auth.method tells',
    );
    t.match(await op.client.request('node.list', {}), { ok: true }, 'keeps its scopes');

    const node = await connectWith(gw, { password: PASSWORD }, { role: 'node' });
    t.equal(node.res.ok, true, JSON.stringify(node.res.error));
    t.match(node.res.payload.auth, { method: 'password', role: 'node', scopes: [], deviceToken: String });

    const padded = await connectWith(
      gw,
      { password: `  ${PASSWORD}\n` },
      { role: 'operator', clientId: 'gateway-client', mode: 'backend' },
    );
    t.equal(padded.res.ok, true, 'surrounding whitespace is trimmed, as upstream does on both sides');
  },
);

t.test(
  'password mode rejections: exact error frame and close 1008 for missing, wrong, wrong length, a token instead',
  async (t) => {
    const gw = await passwordGateway(t);
    const cases: Array<[string, Record<string, unknown>, string, string, string, string]> = [
      [
        'missing',
        {},
        'AUTH_PASSWORD_MISSING',
        'password_missing',
        'update_auth_configuration',
        'unauthorized: gateway password missing (provide gateway auth password)',
      ],
      [
        'empty',
        { password: '' },
        'AUTH_PASSWORD_MISSING',
        'password_missing',
        'update_auth_configuration',
        'unauthorized: gateway password missing (provide gateway auth password)',
      ],
      [
        'wrong',
        { password: 'correct horse battery stapler' },
        'AUTH_PASSWORD_MISMATCH',
        'password_mismatch',
        'update_auth_credentials',
        'unauthorized: gateway password mismatch (provide gateway auth password)',
      ],
      [
        'wrong length',
        { password: 'x'.repeat(1024) },
        'AUTH_PASSWORD_MISMATCH',
        'password_mismatch',
        'update_auth_credentials',
        'unauthorized: gateway password mismatch (provide gateway auth password)',
      ],
      [
        'prefix',
        { password: PASSWORD.slice(0, -1) },
        'AUTH_PASSWORD_MISMATCH',
        'password_mismatch',
        'update_auth_credentials',
        'unauthorized: gateway password mismatch (provide gateway auth password)',
      ],
      [
        'case',
        { password: PASSWORD.toUpperCase() },
        'AUTH_PASSWORD_MISMATCH',
        'password_mismatch',
        'update_auth_credentials',
        'unauthorized: gateway password mismatch (provide gateway auth password)',
      ],
      [
        'token instead',
        { token: PASSWORD },
        'AUTH_PASSWORD_MISSING',
        'password_missing',
        'update_auth_configuration',
        'unauthorized: gateway password missing (provide gateway auth password)',
      ],
    ];
    for (const [name, auth, code, authReason, next, message] of cases) {
      const { client, res } = await connectWith(gw, auth, { role: 'node' });
      t.same(
        res.error,
        {
          code: 'INVALID_REQUEST',
          message,
          details: { code, authReason, canRetryWithDeviceToken: false, recommendedNextStep: next },
        },
        `${name}: error frame`,
      );
      t.same(await client.closed, { code: 1008, reason: message }, `${name}: close 1008 with the message`);
    }
    const huge = await connectWith(gw, { password: 'x'.repeat(1025) }, { role: 'node' });
    t.match(
      huge.res.error,
      { code: 'INVALID_REQUEST', message: /^invalid connect params: \/auth\/password/ },
      'over 1024 characters: a schema error, no compare',
    );
    t.equal((await huge.client.closed).code, 1008);
    const cli = await connectWith(gw, { password: 'nope' }, { role: 'operator', identity: null });
    t.equal(
      cli.res.error.message,
      'unauthorized: gateway password mismatch (set gateway.remote.password to match gateway.auth.password)',
      'CLI-mode clients get the config hint',
    );
    t.equal(gw.nodes.list().length, 0, 'no node registered by any rejected connect');
    const ok = await connectWith(gw, { password: PASSWORD }, { role: 'node' });
    t.equal(ok.res.ok, true, 'the gateway keeps serving after the rejections');
  },
);

t.test('password mode: unicode passwords compare exactly (no normalisation)', async (t) => {
  const nfc = 'pässwörd-🔑-\u00e9';
  const gw = await passwordGateway(t, nfc);
  t.equal((await connectWith(gw, { password: nfc }, { role: 'node' })).res.ok, true, 'the same code points connect');
  const nfd = nfc.normalize('NFD');
  t.not(nfd, nfc);
  t.match(
    (await connectWith(gw, { password: nfd }, { role: 'node' })).res.error.details,
    { code: 'AUTH_PASSWORD_MISMATCH' },
    'NFD form of an NFC password is a different password',
  );
  t.match((await connectWith(gw, { password: 'pässwörd-🔑-e' }, { role: 'node' })).res.error.details, {
    code: 'AUTH_PASSWORD_MISMATCH',
  });
  t.match(
    (await connectWith(gw, { password: `${nfc.slice(0, -1)}\ud800` }, { role: 'node' })).res.error.details,
    { code: 'AUTH_PASSWORD_MISMATCH' },
    'a lone surrogate is not U+FFFD-equal to anything',
  );
});

t.test(
  'precedence: option > gateway.auth.password > OPENCLAW_GATEWAY_PASSWORD; an explicit mode wins over a configured password',
  async (t) => {
    const stateDir = tempStateDir(t);
    writeConfig(stateDir, { gateway: { auth: { password: 'from-config' } } });
    const env = { OPENCLAW_GATEWAY_PASSWORD: 'from-env' };
    const configFirst = await startGateway({ port: 0, stateDir, env });
    t.match(
      configFirst.auth,
      { mode: 'password', source: 'config' },
      'the gateway reads the config first, as upstream',
    );
    t.match((await connectWith(configFirst, { password: 'from-env' }, { role: 'node' })).res.error.details, {
      code: 'AUTH_PASSWORD_MISMATCH',
    });
    t.equal((await connectWith(configFirst, { password: 'from-config' }, { role: 'node' })).res.ok, true);
    await configFirst.close();

    const option = await startGateway({ port: 0, stateDir, env, password: 'from-option' });
    t.match(option.auth, { mode: 'password', source: 'option', location: '--password (not stored)' });
    t.equal((await connectWith(option, { password: 'from-option' }, { role: 'node' })).res.ok, true);
    await option.close();

    const envOnly = tempStateDir(t);
    const fromEnv = await startGateway({ port: 0, stateDir: envOnly, env });
    t.match(
      fromEnv.auth,
      { mode: 'password', source: 'env', location: '$OPENCLAW_GATEWAY_PASSWORD' },
      'a password in the env alone selects password mode',
    );
    t.equal((await connectWith(fromEnv, { password: 'from-env' }, { role: 'node' })).res.ok, true);
    await fromEnv.close();

    writeConfig(stateDir, { gateway: { auth: { mode: 'token', token: 'cfg-token-123', password: 'from-config' } } });
    const tokenMode = await startGateway({ port: 0, stateDir, env });
    t.teardown(() => tokenMode.close());
    t.match(tokenMode.auth, { mode: 'token', source: 'config' }, 'mode token named in config: the password is ignored');
    t.match((await connectWith(tokenMode, { password: 'from-config' }, { role: 'node' })).res.error.details, {
      code: 'AUTH_TOKEN_MISSING',
    });
    const both = await connectWith(tokenMode, { token: 'cfg-token-123', password: 'anything' }, { role: 'node' });
    t.equal(both.res.ok, true, 'a client sending both secrets gets through on the one the mode uses');
    t.equal(both.res.payload.auth.method, 'token');
  },
);

t.test('config errors fail closed at start-up', async (t) => {
  const cases: Array<[string, unknown, NodeJS.ProcessEnv, string]> = [
    ['mode password without a password', { gateway: { auth: { mode: 'password' } } }, {}, 'ERR_GATEWAY_AUTH_CONFIG'],
    ['trusted-proxy', { gateway: { auth: { mode: 'trusted-proxy' } } }, {}, 'ERR_GATEWAY_AUTH_UNSUPPORTED'],
    ['unknown mode', { gateway: { auth: { mode: 'open' } } }, {}, 'ERR_CONFIG_MALFORMED'],
    ['password not a string', { gateway: { auth: { password: 1234 } } }, {}, 'ERR_CONFIG_MALFORMED'],
    [
      'unresolvable secret reference',
      { gateway: { auth: { password: { source: 'env', id: 'X' } } } },
      {},
      'ERR_GATEWAY_AUTH_CONFIG',
    ],
  ];
  for (const [name, config, env, code] of cases) {
    const stateDir = tempStateDir(t);
    writeConfig(stateDir, config);
    await t.rejects(startGateway({ port: 0, stateDir, env }), { code }, name);
  }
  const stateDir = tempStateDir(t);
  writeConfig(stateDir, { gateway: { auth: { password: { source: 'env', id: 'X' } } } });
  const gw = await gateway(t, { stateDir, env: { OPENCLAW_GATEWAY_PASSWORD: 'env-pw' } });
  t.match(
    gw.auth,
    { mode: 'password', source: 'env' },
    'a secret reference beside OPENCLAW_GATEWAY_PASSWORD uses the env value',
  );
});

t.test('device identity is required for nodes in every mode', async (t) => {
  const pw = await passwordGateway(t);
  const stateDir = tempStateDir(t);
  writeConfig(stateDir, { gateway: { auth: { mode: 'none' } } });
  const none = await gateway(t, { stateDir });
  const token = await gateway(t, { stateDir: tempStateDir(t), token: 'tok-0123456789' });
  for (const [name, gw, auth] of [
    ['password', pw, { password: PASSWORD }],
    ['none', none, {}],
    ['token', token, { token: 'tok-0123456789' }],
  ] as const) {
    const { client, res } = await connectWith(gw, auth, { role: 'node', identity: null });
    t.same(
      res.error,
      { code: 'NOT_PAIRED', message: 'device identity required', details: { code: 'DEVICE_IDENTITY_REQUIRED' } },
      `${name}: node without device`,
    );
    t.same(await client.closed, { code: 1008, reason: 'device identity required' });
  }
});

t.test(
  'mode none: explicit only; a local backend goes device-less with its scopes, others need a device; loopback bind only',
  async (t) => {
    const stateDir = tempStateDir(t);
    writeConfig(stateDir, { gateway: { auth: { mode: 'none' } } });
    const gw = await gateway(t, { stateDir, env: { OPENCLAW_GATEWAY_TOKEN: 'ignored-token' } });
    t.same(gw.auth, {
      mode: 'none',
      source: 'none',
      location: 'no secret: any direct-loopback client is admitted (gateway.auth.mode = none)',
    });

    const backend = await connectWith(
      gw,
      {},
      { role: 'operator', clientId: 'gateway-client', mode: 'backend', scopes: ALL_OPERATOR_SCOPES },
    );
    t.equal(backend.res.ok, true, 'no secret needed');
    t.notOk(backend.res.payload.auth, 'no device, no device token');
    t.match(
      await backend.client.request('node.pair.list', {}),
      { ok: true },
      'the requested scopes (pairing, admin…) are kept',
    );

    const wrongSecret = await connectWith(
      gw,
      { token: 'whatever', password: 'whatever' },
      { role: 'operator', clientId: 'gateway-client', mode: 'backend' },
    );
    t.equal(wrongSecret.res.ok, true, 'secrets are not checked in mode none');

    const cli = await connectWith(gw, {}, { role: 'operator', identity: null });
    t.same(
      cli.res.error,
      { code: 'NOT_PAIRED', message: 'device identity required', details: { code: 'DEVICE_IDENTITY_REQUIRED' } },
      'a device-less non-backend operator is refused',
    );

    const withDevice = await connectWith(
      gw,
      {},
      { role: 'operator', identity: generateDeviceIdentity(), scopes: ['operator.read'] },
    );
    t.equal(withDevice.res.ok, true, 'an operator with a device identity pairs (auto-approved on loopback)');
    t.match(withDevice.res.payload.auth, {
      method: 'none',
      role: 'operator',
      scopes: ['operator.read'],
      deviceToken: String,
    });

    const node = await connectWith(gw, {}, { role: 'node' });
    t.equal(node.res.ok, true, 'a node with a device identity joins without a secret');
    t.match(node.res.payload.auth, { method: 'none', role: 'node', scopes: [] });

    const remoteDir = tempStateDir(t);
    writeConfig(remoteDir, { gateway: { auth: { mode: 'none' } } });
    const proxied = await gateway(t, { stateDir: remoteDir, isLocal: () => false });
    const remoteBackend = await connectWith(
      proxied,
      {},
      { role: 'operator', clientId: 'gateway-client', mode: 'backend' },
    );
    t.match(
      remoteBackend.res.error,
      { code: 'NOT_PAIRED', details: { code: 'DEVICE_IDENTITY_REQUIRED' } },
      'not direct-local: no device-less access',
    );
    const remoteNode = await connectWith(proxied, {}, { role: 'node' });
    t.match(
      remoteNode.res.error,
      { code: 'NOT_PAIRED', details: { code: 'PAIRING_REQUIRED' } },
      'not direct-local: pairing needs an operator',
    );

    const lan = tempStateDir(t);
    writeConfig(lan, { gateway: { auth: { mode: 'none' } } });
    await t.rejects(startGateway({ port: 0, host: '0.0.0.0', stateDir: lan, env: {} }), {
      code: 'ERR_GATEWAY_AUTH_CONFIG',
      message: /^refusing to bind gateway to 0\.0\.0\.0:0 without auth/,
    });
    await t.rejects(
      startGateway({ port: 0, stateDir: tempStateDir(t), env: {}, authMode: 'none', host: '0.0.0.0' }),
      { code: 'ERR_GATEWAY_AUTH_CONFIG' },
      'same for the option',
    );
    await t.rejects(
      startGateway({ port: 0, stateDir: lan, env: {}, host: '0.0.0.0', authMode: 'password', password: 'lan-pw' }),
      { code: 'ERR_GATEWAY_TLS_REQUIRED', message: /^refusing to bind gateway to 0\.0\.0\.0:0 without TLS/ },
      'a password alone is not enough beyond loopback: it would cross the network in clear text',
    );
    const lanOk = await gateway(t, {
      stateDir: lan,
      host: '0.0.0.0',
      authMode: 'password',
      password: 'lan-pw',
      tls: { enabled: true },
    });
    t.equal(lanOk.auth.mode, 'password', 'a non-loopback bind with a password and TLS is fine');
    t.match(lanOk.url, /^wss:\/\//, 'served as wss://');

    const unset = await gateway(t, { stateDir: tempStateDir(t) });
    t.equal(unset.auth.mode, 'token', 'mode none is never derived: nothing configured means token (generated)');
    t.equal(unset.auth.source, 'generated');
  },
);

t.test(
  'password mode and device tokens: the issued device token reconnects; a wrong password is not rescued by it',
  async (t) => {
    const gw = await passwordGateway(t);
    const identity = generateDeviceIdentity();
    const first = await connectWith(gw, { password: PASSWORD }, { role: 'node', identity });
    const deviceToken = first.res.payload.auth.deviceToken as string;
    first.client.close();
    await first.client.closed;

    const second = await connectWith(gw, { deviceToken }, { role: 'node', identity });
    t.equal(second.res.ok, true, 'explicit device token');
    t.equal(second.res.payload.auth.method, 'device-token');
    second.client.close();
    await second.client.closed;

    const fallback = await connectWith(gw, { token: deviceToken }, { role: 'node', identity });
    t.equal(
      fallback.res.ok,
      true,
      'auth.token holding the device token (upstream: a device-token candidate in password mode)',
    );
    fallback.client.close();
    await fallback.client.closed;

    const wrong = await connectWith(gw, { password: 'wrong', deviceToken }, { role: 'node', identity });
    t.match(wrong.res.error.details, { code: 'AUTH_PASSWORD_MISMATCH' }, 'the shared secret, when sent, must match');
    const badDevice = await connectWith(gw, { deviceToken: 'x'.repeat(43) }, { role: 'node', identity });
    t.match(badDevice.res.error.details, { code: 'AUTH_DEVICE_TOKEN_MISMATCH', authReason: 'device_token_mismatch' });
  },
);

t.test('our clients: GatewayClient and connectOperator send auth.password', async (t) => {
  const gw = await passwordGateway(t);
  const nodeState = tempStateDir(t);
  const identity = generateDeviceIdentity();
  const node = new GatewayClient({
    url: gw.url,
    role: 'node',
    password: PASSWORD,
    identity,
    stateDir: nodeState,
    scopes: [],
    client: { id: 'node-host', mode: 'node', version: '0.0.1', platform: 'linux' },
    reconnect: false,
  });
  t.teardown(() => node.close());
  const hello = await node.start();
  t.match(hello.auth, { method: 'password', role: 'node' });

  const env = {
    OPENCLAW_STATE_DIR: tempStateDir(t),
    OPENCLAW_GATEWAY_PASSWORD: PASSWORD,
    OPENCLAW_GATEWAY_TOKEN: 'stale-token',
  };
  const target = resolveOperatorTarget({ url: gw.url }, env);
  t.match(target, { password: PASSWORD, passwordSource: 'env', token: 'stale-token', tokenSource: 'env' });
  const op = await connectOperator(target);
  t.teardown(() => op.close());
  const list = await op.request<{ nodes: Array<{ nodeId: string }> }>('node.list', {});
  t.same(
    list.nodes.map((n) => n.nodeId),
    [identity.deviceId],
    'the operator sees the node',
  );

  const flagOnly = resolveOperatorTarget({ url: gw.url, password: ' flag-pw ' }, env);
  t.same(
    [flagOnly.password, flagOnly.passwordSource, flagOnly.token, flagOnly.tokenSource],
    ['flag-pw', 'option', undefined, 'none'],
    'a flag is used alone, trimmed',
  );
  const err = await connectOperator(flagOnly).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof GatewayRequestError, 'wrong password: a typed error');
  t.equal((err as GatewayRequestError).detailCode, 'AUTH_PASSWORD_MISMATCH');

  const configDir = tempStateDir(t);
  writeConfig(configDir, { gateway: { auth: { password: 'cfg-pw' } } });
  t.match(
    resolveOperatorTarget({ url: gw.url }, { OPENCLAW_STATE_DIR: configDir }),
    { password: 'cfg-pw', passwordSource: 'config' },
    'config password when the env has none',
  );
  t.match(
    resolveOperatorTarget({ url: gw.url }, { OPENCLAW_STATE_DIR: configDir, OPENCLAW_GATEWAY_PASSWORD: 'env-pw' }),
    { password: 'env-pw', passwordSource: 'env' },
    'clients read the env first',
  );
  t.throws(() => resolveOperatorTarget({ url: gw.url, password: '  ' }, env), { code: 'ERR_USAGE' });
});
