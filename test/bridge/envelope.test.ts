import t from 'tap';

import {
  BridgeError,
  decodeRequest,
  decodeResponse,
  encodeCase,
  encodeRequest,
  bridgeDate,
} from '../../lib/bridge/index.js';

t.test('requests encode as Swift synthesized enum cases (spec §4.1 examples)', async (t) => {
  t.equal(encodeRequest('permissionsStatus').toString(), '{"permissionsStatus":{}}');
  t.equal(
    encodeRequest('captureScreen', {
      displayIndex: 0,
      visualizerMode: { screenshotFlash: {} },
      scale: { logical1x: {} },
    }).toString(),
    '{"captureScreen":{"_0":{"displayIndex":0,"visualizerMode":{"screenshotFlash":{}},"scale":{"logical1x":{}}}}}',
  );
  t.equal(
    encodeRequest('click', {
      target: { kind: 'elementId', value: 'B1' },
      clickType: 'single',
      snapshotId: 'S1',
    }).toString(),
    '{"click":{"_0":{"target":{"kind":"elementId","value":"B1"},"clickType":"single","snapshotId":"S1"}}}',
  );
  t.equal(encodeRequest('listMenuBarItems', true).toString(), '{"listMenuBarItems":{"_0":true}}');
  // The probe's operation name differs from its wire case.
  t.equal(encodeRequest('_appleScriptProbe').toString(), '{"appleScriptProbe":{}}');
  t.equal(encodeCase('bool', true).toString(), '{"bool":{"_0":true}}');
  t.equal(encodeCase('ok').toString(), '{"ok":{}}');
});

t.test('host-side request decoding', async (t) => {
  const hs = decodeRequest(
    Buffer.from('{"handshake":{"_0":{"protocolVersion":{"major":1,"minor":7},"client":{"processIdentifier":4242}}}}'),
  );
  t.same(hs, {
    ok: true,
    request: {
      op: 'handshake',
      payload: { protocolVersion: { major: 1, minor: 7 }, client: { processIdentifier: 4242 } },
    },
  });
  t.same(decodeRequest(Buffer.from('{"permissionsStatus":{}}')), { ok: true, request: { op: 'permissionsStatus' } });
  t.same(decodeRequest(Buffer.from('{"appleScriptProbe":{}}')), { ok: true, request: { op: '_appleScriptProbe' } });
  // Swift counts only keys that name a request case (issue 7; envelope.ts cites the source).
  t.same(decodeRequest(Buffer.from('{"permissionsStatus":{},"x":1}')), {
    ok: true,
    request: { op: 'permissionsStatus' },
  });
  t.same(decodeRequest(Buffer.from('{"permissionsStatus":{},"ok":{}}')), {
    ok: true,
    request: { op: 'permissionsStatus' },
  });
  // Prototype keys are dropped (Swift ignores unknown fields), never merged into objects.
  t.same(decodeRequest(Buffer.from('{"createSnapshot":{"_0":{"__proto__":{"polluted":true}}}}')), {
    ok: true,
    request: { op: 'createSnapshot', payload: {} },
  });
  t.same(decodeRequest(Buffer.from('{"createSnapshot":{"_0":{"constructor":{"prototype":{}}}}}')), {
    ok: true,
    request: { op: 'createSnapshot', payload: {} },
  });

  const bad: Array<[string, string | Buffer]> = [
    ['not json', '{"permissionsStatus":'],
    ['two case keys', '{"permissionsStatus":{},"listSnapshots":{}}'],
    ['only keys that name no case', '{"ok":{},"x":1}'],
    ['no keys', '{}'],
    ['array root', '[{"permissionsStatus":{}}]'],
    ['unknown case', '{"formatDisk":{}}'],
    ['op name used as case', '{"_appleScriptProbe":{}}'],
    ['case body not an object', '{"permissionsStatus":1}'],
    ['payload case without _0', '{"createSnapshot":{}}'],
    ['null payload', '{"createSnapshot":{"_0":null}}'],
    ['duplicate case key', '{"permissionsStatus":{},"permissionsStatus":{}}'],
    ['deep nesting', `{"createSnapshot":{"_0":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`],
    [
      'invalid utf-8',
      Buffer.concat([
        Buffer.from('{"cleanSnapshot":{"_0":{"snapshotId":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}}}'),
      ]),
    ],
    ['empty', ''],
  ];
  for (const [name, input] of bad) {
    const r = decodeRequest(Buffer.isBuffer(input) ? input : Buffer.from(input));
    t.equal(r.ok, false, name);
    if (!r.ok) {
      t.equal(r.error.code, 'decodingFailed', `${name}: code`);
      t.equal(r.error.message, 'Failed to decode request', `${name}: message`);
    }
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
});

t.test('client-side response decoding (conformance check 3)', async (t) => {
  t.same(decodeResponse(Buffer.from('{"ok":{}}')), { case: 'ok' });
  t.same(decodeResponse(Buffer.from('{"window":{}}')), { case: 'window' });
  t.same(decodeResponse(Buffer.from('{"window":{"_0":null}}')), { case: 'window' });
  t.same(decodeResponse(Buffer.from('{"bool":{"_0":true}}')), { case: 'bool', value: true });
  t.same(decodeResponse(Buffer.from('{"rect":{"_0":[[0,0],[800,600]]}}')), {
    case: 'rect',
    value: [
      [0, 0],
      [800, 600],
    ],
  });
  t.same(
    decodeResponse(Buffer.from('{"snapshotId":{"_0":"a\\/b"}}')),
    { case: 'snapshotId', value: 'a/b' },
    'escaped slash',
  );

  const empty = t.throws(() => decodeResponse(Buffer.alloc(0))) as unknown as BridgeError;
  t.ok(empty instanceof BridgeError);
  t.equal(empty.bridgeCode, 'internalError');
  t.equal(empty.message, 'Bridge host returned no response');
  const garbage = t.throws(() => decodeResponse(Buffer.from('<html>'))) as unknown as BridgeError;
  t.equal(garbage.bridgeCode, 'decodingFailed');

  const denied = t.throws(() =>
    decodeResponse(
      Buffer.from('{"error":{"_0":{"code":"permissionDenied","message":"no","permission":"screenRecording"}}}'),
    ),
  ) as unknown as BridgeError;
  t.ok(denied instanceof BridgeError);
  t.equal(denied.code, 'ERR_BRIDGE_PERMISSION_DENIED');
  t.equal(denied.bridgeCode, 'permissionDenied');
  t.equal(denied.permission, 'screenRecording');
  const unauth = t.throws(() =>
    decodeResponse(
      Buffer.from(
        '{"error":{"_0":{"code":"unauthorizedClient","message":"Bridge client is not authorized","details":"x"}}}',
      ),
    ),
  ) as unknown as BridgeError;
  t.equal(unauth.code, 'ERR_BRIDGE_UNAUTHORIZED_CLIENT');
  t.equal(unauth.details, 'x');
  const future = t.throws(() =>
    decodeResponse(Buffer.from('{"error":{"_0":{"code":"quotaExceeded","message":"later"}}}')),
  ) as unknown as BridgeError;
  t.equal(future.bridgeCode, 'internalError', 'unknown error codes from newer hosts stay errors');
});

t.test('dates carry no fractional seconds', async (t) => {
  t.equal(bridgeDate(new Date('2026-01-01T00:00:00.123Z')), '2026-01-01T00:00:00Z');
});
