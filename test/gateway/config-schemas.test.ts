// The openclaw.json sections read through TypeBox schemas (lib/protocol/config-schemas.ts), from real files:
// gateway.auth (the Gateway fails closed with ERR_CONFIG_MALFORMED naming the key), controlUi.allowedOrigins
// (same), and the client's view of the same secrets (a wrong type or an oversize value is "not configured").
// Wrong types, oversize values and too-deep values each get their typed error.
import fs from 'node:fs';
import path from 'node:path';

import t, { type Test } from 'tap';

import { resolveOperatorTarget } from '../../lib/client/operator.js';
import { readOpenclawConfig } from '../../lib/common/openclaw-config.js';
import { MAX_JSON_FILE_DEPTH } from '../../lib/common/state-dir.js';
import { loadGatewayAuth } from '../../lib/gateway/auth-config.js';
import { allowedOriginsFromConfig } from '../../lib/gateway/request-origin.js';
import { MAX_ALLOWED_ORIGINS, MAX_CONFIG_SECRET_LENGTH } from '../../lib/protocol/config-schemas.js';

function stateDirWith(t: Test, config: unknown): string {
  const dir = t.testdir({ 'openclaw.json': JSON.stringify(config) });
  fs.chmodSync(dir, 0o700);
  return dir;
}

function deep(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = { v: value };
  return value;
}

const tooLong = 's'.repeat(MAX_CONFIG_SECRET_LENGTH + 1);

t.test('gateway.auth: wrong types and oversize secrets are ERR_CONFIG_MALFORMED naming the key', async (t) => {
  const cases: Array<[string, unknown, string | RegExp]> = [
    ['token a number', { token: 42 }, /: gateway\.auth\.token must be a string$/],
    ['token an array', { token: ['a'] }, /: gateway\.auth\.token must be a string$/],
    ['token null', { token: null }, /: gateway\.auth\.token must be a string$/],
    ['token oversize', { token: tooLong }, /: gateway\.auth\.token must be a string of at most 4096 characters$/],
    ['password a number', { password: 1234 }, /: gateway\.auth\.password must be a string$/],
    ['password an array', { password: ['pw'] }, /: gateway\.auth\.password must be a string$/],
    ['password oversize', { password: tooLong }, /: gateway\.auth\.password must be a string of at most 4096/],
    ['mode a number', { mode: 5 }, /gateway\.auth\.mode must be one of none\|token\|password, got 5$/],
  ];
  for (const [name, auth, message] of cases) {
    const stateDir = stateDirWith(t, { gateway: { auth } });
    t.throws(() => loadGatewayAuth(stateDir, { env: {} }), { code: 'ERR_CONFIG_MALFORMED', message }, name);
  }
  // A token from env does not excuse a malformed file: the file is refused whatever else is set.
  const withEnv = stateDirWith(t, { gateway: { auth: { token: 42 } } });
  t.throws(() => loadGatewayAuth(withEnv, { env: { OPENCLAW_GATEWAY_TOKEN: 'env-token' } }), {
    code: 'ERR_CONFIG_MALFORMED',
  });
  const tooDeep = stateDirWith(t, { gateway: { auth: { token: 'ok', extra: deep(MAX_JSON_FILE_DEPTH + 1) } } });
  t.throws(() => loadGatewayAuth(tooDeep, { env: {} }), {
    code: 'ERR_CONFIG_MALFORMED',
    message: /nested deeper than 128 levels|depth/,
  });

  const good = stateDirWith(t, { gateway: { auth: { token: ' tok ', other: { kept: true } }, port: 1 } });
  t.match(loadGatewayAuth(good, { env: {} }), { mode: 'token', token: 'tok', source: 'config' });
  const ref = stateDirWith(t, { gateway: { auth: { password: { source: 'env', id: 'X' } } } });
  t.throws(() => loadGatewayAuth(ref, { env: {} }), { code: 'ERR_GATEWAY_AUTH_CONFIG' }, 'a reference still passes');
  const nullPassword = stateDirWith(t, { gateway: { auth: { token: 'tok', password: null } } });
  t.match(loadGatewayAuth(nullPassword, { env: {} }), { mode: 'token', token: 'tok' }, 'a null password is unset');
});

t.test('gateway.controlUi.allowedOrigins: wrong types, oversize and too deep are ERR_CONFIG_MALFORMED', async (t) => {
  const message = 'openclaw.json: gateway.controlUi.allowedOrigins must be an array of strings';
  const origins = (list: unknown): unknown => ({ gateway: { controlUi: { allowedOrigins: list } } });
  for (const [name, list] of [
    ['a string', 'https://a.example'],
    ['an object', { 0: 'https://a.example' }],
    ['a number inside', ['https://a.example', 5]],
    ['too many', Array.from({ length: MAX_ALLOWED_ORIGINS + 1 }, (_, i) => `https://h${i}.example`)],
    ['an oversize entry', [`https://${'a'.repeat(2100)}.example`]],
    ['a nested list', [['https://a.example']]],
    ['too deep', [deep(40)]],
  ] as const) {
    t.throws(() => allowedOriginsFromConfig(origins(list)), { code: 'ERR_CONFIG_MALFORMED', message }, name);
  }
  t.same(allowedOriginsFromConfig(origins(null)), [], 'null is unset');
  t.same(
    allowedOriginsFromConfig(origins(Array.from({ length: MAX_ALLOWED_ORIGINS }, () => '*'))).length,
    MAX_ALLOWED_ORIGINS,
  );
  const file = path.join(stateDirWith(t, origins([1, 2])), 'openclaw.json');
  t.throws(() => allowedOriginsFromConfig(readOpenclawConfig({ configPath: file }).config, file), {
    code: 'ERR_CONFIG_MALFORMED',
    message: `${file}: gateway.controlUi.allowedOrigins must be an array of strings`,
  });
});

t.test('client: a config secret of the wrong type or size is not presented', async (t) => {
  for (const [name, auth] of [
    ['numbers', { token: 42, password: 7 }],
    ['objects', { token: { a: 1 }, password: { source: 'env', id: 'X' } }],
    ['oversize', { token: tooLong, password: tooLong }],
    ['blank', { token: '  ', password: '' }],
  ] as const) {
    const stateDir = stateDirWith(t, { gateway: { auth } });
    const target = resolveOperatorTarget({ url: 'ws://127.0.0.1:1/' }, { OPENCLAW_STATE_DIR: stateDir });
    t.match(target, { tokenSource: 'none', passwordSource: 'none' }, name);
    t.equal(target.token, undefined, `${name}: no token`);
    t.equal(target.password, undefined, `${name}: no password`);
  }
  const stateDir = stateDirWith(t, { gateway: { auth: { token: ' cfg ', password: 'pw' } } });
  t.match(resolveOperatorTarget({ url: 'ws://127.0.0.1:1/' }, { OPENCLAW_STATE_DIR: stateDir }), {
    token: 'cfg',
    tokenSource: 'config',
    password: 'pw',
    passwordSource: 'config',
  });
});
