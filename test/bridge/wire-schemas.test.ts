// The bridge payloads that go through TypeBox schemas (lib/bridge/wire-schemas.ts): wrong types, oversize
// strings and too-deep values get the typed error (decodingFailed with a stable message), on a real host
// socket for the handshake request and through the client's decoder for replies.
import path from 'node:path';

import t from 'tap';

import { BridgeError, decodeResponse, startBridgeHost } from '../../lib/bridge/index.js';
import { parseHandshakeResponse } from '../../lib/bridge/client.js';
import { rawText, tempDir } from '../helpers/bridge.js';

function handshake(payload: unknown): string {
  return JSON.stringify({ handshake: { _0: payload } });
}

const version = { major: 1, minor: 7 };

t.test('host: a handshake payload of the wrong shape is decodingFailed with its stable details', async (t) => {
  const h = await startBridgeHost({
    socketPath: path.join(tempDir(t), 'bridge.sock'),
    allowedTeamIds: [],
    logger: () => {},
  });
  t.teardown(() => h.close());
  const details = async (body: string): Promise<unknown> => {
    const reply = JSON.parse(await rawText(h.socketPath, body)) as { error?: { _0: Record<string, unknown> } };
    t.match(reply.error?._0, { code: 'decodingFailed', message: 'Failed to decode request' }, body.slice(0, 80));
    return reply.error?._0.details;
  };
  const cases: [unknown, string][] = [
    ['x', 'handshake payload must be an object'],
    [[1], 'handshake payload must be an object'],
    [{ client: { processIdentifier: 1 } }, 'protocolVersion must be {major, minor} integers'],
    [{ protocolVersion: { major: '1', minor: 7 }, client: {} }, 'protocolVersion must be {major, minor} integers'],
    [{ protocolVersion: { major: 1.5, minor: 7 }, client: {} }, 'protocolVersion must be {major, minor} integers'],
    [{ protocolVersion: { major: 1, minor: 70_000 }, client: {} }, 'protocolVersion must be {major, minor} integers'],
    [{ protocolVersion: version }, 'client.processIdentifier (int32) is required'],
    [{ protocolVersion: version, client: [] }, 'client.processIdentifier (int32) is required'],
    [
      { protocolVersion: version, client: { processIdentifier: 2 ** 31 } },
      'client.processIdentifier (int32) is required',
    ],
    [
      { protocolVersion: version, client: { processIdentifier: 1, bundleIdentifier: 7 } },
      'client.bundleIdentifier must be a string',
    ],
    [
      { protocolVersion: version, client: { processIdentifier: 1, teamIdentifier: { a: 1 } } },
      'client.teamIdentifier must be a string',
    ],
    [
      { protocolVersion: version, client: { processIdentifier: 1, hostname: 'h'.repeat(1025) } },
      'client.hostname must be a string',
    ],
  ];
  for (const [payload, expected] of cases) t.equal(await details(handshake(payload)), expected);

  let deep: unknown = 1;
  for (let i = 0; i < 80; i++) deep = [deep];
  t.match(await details(handshake({ protocolVersion: version, client: { processIdentifier: 1, x: deep } })), /64/);

  const ok = JSON.parse(
    await rawText(
      h.socketPath,
      handshake({ protocolVersion: version, client: { processIdentifier: 1, bundleIdentifier: null, extra: [1] } }),
    ),
  ) as { handshake?: unknown };
  t.ok(ok.handshake, 'null claims and unknown fields pass, as Swift decodes them');
});

t.test('client: a handshake reply of the wrong shape is decodingFailed', async (t) => {
  const good = { negotiatedVersion: { major: 1, minor: 7 } };
  t.match(parseHandshakeResponse(good), {
    negotiatedVersion: { major: 1, minor: 7 },
    hostKind: 'unknown',
    build: 'unknown',
    supportedOperations: [],
    enabledOperations: [],
    permissions: { screenRecording: false, accessibility: false, appleScript: false, postEvent: false },
    permissionTags: {},
  });
  const bad: [unknown, string | RegExp][] = [
    [null, 'not an object'],
    [[], 'not an object'],
    [{}, 'negotiatedVersion missing'],
    [{ negotiatedVersion: { major: 1, minor: '7' } }, 'negotiatedVersion missing'],
    [{ ...good, hostKind: 5 }, /^\/hostKind: /],
    [{ ...good, build: 'b'.repeat(2000) }, /^\/build: /],
    [{ ...good, supportedOperations: ['ok', 3] }, /^\/supportedOperations\/1: /],
    [{ ...good, enabledOperations: Array.from({ length: 5000 }, () => 'x') }, /^\/enabledOperations: /],
    [{ ...good, permissions: { accessibility: 'yes' } }, /^\/permissions\/accessibility: /],
    [{ ...good, permissionTags: { click: 'accessibility' } }, /^\/permissionTags\/click: /],
  ];
  for (const [value, details] of bad) {
    const err = t.throws(() => parseHandshakeResponse(value)) as unknown as BridgeError;
    t.ok(err instanceof BridgeError, JSON.stringify(value).slice(0, 60));
    t.equal(err.code, 'ERR_BRIDGE_DECODING_FAILED');
    t.equal(err.message, 'Failed to decode handshake response');
    t.match(err.details, details);
  }
});

t.test('client: error envelopes keep only fields of the right type', async (t) => {
  const decodeError = (value: unknown): BridgeError =>
    t.throws(() => decodeResponse(Buffer.from(JSON.stringify({ error: { _0: value } })))) as unknown as BridgeError;
  for (const value of [{}, { message: 5 }, { message: 'm'.repeat(64 * 1024 + 1) }, 'text', [{ message: 'x' }]]) {
    const err = decodeError(value);
    t.equal(err.code, 'ERR_BRIDGE_DECODING_FAILED', JSON.stringify(value).slice(0, 60));
    t.equal(err.message, 'Failed to decode bridge error envelope');
  }
  const loose = decodeError({ code: 'timeout', message: 'slow', details: 42, permission: 'root' });
  t.equal(loose.bridgeCode, 'timeout');
  t.equal(loose.details, undefined, 'a non-string details is dropped');
  t.equal(loose.permission, undefined, 'an unknown permission is dropped');
  const codeless = decodeError({ code: 7, message: 'odd' });
  t.equal(codeless.bridgeCode, 'internalError');
  t.equal(codeless.message, 'odd');
});
