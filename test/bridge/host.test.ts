import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startBridgeHost, type BridgeHost, type BridgeHostOptions } from '../../lib/bridge/index.js';
import { handshakeBody, rawExchange, rawText, tempDir } from '../helpers/bridge.js';

const OPS = [
  'cleanAllSnapshots',
  'cleanSnapshot',
  'cleanSnapshotsOlderThan',
  'createSnapshot',
  'getDetectionResult',
  'getMostRecentSnapshot',
  'listSnapshots',
  'permissionsStatus',
  'storeAnnotatedScreenshot',
  'storeDetectionResult',
  'storeScreenshot',
];

async function host(t: Test, opts: BridgeHostOptions = {}): Promise<BridgeHost> {
  const dir = tempDir(t);
  const h = await startBridgeHost({
    socketPath: path.join(dir, 'OpenClaw', 'bridge.sock'),
    allowedTeamIds: [],
    logger: () => {},
    ...opts,
  });
  t.teardown(() => h.close());
  return h;
}

async function handshakeWorks(t: Test, socketPath: string, label: string): Promise<void> {
  const reply = JSON.parse(await rawText(socketPath, handshakeBody())) as Record<string, unknown>;
  t.ok(reply.handshake, `${label}: host still serves a handshake`);
}

t.test('socket is born 0600 in a 0700 directory, even under umask 000', async (t) => {
  const old = process.umask(0);
  let h: BridgeHost;
  try {
    h = await host(t);
  } finally {
    process.umask(old);
  }
  t.equal(fs.lstatSync(h.socketPath).mode & 0o777, 0o600);
  t.equal(fs.lstatSync(path.dirname(h.socketPath)).mode & 0o777, 0o700);
  t.ok(fs.lstatSync(h.socketPath).isSocket());
  await h.close();
  t.notOk(fs.existsSync(h.socketPath), 'close() removes the socket');
});

t.test('handshake round trip: exact Swift enum envelope', async (t) => {
  const h = await host(t, { build: '0.1.0 (1)', hostKind: 'gui' });
  const tags = Object.fromEntries(OPS.map((op) => [op, []]));
  const expected = JSON.stringify({
    handshake: {
      _0: {
        negotiatedVersion: { major: 1, minor: 7 },
        hostKind: 'gui',
        build: '0.1.0 (1)',
        supportedOperations: OPS,
        permissions: { screenRecording: false, accessibility: false, appleScript: false, postEvent: false },
        enabledOperations: OPS,
        permissionTags: tags,
      },
    },
  });
  t.equal(
    await rawText(
      h.socketPath,
      '{"handshake":{"_0":{"protocolVersion":{"major":1,"minor":7},"client":{"bundleIdentifier":"com.example.client","processIdentifier":4242,' +
        '"hostname":"mac.local"}}}}',
    ),
    expected,
  );

  const v10 = JSON.parse(await rawText(h.socketPath, handshakeBody(0)));
  t.same(v10.handshake._0.negotiatedVersion, { major: 1, minor: 0 }, 'a 1.0 client negotiates 1.0');

  for (const body of [
    handshakeBody(8),
    JSON.stringify({
      handshake: { _0: { protocolVersion: { major: 2, minor: 0 }, client: { processIdentifier: 1 } } },
    }),
  ]) {
    const err = JSON.parse(await rawText(h.socketPath, body));
    t.equal(err.error._0.code, 'versionMismatch');
    t.match(err.error._0.message, /not supported by this host/);
  }
  const noPid = JSON.parse(
    await rawText(h.socketPath, '{"handshake":{"_0":{"protocolVersion":{"major":1,"minor":7},"client":{}}}}'),
  );
  t.same(noPid, {
    error: {
      _0: {
        code: 'decodingFailed',
        message: 'Failed to decode request',
        details: 'client.processIdentifier (int32) is required',
      },
    },
  });
});

t.test('handshake bundle and team allowlists (verified identity, else the claimed one)', async (t) => {
  const h = await host(t, { allowedBundleIds: ['boo.peekaboo.peekaboo'], handshakeTeamIds: ['Y5PE65HELJ'] });
  const ok = JSON.parse(
    await rawText(
      h.socketPath,
      handshakeBody(7, { bundleIdentifier: 'boo.peekaboo.peekaboo', teamIdentifier: 'Y5PE65HELJ' }),
    ),
  );
  t.ok(ok.handshake);
  const badBundle = JSON.parse(await rawText(h.socketPath, handshakeBody(7, { bundleIdentifier: 'com.evil' })));
  t.same(badBundle.error._0, { code: 'unauthorizedClient', message: 'Bundle com.evil is not authorized' });
  const badTeam = JSON.parse(await rawText(h.socketPath, handshakeBody(7, { teamIdentifier: 'NOT_A_TEAM' })));
  t.same(badTeam.error._0, { code: 'unauthorizedClient', message: 'Team NOT_A_TEAM is not authorized' });
});

t.test('every implemented operation round trips with exact encodings', async (t) => {
  const h = await host(t);
  const s = h.socketPath;
  t.equal(
    await rawText(s, '{"permissionsStatus":{}}'),
    '{"permissionsStatus":{"_0":{"screenRecording":false,"accessibility":false,"appleScript":false,"postEvent":false}}}',
  );

  const created = JSON.parse(await rawText(s, '{"createSnapshot":{"_0":{}}}'));
  const id = created.snapshotId._0 as string;
  t.match(id, /^\d{13}-[1-9]\d{3}$/, 'upstream id format: <epoch ms>-<1000…9999>');
  t.same(Object.keys(created), ['snapshotId']);

  t.equal(
    await rawText(
      s,
      JSON.stringify({
        storeScreenshot: {
          _0: {
            snapshotId: id,
            screenshotPath: '/tmp/shot.png',
            applicationBundleId: 'com.apple.Safari',
            applicationProcessId: 77,
            windowBounds: [
              [0, 0],
              [800, 600],
            ],
          },
        },
      }),
    ),
    '{"ok":{}}',
  );
  t.equal(
    await rawText(
      s,
      JSON.stringify({
        storeAnnotatedScreenshot: { _0: { snapshotId: id, annotatedScreenshotPath: '/tmp/shot-annotated.png' } },
      }),
    ),
    '{"ok":{}}',
  );
  const detection = {
    snapshotId: id,
    elements: {
      buttons: [
        {
          id: 'B1',
          label: 'OK',
          bounds: [
            [1, 2],
            [3, 4],
          ],
        },
      ],
    },
    metadata: { detectionTime: 0.25, method: 'AXorcist' },
  };
  t.equal(
    await rawText(s, JSON.stringify({ storeDetectionResult: { _0: { snapshotId: id, result: detection } } })),
    '{"ok":{}}',
  );
  t.equal(
    await rawText(s, JSON.stringify({ getDetectionResult: { _0: { snapshotId: id } } })),
    JSON.stringify({ detection: { _0: detection } }),
  );

  const other = JSON.parse(await rawText(s, '{"createSnapshot":{"_0":{}}}')).snapshotId._0 as string;
  t.equal(
    await rawText(s, '{"getMostRecentSnapshot":{"_0":{"applicationBundleId":"com.apple.Safari"}}}'),
    `{"snapshotId":{"_0":"${id}"}}`,
  );
  t.equal(await rawText(s, '{"getMostRecentSnapshot":{"_0":{}}}'), `{"snapshotId":{"_0":"${other}"}}`);
  const none = JSON.parse(await rawText(s, '{"getMostRecentSnapshot":{"_0":{"applicationBundleId":"com.nobody"}}}'));
  t.equal(none.error._0.code, 'notFound');

  t.equal(await rawText(s, JSON.stringify({ cleanSnapshot: { _0: { snapshotId: id } } })), '{"ok":{}}');
  const gone = JSON.parse(await rawText(s, JSON.stringify({ getDetectionResult: { _0: { snapshotId: id } } })));
  t.equal(gone.error._0.code, 'notFound');
  // As upstream's in-memory store: storing to an unknown id creates that snapshot again.
  t.equal(
    await rawText(
      s,
      JSON.stringify({ storeAnnotatedScreenshot: { _0: { snapshotId: id, annotatedScreenshotPath: '/x' } } }),
    ),
    '{"ok":{}}',
  );
  t.equal(await rawText(s, '{"cleanSnapshotsOlderThan":{"_0":{"days":1}}}'), '{"int":{"_0":0}}');
  t.equal(
    await rawText(s, '{"cleanAllSnapshots":{}}'),
    '{"int":{"_0":2}}',
    'other, and id recreated by the store call',
  );
  t.equal(await rawText(s, '{"cleanAllSnapshots":{}}'), '{"int":{"_0":0}}');

  const wrongType = JSON.parse(await rawText(s, '{"cleanSnapshot":{"_0":{"snapshotId":5}}}'));
  t.same(wrongType.error._0, {
    code: 'decodingFailed',
    message: 'Failed to decode request',
    details: 'snapshotId must be a string',
  });
  const negative = JSON.parse(await rawText(s, '{"cleanSnapshotsOlderThan":{"_0":{"days":-1}}}'));
  t.equal(negative.error._0.code, 'invalidRequest');
});

t.test('UI automation is answered honestly: operationNotSupported, never data', async (t) => {
  const h = await host(t);
  const capture = JSON.parse(
    await rawText(
      h.socketPath,
      '{"captureScreen":{"_0":{"displayIndex":0,"visualizerMode":{"screenshotFlash":{}},"scale":{"logical1x":{}}}}}',
    ),
  );
  t.equal(capture.error._0.code, 'operationNotSupported');
  t.match(capture.error._0.details, /screenRecording/);
  for (const body of [
    '{"listApplications":{}}',
    '{"click":{"_0":{"target":{"kind":"elementId","value":"B1"},"clickType":"single"}}}',
    '{"appleScriptProbe":{}}',
  ]) {
    const reply = JSON.parse(await rawText(h.socketPath, body));
    t.equal(reply.error._0.code, 'operationNotSupported', body);
  }
});

t.test('bad input gets typed answers or a silent drop, and the host keeps serving', async (t) => {
  // 2 s: every well-formed exchange below must be read inside the deadline on a loaded box.
  const h = await host(t, { maxMessageBytes: 4096, readTimeoutMs: 2_000 });
  const s = h.socketPath;

  const unknown = JSON.parse(await rawText(s, '{"formatDisk":{"_0":{}}}'));
  t.equal(unknown.error._0.code, 'decodingFailed', 'unknown op is a decode failure, as in Swift');
  t.equal(unknown.error._0.message, 'Failed to decode request');
  await handshakeWorks(t, s, 'after unknown op');

  for (const body of ['{not json', '{"ok":{},"handshake":{}}', '[]', 'null', '{"__proto__":{}}', '['.repeat(3000)]) {
    const reply = JSON.parse(await rawText(s, body));
    t.equal(reply.error._0.code, 'decodingFailed', `malformed: ${body.slice(0, 20)}`);
  }
  await handshakeWorks(t, s, 'after malformed envelopes');

  const oversize = await rawExchange(s, Buffer.alloc(8192, 0x20));
  t.equal(oversize.data.length, 0, 'oversize frame: no response');
  await handshakeWorks(t, s, 'after oversize frame');

  const started = Date.now();
  const silent = await rawExchange(s, '{"permissionsStatus":{}}', { halfClose: false });
  t.equal(silent.data.length, 0, 'client that never half-closes: no response');
  t.ok(Date.now() - started >= 1_950, 'dropped at the read deadline, not before');
  await handshakeWorks(t, s, 'after silent client');
  t.equal(h.stats.dropped, 2);
});

t.test('default 64 MiB cap: 64 MiB + 1 is dropped without response', async (t) => {
  const h = await host(t);
  const big = Buffer.alloc(64 * 1024 * 1024 + 1, 0x20);
  const reply = await rawExchange(h.socketPath, big);
  t.equal(reply.data.length, 0);
  t.equal(h.stats.dropped, 1);
  await handshakeWorks(t, h.socketPath, 'after 64 MiB + 1');
});

t.test('concurrency cap drops extra connections and recovers', async (t) => {
  const h = await host(t, { maxConnections: 2, readTimeoutMs: 60_000 });
  const idle = [
    rawExchange(h.socketPath, 'x', { halfClose: false }),
    rawExchange(h.socketPath, 'x', { halfClose: false }),
  ];
  while (h.stats.accepted < 2) await new Promise((r) => setTimeout(r, 10));
  const third = await rawExchange(h.socketPath, handshakeBody());
  t.equal(third.data.length, 0, 'over the cap: closed with no response');
  t.equal(h.stats.dropped, 1);
  await h.close();
  await Promise.all(idle);
});

t.test('socket path safety: stale socket replaced, live host and foreign files refused', async (t) => {
  const dir = tempDir(t);
  const sock = path.join(dir, 'OpenClaw', 'bridge.sock');
  fs.mkdirSync(path.dirname(sock), { mode: 0o700 });

  // A process that dies by SIGKILL leaves its socket file behind.
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(process.argv[1], () => process.stdout.write('up'))`, sock],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((r) => child.stdout.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.ok(fs.lstatSync(sock).isSocket(), 'stale socket left behind');
  const h = await startBridgeHost({ socketPath: sock, allowedTeamIds: [], logger: () => {} });
  await handshakeWorks(t, sock, 'host on a formerly stale path');

  await t.rejects(startBridgeHost({ socketPath: sock, allowedTeamIds: [], logger: () => {} }), {
    code: 'ERR_SOCKET_IN_USE',
  });
  await handshakeWorks(t, sock, 'first host untouched by the second');
  t.match(JSON.parse(fs.readFileSync(`${sock}.lock`, 'utf8')), { pid: process.pid }, 'the instance lock is held');
  await h.close();
  t.notOk(fs.existsSync(`${sock}.lock`), 'and released on close');

  // Two hosts started at the same moment: the kernel lock lets exactly one through.
  const both = await Promise.allSettled([0, 1].map(() => startBridgeHost({ socketPath: sock, logger: () => {} })));
  t.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'one of two simultaneous starts wins');
  t.match(
    both.find((r) => r.status === 'rejected'),
    { reason: { code: 'ERR_SOCKET_IN_USE' } },
  );
  for (const r of both) if (r.status === 'fulfilled') await r.value.close();

  fs.writeFileSync(sock, 'not a socket');
  await t.rejects(startBridgeHost({ socketPath: sock, logger: () => {} }), { code: 'ERR_SOCKET_PATH_NOT_SOCKET' });
  t.equal(fs.readFileSync(sock, 'utf8'), 'not a socket', 'foreign file left alone');
  fs.rmSync(sock);
  fs.symlinkSync(path.join(dir, 'elsewhere'), sock);
  await t.rejects(startBridgeHost({ socketPath: sock, logger: () => {} }), { code: 'ERR_SOCKET_PATH_NOT_SOCKET' });
  fs.rmSync(sock);

  const realDir = path.join(dir, 'real');
  fs.mkdirSync(realDir, { mode: 0o700 });
  fs.symlinkSync(realDir, path.join(dir, 'linked'));
  await t.rejects(startBridgeHost({ socketPath: path.join(dir, 'linked', 'bridge.sock'), logger: () => {} }), {
    code: 'ERR_STATE_DIR_SYMLINK',
  });

  if (process.getuid?.() === 0) {
    const foreign = path.join(dir, 'foreign');
    fs.mkdirSync(foreign, { mode: 0o700 });
    fs.chownSync(foreign, 65534, 65534);
    await t.rejects(startBridgeHost({ socketPath: path.join(foreign, 'bridge.sock'), logger: () => {} }), {
      code: 'ERR_STATE_DIR_OWNER',
    });
    t.equal(fs.lstatSync(foreign).mode & 0o777, 0o700, 'foreign directory not chmod-ed');
  }

  const long = path.join(dir, 'x'.repeat(120), 'bridge.sock');
  await t.rejects(startBridgeHost({ socketPath: long, logger: () => {} }), { code: 'ERR_BRIDGE_PATH_TOO_LONG' });
});
