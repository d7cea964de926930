// listSnapshots end to end over a real bridge socket: the host's snapshot store is driven through real
// requests and its clock is injected, so the exact reply bytes can be written out by hand.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  bridgeRequest,
  connectBridge,
  createLocalServices,
  listBridgeSnapshots,
  startBridgeHost,
  type BridgeHost,
  type BridgePermissions,
} from '../../lib/bridge/index.js';
import { OTHER_UID, RAW_CLIENT_SCRIPT, rawText, runNodeAs, skipOtherUid, tempDir } from '../helpers/bridge.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

const NO_GRANTS: BridgePermissions = {
  screenRecording: false,
  accessibility: false,
  appleScript: false,
  postEvent: false,
};
const T0 = Date.parse('2026-11-22T06:40:05.250Z');

interface Clock {
  now: number;
}

async function clockedHost(t: Test, clock: Clock): Promise<BridgeHost> {
  const dir = tempDir(t);
  const h = await startBridgeHost({
    socketPath: path.join(dir, 'OpenClaw', 'bridge.sock'),
    allowedTeamIds: [],
    logger: () => {},
    services: createLocalServices({ now: () => clock.now, permissions: () => NO_GRANTS }),
  });
  t.teardown(() => h.close());
  return h;
}

async function call(socketPath: string, message: unknown): Promise<string> {
  return rawText(socketPath, typeof message === 'string' ? message : JSON.stringify(message));
}

async function create(socketPath: string): Promise<string> {
  return (JSON.parse(await call(socketPath, '{"createSnapshot":{"_0":{}}}')) as { snapshotId: { _0: string } })
    .snapshotId._0;
}

t.test('create, store, list, clean, list again: exact bytes from the real host', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  const s = h.socketPath;
  const pid = process.pid; // the host runs in this process, and upstream reports the creating (host) process

  const conn = await connectBridge(s);
  t.ok(conn.supports('listSnapshots'), 'advertised in the handshake');
  t.ok(conn.handshake.enabledOperations.includes('listSnapshots'), 'enabled without any TCC grant');
  t.same(conn.handshake.permissionTags.listSnapshots, [], 'needs no permission');
  t.equal(await call(s, '{"listSnapshots":{}}'), '{"snapshots":{"_0":[]}}', 'empty store');

  const a = await create(s); // 06:40:05.250
  clock.now += 1_500;
  const b = await create(s); // 06:40:06.750
  clock.now += 1_000;
  const c = await create(s); // 06:40:07.750
  const d = await create(s); // same millisecond as c: created later, listed first
  t.equal(new Set([a, b, c, d]).size, 4);

  clock.now += 60_000; // 06:41:07.750
  t.equal(
    await call(s, {
      storeScreenshot: {
        _0: {
          snapshotId: a,
          screenshotPath: '/tmp/a/raw.png',
          applicationBundleId: 'com.apple.Safari',
          applicationProcessId: 77,
          windowBounds: [
            [0, 0],
            [800, 600],
          ],
        },
      },
    }),
    '{"ok":{}}',
  );
  t.equal(
    await call(s, {
      storeAnnotatedScreenshot: { _0: { snapshotId: a, annotatedScreenshotPath: '/tmp/a/annotated.png' } },
    }),
    '{"ok":{}}',
  );
  clock.now += 2_000; // 06:41:09.750
  t.equal(await call(s, { storeScreenshot: { _0: { snapshotId: b, screenshotPath: '/tmp/b/raw.png' } } }), '{"ok":{}}');
  t.equal(
    await call(s, { storeAnnotatedScreenshot: { _0: { snapshotId: b, annotatedScreenshotPath: '/tmp/b/raw.png' } } }),
    '{"ok":{}}',
    'annotated = raw path: counted once',
  );
  // The detection JSON the host keeps; its UTF-8 size (not its UTF-16 length) is sizeInBytes.
  const detection =
    '{"snapshotId":"x","elements":{"buttons":[{"id":"B1","label":"Größe","bounds":[[1,2],[3,4]]}]},"metadata":{"detectionTime":0.25,"method":"AXorcist"}}';
  t.equal(await call(s, `{"storeDetectionResult":{"_0":{"snapshotId":"${c}","result":${detection}}}}`), '{"ok":{}}');
  const detectionBytes = Buffer.byteLength(detection, 'utf8');
  t.not(detectionBytes, detection.length, 'the sample has multi-byte characters');

  clock.now += 30_000; // listing at 06:41:39.750 must not count as an access
  const expected =
    '{"snapshots":{"_0":[' +
    `{"id":"${d}","processId":${pid},"createdAt":"2026-11-22T06:40:07Z","lastAccessedAt":"2026-11-22T06:40:07Z","sizeInBytes":0,` +
    `"screenshotCount":0,"isActive":true},` +
    `{"id":"${c}","processId":${pid},"createdAt":"2026-11-22T06:40:07Z","lastAccessedAt":"2026-11-22T06:41:09Z","sizeInBytes":${detectionBytes},` +
    `"screenshotCount":0,"isActive":true},` +
    `{"id":"${b}","processId":${pid},"createdAt":"2026-11-22T06:40:06Z","lastAccessedAt":"2026-11-22T06:41:09Z","sizeInBytes":0,` +
    `"screenshotCount":1,"isActive":true},` +
    `{"id":"${a}","processId":${pid},"createdAt":"2026-11-22T06:40:05Z","lastAccessedAt":"2026-11-22T06:41:07Z","sizeInBytes":0,` +
    `"screenshotCount":2,"isActive":true}` +
    ']}}';
  t.equal(await call(s, '{"listSnapshots":{}}'), expected, 'newest createdAt first, exact Swift encoding');
  clock.now += 5_000;
  t.equal(await call(s, '{"listSnapshots":{}}'), expected, 'listing did not touch lastAccessedAt');

  const typed = await conn.listSnapshots();
  t.same(
    typed.map((x) => x.id),
    [d, c, b, a],
  );
  t.same(
    typed.map((x) => x.screenshotCount),
    [0, 0, 1, 2],
  );
  t.equal(
    typed[3].createdAt.getTime(),
    Date.parse('2026-11-22T06:40:05Z'),
    'client dates are Date objects, whole seconds',
  );
  t.ok(typed.every((x) => x.processId === pid && x.isActive));

  t.equal(await call(s, { cleanSnapshot: { _0: { snapshotId: b } } }), '{"ok":{}}');
  t.same(
    (await conn.listSnapshots()).map((x) => x.id),
    [d, c, a],
    'a cleaned snapshot is gone from the list',
  );

  // Expiry: 600 s after its last access a snapshot is no longer listed. d was last touched at 06:40:07.750.
  clock.now = Date.parse('2026-11-22T06:50:07.751Z');
  t.same(
    (await conn.listSnapshots()).map((x) => x.id),
    [c, a],
    'd expired; c and a were touched later',
  );

  t.equal(await call(s, '{"cleanAllSnapshots":{}}'), '{"int":{"_0":2}}');
  t.equal(await call(s, '{"listSnapshots":{}}'), '{"snapshots":{"_0":[]}}', 'empty again after cleanAllSnapshots');
  t.same(await conn.listSnapshots(), []);
});

t.test('a 1.0 client may list (listSnapshots is in 1.0); listBridgeSnapshots reaches an explicit host', async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  const id = await create(h.socketPath);
  const old = await connectBridge(h.socketPath, { protocolVersion: { major: 1, minor: 0 } });
  t.same(old.negotiatedVersion, { major: 1, minor: 0 });
  t.same(
    (await old.listSnapshots()).map((x) => x.id),
    [id],
  );

  const viaEnv = await listBridgeSnapshots({ env: { PEEKABOO_BRIDGE_SOCKET: h.socketPath } });
  t.equal(viaEnv.via, 'remote');
  t.equal(viaEnv.socketPath, h.socketPath);
  t.same(
    viaEnv.snapshots.map((x) => x.id),
    [id],
  );
  t.equal(viaEnv.snapshots[0].createdAt.toISOString(), '2026-11-22T06:40:05.000Z');
});

t.test('local fallback lists the in-process store', async (t) => {
  const localServices = createLocalServices({ permissions: () => NO_GRANTS });
  const env = { PEEKABOO_NO_REMOTE: '1' };
  t.same((await listBridgeSnapshots({ env, localServices })).snapshots, []);
  const created = await bridgeRequest('createSnapshot', {}, { env, localServices });
  t.equal(created.via, 'local');
  const listed = await listBridgeSnapshots({ env, localServices });
  t.equal(listed.via, 'local', 'the result says it ran in our process');
  t.same(
    listed.snapshots.map((x) => x.id),
    [created.response.value],
  );
  t.equal(listed.snapshots[0].processId, process.pid);
  t.ok(Math.abs(listed.snapshots[0].createdAt.getTime() - Date.now()) < 60_000, 'real clock');
});

t.test('processId is the host process, not the client', async (t) => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = tempDir(t);
  const sock = path.join(dir, 'OpenClaw', 'bridge.sock');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PEEKABOO_BRIDGE_SOCKET;
  delete env.PEEKABOO_NO_REMOTE;
  delete env.PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS;
  const child = spawn(process.execPath, cliNodeArgs('main', ['bridge', 'host', '--socket', sock, '--same-user']), {
    cwd: root,
    env,
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`host exited early (${code})`)));
  });
  const conn = await connectBridge(sock);
  const id = await create(sock);
  const listed = await conn.listSnapshots();
  t.same(
    listed.map((x) => x.id),
    [id],
  );
  t.equal(listed[0].processId, child.pid, 'the host process created the snapshot');
  t.not(listed[0].processId, process.pid);
  t.ok(Math.abs(listed[0].createdAt.getTime() - Date.now()) < 60_000, 'real clock in a real host');
});

t.test('a peer of another uid cannot list snapshots', { skip: skipOtherUid }, async (t) => {
  const clock: Clock = { now: T0 };
  const h = await clockedHost(t, clock);
  const id = await create(h.socketPath);
  // Loosen the path so only the host's peer-uid check stands between the foreign uid and the listing.
  fs.chmodSync(path.dirname(path.dirname(h.socketPath)), 0o711);
  fs.chmodSync(path.dirname(h.socketPath), 0o711);
  fs.chmodSync(h.socketPath, 0o666);
  const child = await runNodeAs(t, OTHER_UID, RAW_CLIENT_SCRIPT, [h.socketPath, '{"listSnapshots":{}}']);
  t.equal(child.code, 0, child.stderr);
  const reply = JSON.parse(child.stdout) as { error?: { _0: { code: string } } };
  t.equal(reply.error?._0.code, 'unauthorizedClient');
  t.notMatch(child.stdout, id, 'no snapshot id leaks');
  t.equal(h.stats.unauthorized, 1);
});
