import fs from 'node:fs';

import t from 'tap';

import {
  buildDeviceAuthPayloadV2,
  buildDeviceAuthPayloadV3,
  deviceIdentityFromSeed,
  generateDeviceIdentity,
  hasScopeFor,
  normalizeDeviceMetadata,
  roleViolation,
  signConnectDevice,
  signDevicePayload,
  truncateCloseReason,
  validateConnectParams,
  validateEventFrame,
  validateNodeInvokeResultParams,
  validateRequestFrame,
  validateResponseFrame,
  verifyConnectDevice,
} from '../../lib/protocol/index.js';

const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const NONCE = '7512b292-e8ed-4ef2-9be6-65979e7276cd';
const SIGNED_AT = 1795318392652;

t.test('spec test vector (RFC 8032 test-1 key)', async (t) => {
  const id = deviceIdentityFromSeed(SEED);
  t.equal(id.deviceId, '21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9');
  t.equal(id.publicKey, '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo');
  const input = {
    deviceId: id.deviceId,
    clientId: 'node-host',
    clientMode: 'node',
    role: 'node',
    scopes: [],
    signedAtMs: SIGNED_AT,
    token: 'tok',
    nonce: NONCE,
    platform: 'linux',
    deviceFamily: 'Linux',
  };
  const v3 = buildDeviceAuthPayloadV3(input);
  t.equal(v3, `v3|${id.deviceId}|node-host|node|node||1795318392652|tok|${NONCE}|linux|linux`);
  t.equal(
    signDevicePayload(id.privateKeyPem, v3),
    'XtpLTV6BoJjv1d4rcuHIP-Qd1AnhE8z3KL99XelvnOvUO7s4cXrFqfEvBQuGj2vW-Fz2COhJX3moUzwqNKanDg',
  );
  const v2 = buildDeviceAuthPayloadV2(input);
  t.equal(v2, `v2|${id.deviceId}|node-host|node|node||1795318392652|tok|${NONCE}`);
  t.equal(
    signDevicePayload(id.privateKeyPem, v2),
    'kmEQRHArIpnPGSP1a66H2yKF4C04QscOv8ynFcJ9HvmzkAY1FB_op_sB_2McDV0cDbg8IirI_a7p027yE46wBQ',
  );
  t.equal(normalizeDeviceMetadata('  MacBook Ünïcode '), 'macbook Ünïcode', 'only ASCII A-Z lowercased');
});

t.test('verifyConnectDevice matrix', async (t) => {
  const identity = generateDeviceIdentity();
  const base = {
    clientId: 'node-host',
    clientMode: 'node',
    role: 'node',
    scopes: ['a', 'b'],
    token: 'tok',
    platform: 'linux',
    deviceFamily: 'Linux',
  };
  const now = Date.now();
  const device = signConnectDevice({ ...base, identity, nonce: 'n1', signedAtMs: now });
  const verify = (over: Partial<Parameters<typeof verifyConnectDevice>[0]> = {}) =>
    verifyConnectDevice({ ...base, device, expectedNonce: 'n1', nowMs: now, ...over });
  t.match(verify(), { ok: true, payloadVersion: 'v3', deviceId: identity.deviceId });
  t.match(verify({ expectedNonce: 'n2' }), {
    ok: false,
    code: 'DEVICE_AUTH_NONCE_MISMATCH',
    reason: 'device-nonce-mismatch',
  });
  t.match(verify({ device: { ...device, nonce: '' } }), { ok: false, code: 'DEVICE_AUTH_NONCE_REQUIRED' });
  t.match(verify({ nowMs: now + 120_001 }), {
    ok: false,
    code: 'DEVICE_AUTH_SIGNATURE_EXPIRED',
    reason: 'device-signature-stale',
  });
  t.match(verify({ nowMs: now - 120_001 }), { ok: false, code: 'DEVICE_AUTH_SIGNATURE_EXPIRED' });
  t.match(verify({ device: { ...device, id: generateDeviceIdentity().deviceId } }), {
    ok: false,
    code: 'DEVICE_AUTH_DEVICE_ID_MISMATCH',
    reason: 'device-id-mismatch',
  });
  t.match(
    verify({ scopes: ['b', 'a'] }),
    { ok: false, code: 'DEVICE_AUTH_SIGNATURE_INVALID', reason: 'device-signature' },
    'reordered scopes',
  );
  t.match(verify({ token: 'other' }), { ok: false, code: 'DEVICE_AUTH_SIGNATURE_INVALID' });
  t.match(verify({ device: { ...device, signature: 'not-base64!' } }), {
    ok: false,
    code: 'DEVICE_AUTH_SIGNATURE_INVALID',
  });
  const v2 = signConnectDevice({ ...base, identity, nonce: 'n1', signedAtMs: now, version: 'v2' });
  t.match(verify({ device: v2 }), { ok: true, payloadVersion: 'v2' });
  t.match(verify({ device: { ...device, publicKey: identity.publicKeyPem } }), { ok: true }, 'PEM public key accepted');
  // 32 bytes that are not a usable key still hash to an id; the key check then fails.
  const bogus = Buffer.alloc(31, 1);
  const crypto = await import('node:crypto');
  const bogusId = crypto.createHash('sha256').update(bogus).digest('hex');
  t.match(verify({ device: { ...device, id: bogusId, publicKey: bogus.toString('base64url') } }), {
    ok: false,
    code: 'DEVICE_AUTH_PUBLIC_KEY_INVALID',
  });
});

t.test('frame validators against the real 2026.9.6 capture', async (t) => {
  const file = new URL('../fixtures/openclaw-2026.9.6-frames.jsonl', import.meta.url);
  const records = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { dir: string; frame: Record<string, unknown> });
  let checked = 0;
  for (const { dir, frame } of records) {
    if (dir === 'open') continue;
    const ok =
      frame.type === 'req'
        ? validateRequestFrame.check(frame)
        : frame.type === 'res'
          ? validateResponseFrame.check(frame)
          : validateEventFrame.check(frame);
    if (!ok) t.fail(`frame rejected: ${JSON.stringify(frame).slice(0, 200)}`);
    if (frame.type === 'req' && frame.method === 'connect')
      t.ok(validateConnectParams.check(frame.params), 'captured connect params validate');
    if (frame.type === 'req' && frame.method === 'node.invoke.result') {
      t.ok(validateNodeInvokeResultParams.check(frame.params), `node.invoke.result ${String(frame.id)}`);
    }
    checked++;
  }
  t.equal(checked, records.length - 1);
  t.notOk(validateRequestFrame.check({ type: 'req', id: 'x', method: 'm', extra: 1 }), 'strict envelope');
  t.notOk(
    validateConnectParams.check({
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: 'evil', version: '1', platform: 'linux', mode: 'node' },
    }),
  );
  t.match(validateConnectParams.describe({ minProtocol: 4 }), /maxProtocol|client/);
});

t.test('scopes and roles', async (t) => {
  t.ok(hasScopeFor('node.list', ['operator.read']));
  t.ok(hasScopeFor('node.list', ['operator.write']), 'write implies read');
  t.notOk(hasScopeFor('node.invoke', ['operator.read']));
  t.ok(hasScopeFor('exec.approval.resolve', ['operator.approvals']));
  t.notOk(hasScopeFor('exec.approvals.set', ['operator.approvals']));
  t.ok(hasScopeFor('anything.unlisted', ['operator.admin']));
  t.notOk(hasScopeFor('anything.unlisted', ['operator.write']), 'unlisted needs admin');
  t.ok(hasScopeFor('health', []));
  t.equal(roleViolation('node', 'node.list'), 'unauthorized role: node');
  t.equal(roleViolation('operator', 'node.invoke.result'), 'unauthorized role: operator');
  t.equal(roleViolation('node', 'node.event'), undefined);
  t.equal(truncateCloseReason('é'.repeat(100)).length, 60, 'cut on a character boundary');
});
