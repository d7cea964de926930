// Paired-device and paired-node records read back through their TypeBox schemas (pairing-store.ts): a record
// of the wrong shape, oversize or too deep makes the file ERR_CONFIG_MALFORMED (fail closed: the Gateway does
// not start, and the file is never rewritten); records the store wrote itself load back unchanged.
import fs from 'node:fs';
import path from 'node:path';

import t, { type Test } from 'tap';

import { PairingStore } from '../../lib/gateway/pairing-store.js';
import { startGateway } from '../../lib/gateway/index.js';

function stateDir(t: Test): string {
  const dir = t.testdir({ devices: {}, nodes: {} });
  fs.chmodSync(dir, 0o700);
  return dir;
}

function deep(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

const device = {
  deviceId: 'dev1',
  publicKey: 'pk',
  roles: ['operator'],
  scopes: ['operator.read'],
  tokens: { operator: { token: 'tok', role: 'operator', scopes: ['operator.read'], issuedAtMs: 1 } },
  createdAtMs: 1,
  approvedAtMs: 2,
};
const node = { nodeId: 'n1', commands: ['system.run'], caps: [], approvedAtMs: 1, token: 'ntok' };

t.test('records the store wrote load back', async (t) => {
  const dir = stateDir(t);
  const store = new PairingStore(dir);
  const approved = store.approveDevice({
    deviceId: 'dev1',
    publicKey: 'pk',
    displayName: 'Mac',
    role: 'operator',
    scopes: ['operator.read'],
  });
  store.deviceToken('dev1', 'operator', ['operator.read']);
  const again = new PairingStore(dir);
  t.match(again.getDevice('dev1'), { deviceId: 'dev1', publicKey: approved.publicKey, displayName: 'Mac' });
  t.ok(again.verifyDeviceToken('dev1', 'operator', again.getDevice('dev1')!.tokens.operator.token));
});

t.test('a paired record of the wrong shape is ERR_CONFIG_MALFORMED naming the entry', async (t) => {
  const cases: Array<[string, 'devices' | 'nodes', unknown, RegExp]> = [
    ['file an array', 'devices', [device], /expected an object keyed by id/],
    ['record a string', 'devices', { dev1: 'pk' }, /entry "dev1": \/: Expected object/],
    ['publicKey a number', 'devices', { dev1: { ...device, publicKey: 5 } }, /entry "dev1": \/publicKey: /],
    ['roles a string', 'devices', { dev1: { ...device, roles: 'operator' } }, /entry "dev1": \/roles: /],
    ['no tokens', 'devices', { dev1: { ...device, tokens: undefined } }, /entry "dev1": \/tokens: /],
    [
      'token not a string',
      'devices',
      { dev1: { ...device, tokens: { operator: { ...device.tokens.operator, token: 1 } } } },
      /entry "dev1": \/tokens\/operator\/token: /,
    ],
    ['oversize key', 'devices', { dev1: { ...device, publicKey: 'k'.repeat(1025) } }, /\/publicKey: /],
    [
      'too many scopes',
      'devices',
      { dev1: { ...device, scopes: Array.from({ length: 1025 }, () => 's') } },
      /\/scopes: /,
    ],
    ['too deep', 'devices', { dev1: { ...device, displayName: deep(40) } }, /\/displayName: /],
    ['node token missing', 'nodes', { n1: { ...node, token: undefined } }, /entry "n1": \/token: /],
    ['node commands of numbers', 'nodes', { n1: { ...node, commands: [1] } }, /entry "n1": \/commands\/0: /],
  ];
  for (const [name, kind, content, message] of cases) {
    const dir = stateDir(t);
    const file = path.join(dir, kind, 'paired.json');
    const text = JSON.stringify(content);
    fs.writeFileSync(file, text, { mode: 0o600 });
    t.throws(() => new PairingStore(dir), { code: 'ERR_CONFIG_MALFORMED', message }, name);
    t.equal(fs.readFileSync(file, 'utf8'), text, `${name}: never rewritten`);
  }
  const dir = stateDir(t);
  fs.writeFileSync(path.join(dir, 'devices', 'paired.json'), JSON.stringify({ dev1: { ...device, roles: 1 } }));
  await t.rejects(startGateway({ port: 0, stateDir: dir, env: {}, token: 'tok-0123456789' }), {
    code: 'ERR_CONFIG_MALFORMED',
  });
});
