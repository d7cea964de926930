// The snapshot store behaves as upstream Peekaboo's InMemorySnapshotManager (steipete/Peekaboo@43166110,
// Core/PeekabooAutomationKit/Sources/PeekabooAutomationKit/Services/Support/InMemorySnapshotManager*.swift),
// driven over a real bridge socket with an injected clock: ids `<epoch ms>-<1000…9999>`, least-recently-used
// eviction, getMostRecentSnapshot by last access among entries created within the validity window, and store
// calls that create an unknown id. Where upstream is unsafe for a socket host (ids that can collide) the
// format is kept and the collision is avoided; every limit stays.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import {
  createLocalServices,
  startBridgeHost,
  type BridgeHost,
  type BridgePermissions,
} from '../../lib/bridge/index.js';
import { OTHER_UID, RAW_CLIENT_SCRIPT, rawText, runNodeAs, skipOtherUid, tempDir } from '../helpers/bridge.js';

const NO_GRANTS: BridgePermissions = {
  screenRecording: false,
  accessibility: false,
  appleScript: false,
  postEvent: false,
};
const T0 = Date.parse('2026-11-22T06:40:05.000Z');
const SEC = 1_000;
const ID_FORMAT = /^(\d+)-(\d{4})$/;

interface Clock {
  now: number;
}
interface StoreOpts {
  maxSnapshots?: number;
  snapshotIdSuffix?: () => number;
  maxDetectionBytes?: number;
}

async function clockedHost(t: Test, clock: Clock, opts: StoreOpts = {}): Promise<BridgeHost> {
  const h = await startBridgeHost({
    socketPath: path.join(tempDir(t), 'OpenClaw', 'bridge.sock'),
    allowedTeamIds: [],
    logger: () => {},
    services: createLocalServices({ now: () => clock.now, permissions: () => NO_GRANTS, ...opts }),
  });
  t.teardown(() => h.close());
  return h;
}

type Reply = Record<string, { _0?: unknown } | undefined>;

async function call(socketPath: string, op: string, payload?: unknown): Promise<Reply> {
  const body = payload === undefined ? `{"${op}":{}}` : JSON.stringify({ [op]: { _0: payload } });
  return JSON.parse(await rawText(socketPath, body)) as Reply;
}

async function create(socketPath: string): Promise<string> {
  const reply = await call(socketPath, 'createSnapshot', {});
  if (typeof reply.snapshotId?._0 !== 'string') throw new Error(`createSnapshot failed: ${JSON.stringify(reply)}`);
  return reply.snapshotId._0;
}

interface Listed {
  id: string;
  createdAt: string;
  lastAccessedAt: string;
  sizeInBytes: number;
  screenshotCount: number;
  processId: number;
}

async function list(socketPath: string): Promise<Listed[]> {
  return (await call(socketPath, 'listSnapshots')).snapshots?._0 as Listed[];
}

async function listedIds(socketPath: string): Promise<string[]> {
  return (await list(socketPath)).map((x) => x.id);
}

async function mostRecent(socketPath: string, applicationBundleId?: string): Promise<string> {
  const reply = await call(
    socketPath,
    'getMostRecentSnapshot',
    applicationBundleId === undefined ? {} : { applicationBundleId },
  );
  if (typeof reply.snapshotId?._0 === 'string') return reply.snapshotId._0;
  const err = reply.error?._0 as { code: string; message: string };
  return `error:${err.code}:${err.message}`;
}

function ok(reply: Reply): boolean {
  return JSON.stringify(reply) === '{"ok":{}}';
}

t.test('ids: <epoch ms>-<1000…9999>, as upstream createSnapshot', async (t) => {
  const clock: Clock = { now: T0 + 0.75 }; // upstream truncates Date() * 1000 to an Int
  const h = await clockedHost(t, clock);
  const ids: string[] = [];
  for (let i = 0; i < 50; i += 1) ids.push(await create(h.socketPath)); // 50 creates in one millisecond
  for (const id of ids) {
    const m = ID_FORMAT.exec(id);
    t.ok(m, `${id} has the upstream format`);
    if (!m) continue;
    t.equal(Number(m[1]), T0, 'the millisecond of creation');
    t.ok(Number(m[2]) >= 1000 && Number(m[2]) <= 9999, 'suffix in 1000…9999');
  }
  t.equal(new Set(ids).size, 50, 'no two ids alike within one millisecond');
  t.same(new Set(await listedIds(h.socketPath)), new Set(ids), 'all 50 still stored: none overwrote another');
});

t.test(
  'ids never collide, even with a fixed random source, a client-made id, a cleaned id or a clock stepped back',
  async (t) => {
    const clock: Clock = { now: T0 };
    const h = await clockedHost(t, clock, { snapshotIdSuffix: () => 4242 });
    const s = h.socketPath;
    const a = await create(s);
    const b = await create(s);
    t.equal(a, `${T0}-4242`);
    t.equal(b, `${T0}-4243`, 'a taken suffix is skipped, the format kept');
    t.ok(ok(await call(s, 'cleanSnapshot', { snapshotId: a })));
    t.equal(await create(s), `${T0}-4244`, 'a cleaned id is not handed out again in its millisecond');

    clock.now = T0 + 1;
    t.equal(await create(s), `${T0 + 1}-4242`, 'a new millisecond starts afresh');

    // A client stores under an id in the future's format; the host's own id for that millisecond avoids it.
    const clientMade = `${T0 + 2}-4242`;
    t.ok(
      ok(
        await call(s, 'storeAnnotatedScreenshot', {
          snapshotId: clientMade,
          annotatedScreenshotPath: '/tmp/client.png',
        }),
      ),
    );
    clock.now = T0 + 2;
    t.equal(await create(s), `${T0 + 2}-4243`);
    const listed = await list(s);
    t.equal(listed.find((x) => x.id === clientMade)?.screenshotCount, 1, 'the client-made snapshot kept its data');

    clock.now = T0 - 60 * SEC; // wall clock stepped back a minute
    t.equal(await create(s), `${T0 + 2}-4244`, 'the id millisecond never moves backwards');
  },
);

t.test('eviction: the least recently used entry goes, not the oldest created', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock, { maxSnapshots: 3 });
  const s = h.socketPath;
  const a = await create(s); // T0
  clock.now += SEC;
  const b = await create(s); // +1 s
  clock.now += SEC;
  const c = await create(s); // +2 s
  clock.now += SEC;
  t.ok(ok(await call(s, 'storeScreenshot', { snapshotId: a, screenshotPath: '/tmp/a.png' })), 'a touched at +3 s');
  clock.now += SEC;
  const d = await create(s); // +4 s: b is least recently used
  t.same(await listedIds(s), [d, c, a], 'a (oldest created, recently used) kept');
  t.notOk((await listedIds(s)).includes(b), 'b (least recently used) evicted');

  clock.now += SEC;
  const miss = await call(s, 'getDetectionResult', { snapshotId: c });
  t.equal((miss.error?._0 as { code: string }).code, 'notFound', 'no detection stored for c');
  clock.now += SEC; // the read above still touched c at +5 s, as upstream's getDetectionResult does
  t.ok(
    ok(await call(s, 'storeScreenshot', { snapshotId: 'external', screenshotPath: '/tmp/x.png' })),
    'an unknown id at +6 s',
  );
  t.same(await listedIds(s), ['external', d, c], 'a (used at +3 s) evicted; c (read at +5 s) kept');

  clock.now += SEC;
  t.equal((await list(s)).length, 3, 'the cap holds');
  t.equal(await mostRecent(s), 'external');
  clock.now += SEC;
  const e = await create(s); // listing and asking touched nothing: d (+4 s) is the least recently used
  t.same(await listedIds(s), [e, 'external', c]);
});

t.test('getMostRecentSnapshot: last accessed, among entries created within the validity window', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  const s = h.socketPath;
  const a = await create(s); // T0
  clock.now += SEC;
  const b = await create(s); // +1 s
  t.equal(await mostRecent(s), b);
  clock.now += SEC;
  t.ok(
    ok(await call(s, 'storeAnnotatedScreenshot', { snapshotId: a, annotatedScreenshotPath: '/tmp/a-annotated.png' })),
  );
  t.equal(await mostRecent(s), a, 'a was used after b was created');

  clock.now += SEC;
  t.ok(
    ok(
      await call(s, 'storeScreenshot', {
        snapshotId: b,
        screenshotPath: '/tmp/b.png',
        applicationBundleId: 'com.apple.Safari',
      }),
    ),
  );
  clock.now += SEC;
  t.ok(
    ok(
      await call(s, 'storeScreenshot', {
        snapshotId: a,
        screenshotPath: '/tmp/a.png',
        applicationBundleId: 'com.apple.Safari',
      }),
    ),
  );
  t.equal(await mostRecent(s, 'com.apple.Safari'), a, 'bundle filter, then last access');
  clock.now += SEC;
  t.ok(
    ok(await call(s, 'storeDetectionResult', { snapshotId: b, result: { snapshotId: b, elements: {}, metadata: {} } })),
  );
  t.equal(await mostRecent(s, 'com.apple.Safari'), b, 'storing a detection result is an access');
  t.equal(await mostRecent(s, 'com.apple.Mail'), 'error:notFound:No recent snapshot found', 'upstream message');

  // A later storeScreenshot without a bundle id clears it, as upstream assigns every request field.
  clock.now += SEC;
  t.ok(ok(await call(s, 'storeScreenshot', { snapshotId: b, screenshotPath: '/tmp/b2.png' })));
  t.equal(await mostRecent(s, 'com.apple.Safari'), a, 'b no longer carries the bundle id');
});

t.test('getMostRecentSnapshot skips entries created more than 600 s ago, even if still live', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  const s = h.socketPath;
  const a = await create(s);
  clock.now = T0 + 550 * SEC;
  t.ok(
    ok(
      await call(s, 'storeScreenshot', {
        snapshotId: a,
        screenshotPath: '/tmp/a.png',
        applicationBundleId: 'com.apple.Safari',
      }),
    ),
  );
  clock.now = T0 + 600 * SEC;
  t.equal(await mostRecent(s), a, 'exactly 600 s old still counts (createdAt >= cutoff)');
  clock.now = T0 + 600 * SEC + 1;
  t.same(await listedIds(s), [a], 'a is live: used 50 s ago');
  t.equal(await mostRecent(s), 'error:notFound:No recent snapshot found', 'but too old to be the recent one');
  t.equal(
    await mostRecent(s, 'com.apple.Safari'),
    'error:notFound:No recent snapshot found',
    'with the bundle filter too',
  );
  const fresh = await create(s);
  t.equal(await mostRecent(s), fresh);
});

t.test('store calls on an unknown id create the snapshot, as upstream', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock, { maxDetectionBytes: 1024 });
  const s = h.socketPath;
  const pid = process.pid;

  t.ok(
    ok(
      await call(s, 'storeScreenshot', {
        snapshotId: 'shot',
        screenshotPath: '/tmp/s.png',
        applicationBundleId: 'com.apple.Safari',
      }),
    ),
  );
  clock.now += SEC;
  t.ok(
    ok(await call(s, 'storeAnnotatedScreenshot', { snapshotId: 'annotated', annotatedScreenshotPath: '/tmp/n.png' })),
  );
  clock.now += SEC;
  const detection = {
    snapshotId: 'det',
    screenshotPath: '/tmp/d.png',
    elements: { buttons: [] },
    metadata: { method: 'AXorcist' },
  };
  t.ok(ok(await call(s, 'storeDetectionResult', { snapshotId: 'det', result: detection })));
  const bytes = Buffer.byteLength(JSON.stringify(detection), 'utf8');

  t.equal(
    await rawText(s, '{"listSnapshots":{}}'),
    '{"snapshots":{"_0":[' +
      `{"id":"det","processId":${pid},"createdAt":"2026-11-22T06:40:07Z","lastAccessedAt":"2026-11-22T06:40:07Z","sizeInBytes":${bytes},` +
      `"screenshotCount":1,"isActive":true},` + // the result's screenshotPath
      `{"id":"annotated","processId":${pid},"createdAt":"2026-11-22T06:40:06Z","lastAccessedAt":"2026-11-22T06:40:06Z","sizeInBytes":0,` +
      `"screenshotCount":1,"isActive":true},` +
      `{"id":"shot","processId":${pid},"createdAt":"2026-11-22T06:40:05Z","lastAccessedAt":"2026-11-22T06:40:05Z","sizeInBytes":0,` +
      `"screenshotCount":1,"isActive":true}` +
      ']}}',
    'each store call made an entry, created now, owned by the host',
  );
  t.equal(
    await rawText(s, '{"getDetectionResult":{"_0":{"snapshotId":"det"}}}'),
    JSON.stringify({ detection: { _0: detection } }),
  );
  t.equal(await mostRecent(s, 'com.apple.Safari'), 'shot');

  const nobody = await call(s, 'getDetectionResult', { snapshotId: 'nobody' });
  t.same(
    nobody.error?._0,
    { code: 'notFound', message: 'No detection result for snapshot nobody' },
    'reading does not create',
  );
  t.notOk((await listedIds(s)).includes('nobody'));

  // An expired entry is not revived: the store call starts a fresh one, without the old data.
  clock.now += 601 * SEC;
  t.ok(ok(await call(s, 'storeAnnotatedScreenshot', { snapshotId: 'det', annotatedScreenshotPath: '/tmp/d2.png' })));
  const [again] = await list(s);
  t.same(
    { id: again.id, createdAt: again.createdAt, sizeInBytes: again.sizeInBytes },
    { id: 'det', createdAt: '2026-11-22T06:50:08Z', sizeInBytes: 0 },
  );
  t.equal(
    (await call(s, 'getDetectionResult', { snapshotId: 'det' })).error?._0 !== undefined,
    true,
    'the old detection is gone',
  );

  // Limits still apply before anything is created.
  const longId = 'x'.repeat(4097);
  t.equal(
    (await call(s, 'storeScreenshot', { snapshotId: longId, screenshotPath: '/tmp/l.png' })).error?._0 !== undefined,
    true,
  );
  const big = await call(s, 'storeDetectionResult', { snapshotId: 'big', result: { blob: 'y'.repeat(2048) } });
  t.equal((big.error?._0 as { code: string }).code, 'invalidRequest', 'detection over the cap');
  t.same(await listedIds(s), ['det'], 'neither the long id nor the oversized result created an entry');
});

t.test('a stored detection result lends the snapshot its screenshot path and window context', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  const s = h.socketPath;
  const context = {
    applicationName: 'Calculator',
    applicationBundleId: 'com.apple.calculator',
    applicationProcessId: 123,
    windowTitle: 'Calculator',
    windowID: 456,
    windowBounds: [
      [10, 20],
      [300, 200],
    ],
  };
  const a = await create(s);
  const b = await create(s);
  t.ok(
    ok(
      await call(s, 'storeDetectionResult', {
        snapshotId: a,
        result: { snapshotId: a, screenshotPath: '/tmp/calc.png', elements: {}, metadata: { windowContext: context } },
      }),
    ),
  );
  clock.now += SEC;
  t.ok(
    ok(
      await call(s, 'storeScreenshot', {
        snapshotId: b,
        screenshotPath: '/tmp/b.png',
        applicationBundleId: 'com.apple.Safari',
      }),
    ),
  );
  t.equal(await mostRecent(s, 'com.apple.calculator'), a, 'the bundle id came from metadata.windowContext');
  t.equal(
    (await list(s)).find((x) => x.id === a)?.screenshotCount,
    1,
    "the result's screenshot path counts as the raw screenshot",
  );

  // A snapshot that already has a screenshot keeps it; a null or mistyped context field changes nothing.
  clock.now += SEC;
  const odd = { applicationBundleId: 42, applicationName: null };
  t.ok(
    ok(
      await call(s, 'storeDetectionResult', {
        snapshotId: b,
        result: { screenshotPath: '/tmp/other.png', metadata: { windowContext: odd } },
      }),
    ),
  );
  t.equal(await mostRecent(s, 'com.apple.Safari'), b, 'bundle id unchanged');
  t.ok(ok(await call(s, 'storeAnnotatedScreenshot', { snapshotId: b, annotatedScreenshotPath: '/tmp/b.png' })));
  t.equal(
    (await list(s)).find((x) => x.id === b)?.screenshotCount,
    1,
    'raw path still /tmp/b.png, so the same annotated path is not counted twice',
  );
});

t.test('a peer of another uid cannot create a snapshot through a store call', { skip: skipOtherUid }, async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  // Loosen the path so only the host's peer-uid check stands between the foreign uid and the store.
  fs.chmodSync(path.dirname(path.dirname(h.socketPath)), 0o711);
  fs.chmodSync(path.dirname(h.socketPath), 0o711);
  fs.chmodSync(h.socketPath, 0o666);
  const body = JSON.stringify({ storeScreenshot: { _0: { snapshotId: 'intruder', screenshotPath: '/tmp/i.png' } } });
  const child = await runNodeAs(t, OTHER_UID, RAW_CLIENT_SCRIPT, [h.socketPath, body]);
  t.equal(child.code, 0, child.stderr);
  const reply = JSON.parse(child.stdout) as Reply;
  t.equal((reply.error?._0 as { code?: string } | undefined)?.code, 'unauthorizedClient', child.stdout);
  t.same(await listedIds(h.socketPath), [], 'nothing was created');
  t.equal(h.stats.unauthorized, 1);
});
