// listSnapshots wire format, byte for byte. The examples are written by hand from the Swift types
// (pb-1.7 steipete/Peekaboo@43166110): request case `listSnapshots` (no payload), response case
// `snapshots([SnapshotInfo])`, SnapshotInfo = { id: String, processId: Int32, createdAt: Date,
// lastAccessedAt: Date, sizeInBytes: Int64, screenshotCount: Int, isActive: Bool }, JSONEncoder with .iso8601.
import t from 'tap';

import {
  BridgeError,
  decodeRequest,
  decodeResponse,
  decodeSnapshotInfoList,
  encodeCase,
  encodeRequest,
  encodeSnapshotInfo,
  parseBridgeDate,
  snapshotsFromResponse,
} from '../../lib/bridge/index.js';

const A =
  '{"id":"1779006658000-4242","processId":4242,"createdAt":"2026-11-22T06:40:05Z","lastAccessedAt":"2026-11-22T06:41:00Z","sizeInBytes":0,' +
  '"screenshotCount":2,"isActive":true}';
const B =
  '{"id":"9F0C1D2E-3A4B-4C5D-8E6F-708192A3B4C5","processId":4242,"createdAt":"2026-11-22T06:39:59Z","lastAccessedAt":"2026-11-22T06:39:59Z",' +
  '"sizeInBytes":1536,"screenshotCount":0,"isActive":true}';
const EXAMPLE = `{"snapshots":{"_0":[${A},${B}]}}`;

t.test('request: listSnapshots is a payload-less case', async (t) => {
  t.equal(encodeRequest('listSnapshots').toString('utf8'), '{"listSnapshots":{}}');
  const decoded = decodeRequest(Buffer.from('{"listSnapshots":{}}'));
  t.same(decoded, { ok: true, request: { op: 'listSnapshots' } });
  const notObject = decodeRequest(Buffer.from('{"listSnapshots":[]}'));
  t.equal(notObject.ok, false, 'the case body must still be an object');
});

t.test('response: our encoder writes the Swift bytes exactly', async (t) => {
  const infos = [
    // Milliseconds are dropped: pb-1.7 decoders reject fractional seconds.
    {
      id: '1779006658000-4242',
      processId: 4242,
      createdAt: new Date('2026-11-22T06:40:05.789Z'),
      lastAccessedAt: Date.parse('2026-11-22T06:41:00.001Z'),
      sizeInBytes: 0,
      screenshotCount: 2,
      isActive: true,
    },
    {
      id: '9F0C1D2E-3A4B-4C5D-8E6F-708192A3B4C5',
      processId: 4242,
      createdAt: Date.parse('2026-11-22T06:39:59Z'),
      lastAccessedAt: new Date('2026-11-22T06:39:59.999Z'),
      sizeInBytes: 1536,
      screenshotCount: 0,
      isActive: true,
    },
  ];
  t.equal(encodeCase('snapshots', infos.map(encodeSnapshotInfo)).toString('utf8'), EXAMPLE);
  t.equal(encodeCase('snapshots', []).toString('utf8'), '{"snapshots":{"_0":[]}}', 'an empty list is still a _0 array');
  t.same(
    Object.keys(encodeSnapshotInfo(infos[0])),
    ['id', 'processId', 'createdAt', 'lastAccessedAt', 'sizeInBytes', 'screenshotCount', 'isActive'],
    'keys in Swift declaration order',
  );
});

t.test('response: the Swift bytes decode to typed summaries, in the host order', async (t) => {
  const list = snapshotsFromResponse(decodeResponse(Buffer.from(EXAMPLE)));
  t.equal(list.length, 2);
  t.same(
    list.map((s) => s.id),
    ['1779006658000-4242', '9F0C1D2E-3A4B-4C5D-8E6F-708192A3B4C5'],
  );
  t.equal(list[0].createdAt.toISOString(), '2026-11-22T06:40:05.000Z');
  t.equal(list[0].lastAccessedAt.toISOString(), '2026-11-22T06:41:00.000Z');
  t.same(
    { ...list[1], createdAt: undefined, lastAccessedAt: undefined },
    {
      id: '9F0C1D2E-3A4B-4C5D-8E6F-708192A3B4C5',
      processId: 4242,
      createdAt: undefined,
      lastAccessedAt: undefined,
      sizeInBytes: 1536,
      screenshotCount: 0,
      isActive: true,
    },
  );
  t.same(snapshotsFromResponse(decodeResponse(Buffer.from('{"snapshots":{"_0":[]}}'))), []);

  // Tolerant where Swift peers differ: escaped slashes, unknown fields (newer hosts), fractions (pb-new), offsets.
  const tolerant = decodeSnapshotInfoList([
    {
      id: 'a/b',
      processId: -1,
      createdAt: '2026-11-22T06:40:05.5Z',
      lastAccessedAt: '2026-11-22T08:40:05+02:00',
      sizeInBytes: 2 ** 40,
      screenshotCount: 1,
      isActive: false,
      futureField: { x: 1 },
    },
  ]);
  t.equal(tolerant[0].createdAt.toISOString(), '2026-11-22T06:40:05.500Z');
  t.equal(tolerant[0].lastAccessedAt.toISOString(), '2026-11-22T06:40:05.000Z');
  t.equal(tolerant[0].sizeInBytes, 2 ** 40, 'Int64 sizes beyond 32 bits survive');
  t.notOk('futureField' in tolerant[0]);
  t.equal(
    snapshotsFromResponse(decodeResponse(Buffer.from(EXAMPLE.replace('"1779006658000-4242"', '"x\\/y"'))))[0].id,
    'x/y',
  );
});

t.test('response: anything Swift could not decode is a typed decodingFailed', async (t) => {
  const good = JSON.parse(A) as Record<string, unknown>;
  const cases: Array<[string, unknown]> = [
    ['not an array', { id: 'x' }],
    ['null entry', [null]],
    ['array entry', [[]]],
  ];
  for (const key of Object.keys(good)) {
    const missing = { ...good };
    delete missing[key];
    cases.push([`missing ${key}`, [missing]]);
    cases.push([`null ${key}`, [{ ...good, [key]: null }]]);
  }
  cases.push(
    ['id a number', [{ ...good, id: 7 }]],
    ['processId beyond Int32', [{ ...good, processId: 2 ** 31 }]],
    ['processId fractional', [{ ...good, processId: 1.5 }]],
    ['processId a string', [{ ...good, processId: '4242' }]],
    ['sizeInBytes beyond 2^53', [{ ...good, sizeInBytes: 2 ** 60 }]],
    ['screenshotCount a bool', [{ ...good, screenshotCount: true }]],
    ['isActive a number', [{ ...good, isActive: 1 }]],
    ['date as epoch number', [{ ...good, createdAt: 1_779_006_658 }]],
    ['date without zone', [{ ...good, createdAt: '2026-11-22T06:40:05' }]],
    ['date with a space', [{ ...good, createdAt: '2026-11-22 06:40:05Z' }]],
    ['date only', [{ ...good, createdAt: '2026-11-22' }]],
    ['30 February', [{ ...good, createdAt: '2026-02-30T00:00:00Z' }]],
    ['hour 24', [{ ...good, lastAccessedAt: '2026-11-22T24:00:00Z' }]],
    ['month 13', [{ ...good, lastAccessedAt: '2026-13-01T00:00:00Z' }]],
  );
  for (const [label, value] of cases) {
    t.throws(
      () => decodeSnapshotInfoList(value),
      { name: 'BridgeError', code: 'ERR_BRIDGE_DECODING_FAILED', bridgeCode: 'decodingFailed' },
      label,
    );
  }
  t.throws(
    () => snapshotsFromResponse(decodeResponse(Buffer.from('{"snapshots":{}}'))),
    { name: 'BridgeError', bridgeCode: 'decodingFailed' },
    'a snapshots case without _0',
  );
  t.throws(
    () => snapshotsFromResponse(decodeResponse(Buffer.from('{"snapshots":{"_0":null}}'))),
    { name: 'BridgeError', bridgeCode: 'decodingFailed' },
    'a null list',
  );
  t.throws(
    () => snapshotsFromResponse(decodeResponse(Buffer.from('{"ok":{}}'))),
    { bridgeCode: 'invalidRequest', message: 'Unexpected listSnapshots response' },
    'another case, as the Swift client says',
  );
  const err = t.throws(() =>
    snapshotsFromResponse(
      decodeResponse(
        Buffer.from(
          '{"error":{"_0":{"code":"operationNotSupported","message":"Operation listSnapshots is not supported by this host"}}}',
        ),
      ),
    ),
  );
  t.ok(
    err instanceof BridgeError && err.bridgeCode === 'operationNotSupported',
    'an error envelope throws its own code',
  );
});

t.test('parseBridgeDate', async (t) => {
  t.equal(parseBridgeDate('2026-11-22T06:40:05Z')?.toISOString(), '2026-11-22T06:40:05.000Z');
  t.equal(parseBridgeDate('2024-02-29T23:59:59Z')?.toISOString(), '2024-02-29T23:59:59.000Z', 'leap day');
  t.equal(
    parseBridgeDate('2026-11-22T06:40:05-0130')?.toISOString(),
    '2026-11-22T08:10:05.000Z',
    'offset without colon',
  );
  t.equal(parseBridgeDate('0099-01-01T00:00:00Z')?.getUTCFullYear(), 99, 'two-digit years are not mapped to 19xx');
  t.equal(parseBridgeDate('2026-11-22T06:40:05.123456789Z')?.toISOString(), '2026-11-22T06:40:05.123Z');
  for (const bad of [
    '2025-02-29T00:00:00Z',
    '2026-11-22T06:60:00Z',
    '2026-11-22T06:40:60Z',
    '2026-11-22T06:40:05+24:00',
    '2026-11-22T06:40:05.Z',
    ' 2026-11-22T06:40:05Z',
  ]) {
    t.equal(parseBridgeDate(bad), undefined, bad);
  }
});
