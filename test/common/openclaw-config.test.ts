// openclaw.json through the one config module: where it is ($OPENCLAW_CONFIG_PATH as upstream), JSON5 as
// OpenClaw writes it, unknown keys kept on write; and the same file working for every reader end to end
// (Gateway, operator CLI) with comments and trailing commas in it.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  configuredGatewayPort,
  readOpenclawConfig,
  resolveConfigPath,
  updateOpenclawConfig,
} from '../../lib/common/openclaw-config.js';
import { resolveOperatorTarget } from '../../lib/client/operator.js';
import { startGateway } from '../../lib/gateway/index.js';
import { cli } from '../helpers/cli.js';

const JSON5_CONFIG = `// written by hand, as OpenClaw allows
{
  gateway: {
    port: 18800, // trailing comma next
    auth: {
      token: 'tok-from-json5-0123456789', /* block comment */
    },
  },
  agents: { list: [ 'main', ], },
}
`;

t.test('resolveConfigPath: explicit path, then $OPENCLAW_CONFIG_PATH, then <stateDir>/openclaw.json', async (t) => {
  const home = os.homedir();
  t.equal(resolveConfigPath({ stateDir: '/s', env: {} }), '/s/openclaw.json');
  t.equal(resolveConfigPath({ env: { OPENCLAW_STATE_DIR: '/st' } }), '/st/openclaw.json', 'state dir from env');
  t.equal(resolveConfigPath({ env: {} }), path.join(home, '.openclaw', 'openclaw.json'), 'default ~/.openclaw');
  t.equal(resolveConfigPath({ stateDir: '/s', env: { OPENCLAW_CONFIG_PATH: '/c/x.json5' } }), '/c/x.json5');
  t.equal(resolveConfigPath({ env: { OPENCLAW_CONFIG_PATH: '  ~/cfg.json ' } }), path.join(home, 'cfg.json'), '~');
  t.equal(resolveConfigPath({ env: { OPENCLAW_CONFIG_PATH: 'rel/c.json' } }), path.resolve('rel/c.json'), 'relative');
  t.equal(resolveConfigPath({ stateDir: '/s', env: { OPENCLAW_CONFIG_PATH: '   ' } }), '/s/openclaw.json', 'blank');
  t.equal(
    resolveConfigPath({ configPath: '/explicit.json', stateDir: '/s', env: { OPENCLAW_CONFIG_PATH: '/c' } }),
    '/explicit.json',
  );
});

t.test('readOpenclawConfig: JSON5 (comments, trailing commas, unquoted keys); clear errors', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'openclaw.json');
  t.same(readOpenclawConfig({ configPath: file }), { path: file, exists: false, config: {} }, 'missing: empty');
  fs.writeFileSync(file, JSON5_CONFIG);
  const read = readOpenclawConfig({ configPath: file });
  t.equal(read.exists, true);
  t.same(read.config, {
    gateway: { port: 18800, auth: { token: 'tok-from-json5-0123456789' } },
    agents: { list: ['main'] },
  });
  t.equal(configuredGatewayPort(read.config), 18800);
  t.equal(configuredGatewayPort({ gateway: { port: 70000 } }), undefined, 'out of range');
  t.equal(configuredGatewayPort({ gateway: 'x' }), undefined);

  fs.writeFileSync(file, '{ gateway: { port: 1, }');
  t.throws(() => readOpenclawConfig({ configPath: file }), {
    code: 'ERR_CONFIG_MALFORMED',
    message: /not valid JSON5: .*at 1:/,
  });
  fs.writeFileSync(file, '[1, 2]');
  t.throws(() => readOpenclawConfig({ configPath: file }), { code: 'ERR_CONFIG_MALFORMED', message: /top level/ });
  fs.writeFileSync(file, '{"__proto__": {"polluted": true}}');
  const proto = readOpenclawConfig({ configPath: file }).config;
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.ok(Object.hasOwn(proto, '__proto__'), '__proto__ is an own key');
  fs.writeFileSync(file, `{ a: ${'['.repeat(20_000)}${']'.repeat(20_000)} }`);
  t.throws(() => readOpenclawConfig({ configPath: file }), {
    code: 'ERR_CONFIG_MALFORMED',
    message: /nested deeper than 128/,
  });
  t.throws(() => readOpenclawConfig({ configPath: dir }), { code: 'ERR_CONFIG_NOT_FILE' });
});

t.test('updateOpenclawConfig keeps unknown keys, writes JSON 0600, never replaces a malformed file', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'nested', 'openclaw.json');
  updateOpenclawConfig(
    (c) => {
      c.gateway = { auth: { token: 'a' } };
    },
    { configPath: file },
  );
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700, 'a missing parent is made private');

  fs.writeFileSync(file, JSON5_CONFIG);
  updateOpenclawConfig(
    (c) => {
      (c.gateway as { auth: { token: string } }).auth.token = 'b';
    },
    { configPath: file },
  );
  const text = fs.readFileSync(file, 'utf8');
  t.same(JSON.parse(text), { gateway: { port: 18800, auth: { token: 'b' } }, agents: { list: ['main'] } }, 'kept');
  t.notMatch(text, /\/\//, 'written as JSON (comments do not round-trip; documented)');

  const before = fs.statSync(file).ino;
  updateOpenclawConfig(() => false, { configPath: file });
  t.equal(fs.statSync(file).ino, before, 'mutate() returning false writes nothing');

  fs.writeFileSync(file, '{ broken');
  t.throws(() => updateOpenclawConfig(() => true, { configPath: file }), { code: 'ERR_CONFIG_MALFORMED' });
  t.equal(fs.readFileSync(file, 'utf8'), '{ broken', 'malformed file left alone');
});

t.test('one JSON5 openclaw.json with comments works for the Gateway and the operator CLI', async (t) => {
  const stateDir = t.testdir();
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON5_CONFIG, { mode: 0o600 });
  const gw = await startGateway({ port: 0, stateDir, env: {}, log: () => {} });
  t.teardown(() => gw.close());
  t.equal(gw.token, 'tok-from-json5-0123456789', 'the Gateway reads the token from the JSON5 file');
  t.match(gw.auth, { mode: 'token', source: 'config' });

  const env = { OPENCLAW_STATE_DIR: stateDir };
  t.match(resolveOperatorTarget({}, env), { url: 'ws://127.0.0.1:18800/', tokenSource: 'config' }, 'port + token');
  const { OPENCLAW_GATEWAY_TOKEN: _t, OPENCLAW_GATEWAY_PASSWORD: _p, OPENCLAW_CONFIG_PATH: _c, ...rest } = process.env;
  const listed = await cli(['nodes', 'list', '--url', gw.url], { ...rest, ...env });
  t.equal(listed.code, 0, `nodes list authenticates with the JSON5 token (stderr: ${listed.stderr})`);
  t.match(listed.stdout, /no nodes/);
});

t.test('$OPENCLAW_CONFIG_PATH: the Gateway stores its generated token there and clients read it there', async (t) => {
  const root = t.testdir({ state: {}, elsewhere: {} });
  const stateDir = path.join(root, 'state');
  const configPath = path.join(root, 'elsewhere', 'custom.json5');
  fs.writeFileSync(configPath, '{ /* mine */ custom: { keep: true, }, }\n', { mode: 0o600 });
  const env = { OPENCLAW_CONFIG_PATH: configPath };
  const gw = await startGateway({ port: 0, stateDir, env, log: () => {} });
  t.teardown(() => gw.close());
  t.match(gw.auth, { mode: 'token', source: 'generated' });
  t.equal(gw.configPath, configPath, 'the handle names the file in use');
  t.notOk(fs.existsSync(path.join(stateDir, 'openclaw.json')), 'nothing written to <stateDir>/openclaw.json');
  const stored = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  t.same(stored, { custom: { keep: true }, gateway: { auth: { token: gw.token } } }, 'unknown keys kept');
  t.match(resolveOperatorTarget({}, { ...env, OPENCLAW_STATE_DIR: stateDir }), {
    token: gw.token,
    tokenSource: 'config',
  });
});
