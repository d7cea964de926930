// `openclaw-mac connect` (in-process, through the bin's command table) against a real Gateway: token and password modes resolved from
// openclaw.json (local), gateway.remote.* (remote), an explicit --url with a wrong token (exit 1 with the
// Gateway's error text), --probe, the JSON shape, and that the issued device token is never printed.
import fs from 'node:fs';
import path from 'node:path';

import t, { type Test } from 'tap';

import { startGateway, type GatewayHandle } from '../../lib/gateway/index.js';
import { cliInProcess } from '../helpers/cli.js';

t.setTimeout(120_000);

interface Output {
  status: string;
  url: string;
  mode: string;
  role: string;
  clientId: string;
  clientMode: string;
  scopes: string[];
  snapshot?: { type: string; protocol: number; auth?: { deviceToken?: string; role?: string } };
  health?: { ok?: boolean };
  error?: string;
}

async function gatewayWithConfig(
  t: Test,
  config: Record<string, unknown>,
  auth: { authMode: 'token' | 'password'; token?: string; password?: string },
): Promise<{ gw: GatewayHandle; stateDir: string }> {
  const stateDir = t.testdir();
  const gw = await startGateway({ host: '127.0.0.1', port: 0, stateDir, env: {}, ...auth });
  t.teardown(() => gw.close());
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify(config), { mode: 0o600 });
  return { gw, stateDir };
}

// The client's state dir (identity) is its own: a separate machine, as upstream's mac app.
function clientEnv(stateDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir };
}

async function connect(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: Output; stderr: string }> {
  const r = await cliInProcess('mac', ['connect', '--json', ...args], env);
  return { code: r.code, out: JSON.parse(r.stdout) as Output, stderr: r.stderr };
}

t.test('local mode, token from openclaw.json, with --probe', async (t) => {
  const { gw } = await gatewayWithConfig(t, {}, { authMode: 'token', token: 'tok-local-0123456789' });
  const client = t.testdir({
    'openclaw.json': JSON.stringify({ gateway: { port: gw.port, auth: { token: 'tok-local-0123456789' } } }),
  });
  const { code, out, stderr } = await connect(['--probe'], clientEnv(client));
  t.equal(code, 0, stderr);
  t.match(out, {
    status: 'ok',
    url: `ws://127.0.0.1:${gw.port}`,
    mode: 'local',
    role: 'operator',
    clientId: 'openclaw-macos',
    clientMode: 'ui',
    scopes: ['operator.admin', 'operator.read', 'operator.write', 'operator.approvals', 'operator.pairing'],
    snapshot: { type: 'hello-ok', protocol: 4, auth: { role: 'operator' } },
    health: { ok: true },
  });
  t.notOk('error' in out, 'no error key on success');
  t.equal(out.snapshot?.auth?.deviceToken, '<redacted>', 'the issued device token is not printed');
  t.ok(fs.existsSync(path.join(client, 'identity', 'device.json')), 'a device identity was used');
  const identity = JSON.parse(fs.readFileSync(path.join(client, 'identity', 'device.json'), 'utf8')) as {
    deviceId: string;
  };
  t.match(
    gw.devices.paired().find((d) => d.deviceId === identity.deviceId),
    { roles: ['operator'], clientId: 'openclaw-macos', clientMode: 'ui' },
    'the Gateway paired this device as an operator',
  );
});

t.test('password mode, remote mode and explicit --url', async (t) => {
  const { gw } = await gatewayWithConfig(t, {}, { authMode: 'password', password: 'pw-0123456789' });
  const url = `ws://127.0.0.1:${gw.port}`;
  const local = t.testdir({
    'openclaw.json': JSON.stringify({ gateway: { port: gw.port, auth: { password: 'pw-0123456789' } } }),
  });
  const ok = await connect([], clientEnv(local));
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.out, { status: 'ok', mode: 'local', health: { ok: true } });

  const remote = t.testdir({
    'openclaw.json': JSON.stringify({ gateway: { mode: 'remote', remote: { url, password: 'pw-0123456789' } } }),
  });
  const viaRemote = await connect([], clientEnv(remote));
  t.equal(viaRemote.code, 0, viaRemote.stderr);
  t.match(viaRemote.out, { status: 'ok', mode: 'remote', url });

  // An explicit URL does not inherit config secrets (as upstream): no password is sent.
  const explicit = await connect(['--url', url], clientEnv(local));
  t.equal(explicit.code, 1);
  t.match(explicit.out, { status: 'error', url, error: /unauthorized/ });

  const wrong = await connect(['--url', url, '--password', 'nope'], clientEnv(local));
  t.equal(wrong.code, 1);
  t.match(wrong.out.error, /^unauthorized: gateway password mismatch/);
});

t.test('wrong token: exit 1 with the Gateway error text; missing remote url', async (t) => {
  const { gw } = await gatewayWithConfig(t, {}, { authMode: 'token', token: 'tok-right-0123456789' });
  const client = t.testdir({ 'openclaw.json': JSON.stringify({ gateway: { mode: 'remote' } }) });
  const wrong = await connect(['--url', `ws://127.0.0.1:${gw.port}`, '--token', 'tok-wrong'], clientEnv(client));
  t.equal(wrong.code, 1);
  t.same(Object.keys(wrong.out).sort(), ['clientId', 'clientMode', 'error', 'mode', 'role', 'scopes', 'status', 'url']);
  t.equal(wrong.out.error, 'unauthorized: gateway token mismatch');

  const missing = await connect([], clientEnv(client));
  t.equal(missing.code, 1);
  t.match(missing.out, { status: 'error', url: 'unknown', mode: 'remote', error: 'gateway.remote.url is missing' });

  const refused = await connect(['--url', 'ws://127.0.0.1:1', '--timeout', '2000'], clientEnv(client));
  t.equal(refused.code, 1);
  t.match(refused.out, { status: 'error', error: /ECONNREFUSED|connect/ });
});
