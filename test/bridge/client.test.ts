import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  BridgeError,
  bridgeCandidates,
  defaultHostSocketPath,
  bridgeRequest,
  connectBridge,
  discoverBridgeHost,
  handshakeBridge,
  startBridgeHost,
  type BridgeHost,
  type BridgeServices,
} from '../../lib/bridge/index.js';
import { deadSocket, rawServer, tempDir } from '../helpers/bridge.js';
import { OTHER_UID, skipOtherUid, spawnNodeAs } from '../helpers/other-uid.js';

const quiet = (): void => {};

/** A test host that advertises capture (what Peekaboo.app would); its capture is a fixture, clearly labelled. */
function captureServices(label: string): BridgeServices {
  return {
    operations: ['captureScreen', 'permissionsStatus'],
    permissions: () => ({ screenRecording: true, accessibility: true, appleScript: false, postEvent: false }),
    handle: (op) =>
      op === 'captureScreen'
        ? {
            case: 'capture',
            value: {
              imageData: Buffer.from(`fixture:${label}`).toString('base64'),
              metadata: { size: [1, 1], mode: { screen: {} }, timestamp: '2026-01-01T00:00:00Z' },
            },
          }
        : {
            case: 'permissionsStatus',
            value: { screenRecording: true, accessibility: true, appleScript: false, postEvent: false },
          },
  };
}

async function captureHost(t: Test, socketPath: string, label: string): Promise<BridgeHost> {
  const h = await startBridgeHost({
    socketPath,
    allowedTeamIds: [],
    services: captureServices(label),
    build: label,
    logger: quiet,
  });
  t.teardown(() => h.close());
  return h;
}

/** A temp HOME laid out like macOS, so the real discovery paths are exercised on any OS. */
function macHome(t: Test): {
  env: NodeJS.ProcessEnv;
  support: string;
  opts: { env: NodeJS.ProcessEnv; platform: NodeJS.Platform };
} {
  const home = tempDir(t, 'och-');
  const env = { HOME: home };
  return { env, support: path.join(home, 'Library', 'Application Support'), opts: { env, platform: 'darwin' } };
}

t.test('socket paths: macOS layout and the documented Linux equivalents', async (t) => {
  const names = bridgeCandidates({ env: { HOME: '/Users/u' }, platform: 'darwin' }).map((c) => c.socketPath);
  t.same(names, [
    '/Users/u/Library/Application Support/Peekaboo/bridge.sock',
    '/Users/u/Library/Application Support/Claude/bridge.sock',
    '/Users/u/Library/Application Support/OpenClaw/bridge.sock',
    '/Users/u/Library/Application Support/clawdbot/bridge.sock',
    '/Users/u/Library/Application Support/Peekaboo/daemon.sock',
  ]);
  t.equal(
    bridgeCandidates({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, platform: 'linux' })[2].socketPath,
    '/run/user/1000/openclaw-bridge/OpenClaw/bridge.sock',
  );
  t.equal(
    bridgeCandidates({
      env: { OPENCLAW_STATE_DIR: '/srv/oc', XDG_RUNTIME_DIR: '/run/user/1000' },
      platform: 'linux',
    })[0].socketPath,
    '/srv/oc/bridge/Peekaboo/bridge.sock',
  );
  t.equal(
    bridgeCandidates({ env: { HOME: '/home/u' }, platform: 'linux' })[0].socketPath,
    path.join(os.homedir(), '.openclaw', 'bridge', 'Peekaboo', 'bridge.sock'),
  );
  t.equal(
    defaultHostSocketPath({ env: { OPENCLAW_STATE_DIR: '/srv/oc' }, platform: 'linux' }),
    '/srv/oc/bridge/OpenClaw/bridge.sock',
  );
  t.equal(
    bridgeCandidates({
      env: { OPENCLAW_BRIDGE_SUPPORT_DIR: '/x', XDG_RUNTIME_DIR: '/run/user/1' },
      platform: 'linux',
    })[0].socketPath,
    '/x/Peekaboo/bridge.sock',
  );
  t.same(
    bridgeCandidates({ env: { PEEKABOO_BRIDGE_SOCKET: '/tmp/only.sock', HOME: '/Users/u' }, platform: 'darwin' }),
    [{ name: 'explicit', socketPath: '/tmp/only.sock' }],
  );
});

t.test('discovery: missing, dead, then a clawdbot symlink to a live host is chosen', async (t) => {
  const { support, opts } = macHome(t);
  await deadSocket(path.join(support, 'Claude', 'bridge.sock'));
  const live = await captureHost(t, path.join(support, 'Live', 'bridge.sock'), 'live');
  fs.mkdirSync(path.join(support, 'clawdbot'), { mode: 0o700 });
  fs.symlinkSync(live.socketPath, path.join(support, 'clawdbot', 'bridge.sock'));

  const d = await discoverBridgeHost(opts);
  t.same(
    d.probes.map((p) => [p.name, p.outcome]),
    [
      ['Peekaboo', 'failed'],
      ['Claude', 'failed'],
      ['OpenClaw', 'failed'],
      ['clawdbot', 'accepted'],
    ],
  );
  t.match(d.probes[1].error?.message, /ECONNREFUSED/);
  t.match(d.probes[0].error?.message, /ENOENT/);
  t.equal(d.selected?.socketPath, path.join(support, 'clawdbot', 'bridge.sock'));
  t.equal(d.local, false);

  const r = await bridgeRequest(
    'captureScreen',
    { visualizerMode: { screenshotFlash: {} }, scale: { logical1x: {} } },
    opts,
  );
  t.equal(r.via, 'remote');
  t.equal(r.response.case, 'capture');
  t.equal(Buffer.from((r.response.value as { imageData: string }).imageData, 'base64').toString(), 'fixture:live');
});

t.test('discovery: preference order, capability rule, alias dedupe, refusals move on', async (t) => {
  const { support, opts } = macHome(t);
  // Peekaboo: a host that refuses us (allowlist NOT_A_REAL_TEAM) → unauthorizedClient, move on.
  const refusing = await startBridgeHost({
    socketPath: path.join(support, 'Peekaboo', 'bridge.sock'),
    allowedTeamIds: ['NOT_A_REAL_TEAM'],
    logger: quiet,
  });
  t.teardown(() => refusing.close());
  // Claude: answers nothing at all → internalError "no response", move on.
  const mute = await rawServer(path.join(support, 'Claude', 'bridge.sock'), (_req, socket) => socket.end());
  t.teardown(() => mute.close());
  // OpenClaw: our own host, which cannot capture here → skipped by the acceptance rule.
  const ours = await startBridgeHost({
    socketPath: path.join(support, 'OpenClaw', 'bridge.sock'),
    allowedTeamIds: [],
    logger: quiet,
  });
  t.teardown(() => ours.close());
  // clawdbot: an alias of OpenClaw → skipped without a second probe.
  fs.mkdirSync(path.join(support, 'clawdbot'), { mode: 0o700 });
  fs.symlinkSync(ours.socketPath, path.join(support, 'clawdbot', 'bridge.sock'));
  // Peekaboo daemon: capable → chosen.
  const daemon = await captureHost(t, path.join(support, 'Peekaboo', 'daemon.sock'), 'daemon');

  const d = await discoverBridgeHost(opts);
  t.same(
    d.probes.map((p) => [p.name, p.outcome]),
    [
      ['Peekaboo', 'failed'],
      ['Claude', 'failed'],
      ['OpenClaw', 'rejected'],
      ['clawdbot', 'skipped'],
      ['Peekaboo daemon', 'accepted'],
    ],
  );
  t.equal(d.probes[0].error?.bridgeCode, 'unauthorizedClient');
  t.equal(d.probes[1].error?.bridgeCode, 'internalError');
  t.equal(d.probes[1].error?.message, 'Bridge host returned no response');
  t.match(d.probes[2].reason, /captureScreen/);
  t.equal(d.selected?.socketPath, daemon.socketPath);
  t.equal(ours.stats.accepted, 1, 'the alias was not probed a second time');

  // A capable Peekaboo.app wins over everything after it, and later sockets are not touched.
  await refusing.close();
  const peekaboo = await captureHost(t, path.join(support, 'Peekaboo', 'bridge.sock'), 'peekaboo');
  const before = daemon.stats.accepted;
  const d2 = await discoverBridgeHost(opts);
  t.equal(d2.selected?.socketPath, peekaboo.socketPath);
  t.equal(d2.probes.length, 1);
  t.equal(daemon.stats.accepted, before);

  // Element actions need ≥ 1.3 and setValue + performAction: this Peekaboo lacks them, so nothing qualifies.
  const d3 = await discoverBridgeHost({ ...opts, operation: 'setValue' });
  t.equal(d3.selected, undefined);
  t.equal(d3.local, true);
});

t.test('PEEKABOO_BRIDGE_SOCKET probes only that socket; PEEKABOO_NO_REMOTE runs locally', async (t) => {
  const { support, env } = macHome(t);
  await captureHost(t, path.join(support, 'Peekaboo', 'bridge.sock'), 'peekaboo');
  const ours = await startBridgeHost({
    socketPath: path.join(tempDir(t), 'ours', 'bridge.sock'),
    allowedTeamIds: [],
    logger: quiet,
  });
  t.teardown(() => ours.close());

  const explicitEnv = { ...env, PEEKABOO_BRIDGE_SOCKET: ours.socketPath };
  const d = await discoverBridgeHost({ env: explicitEnv, platform: 'darwin' });
  t.same(
    d.probes.map((p) => p.socketPath),
    [ours.socketPath],
  );
  t.equal(d.selected?.socketPath, ours.socketPath, 'an explicit socket is used without the capture rule');
  const r = await bridgeRequest('createSnapshot', {}, { env: explicitEnv, platform: 'darwin' });
  t.equal(r.via, 'remote');
  t.equal(r.response.case, 'snapshotId');
  await t.rejects(
    bridgeRequest('permissionsStatus', undefined, {
      env: { ...env, PEEKABOO_BRIDGE_SOCKET: path.join(support, 'nope.sock') },
      platform: 'darwin',
    }),
    { code: 'ERR_BRIDGE_CONNECT' },
    'an explicit socket that fails is an error, not a silent local run',
  );

  const local = await bridgeRequest('permissionsStatus', undefined, {
    env: { ...env, PEEKABOO_NO_REMOTE: '' },
    platform: 'darwin',
  });
  t.equal(local.via, 'local');
  t.same(local.probes, []);
  t.same(local.response, {
    case: 'permissionsStatus',
    value: { screenRecording: false, accessibility: false, appleScript: false, postEvent: false },
  });
  const e = (await t.rejects(
    bridgeRequest('captureScreen', {}, { env: { ...env, PEEKABOO_NO_REMOTE: '1' }, platform: 'darwin' }),
  )) as unknown as BridgeError;
  t.equal(e.bridgeCode, 'operationNotSupported', 'local capture is refused honestly');
});

t.test('version downgrade against a pb-1.0 host, on new connections, then no gated ops', async (t) => {
  const dir = tempDir(t);
  const minors: number[] = [];
  const pb10 = await rawServer(path.join(dir, 'pb10', 'bridge.sock'), (req, socket) => {
    const msg = JSON.parse(req.toString()) as { handshake?: { _0: { protocolVersion: { minor: number } } } };
    if (!msg.handshake) {
      socket.end('{"ok":{}}');
      return;
    }
    const minor = msg.handshake._0.protocolVersion.minor;
    minors.push(minor);
    socket.end(
      minor === 0
        ? '{"handshake":{"_0":{"negotiatedVersion":{"major":1,"minor":0},"hostKind":"gui","build":"1.0 (1)","supportedOperations":["captureScreen",' +
            '"click","listApplications","someFutureOp"],"permissions":{"screenRecording":true,"accessibility":true},' +
            '"enabledOperations":["captureScreen"],"extraField":1}}}'
        : '{"error":{"_0":{"code":"versionMismatch","message":"Bridge protocol is not supported by this host"}}}',
    );
  });
  t.teardown(() => pb10.close());

  const conn = await connectBridge(pb10.socketPath);
  t.same(minors, [7, 6, 5, 4, 3, 2, 1, 0], 'one connection per attempt, 1.7 down to 1.0');
  t.same(conn.negotiatedVersion, { major: 1, minor: 0 });
  t.same(conn.handshake.permissionTags, {}, 'missing permissionTags reads as {}');
  t.equal(conn.handshake.permissions.appleScript, false, 'missing permission booleans default to false');
  t.ok(conn.supports('someFutureOp'), 'unknown ops from the host are kept, not rejected');
  const sent = pb10.requests.length;
  for (const op of ['setValue', 'performAction', 'targetedHotkey', 'browserStatus', 'inspectAccessibilityTree']) {
    const err = (await t.rejects(conn.request(op, {}))) as unknown as BridgeError;
    t.equal(err.bridgeCode, 'operationNotSupported', `${op} refused before sending`);
  }
  t.equal(pb10.requests.length, sent, 'no gated op reached the 1.0 host');
  t.same(await conn.request('click', { target: { kind: 'elementId', value: 'B1' }, clickType: 'single' }), {
    case: 'ok',
  });
  t.equal(
    pb10.requests.at(-1)!.toString(),
    '{"click":{"_0":{"target":{"kind":"elementId","value":"B1"},"clickType":"single"}}}',
  );

  // A host that rejects every version: the last versionMismatch is surfaced after 1.0.
  const never = await rawServer(path.join(dir, 'never', 'bridge.sock'), (_r, s) =>
    s.end('{"error":{"_0":{"code":"versionMismatch","message":"no"}}}'),
  );
  t.teardown(() => never.close());
  const e = (await t.rejects(handshakeBridge(never.socketPath))) as unknown as BridgeError;
  t.equal(e.bridgeCode, 'versionMismatch');
  t.equal(never.requests.length, 8);
});

t.test('what our client writes: the spec handshake and payload-less cases', async (t) => {
  const dir = tempDir(t);
  const srv = await rawServer(path.join(dir, 'rec', 'bridge.sock'), (req, socket) => {
    socket.end(
      req.includes('handshake')
        ? '{"handshake":{"_0":{"negotiatedVersion":{"major":1,"minor":7},"hostKind":"gui","build":"dev",' +
            '"supportedOperations":["permissionsStatus"],"permissions":{"screenRecording":false,"accessibility":false,"appleScript":false,' +
            '"postEvent":false},"enabledOperations":[],"permissionTags":{}}}}'
        : '{"window":{"_0":null}}',
    );
  });
  t.teardown(() => srv.close());
  const conn = await connectBridge(srv.socketPath, {
    client: { bundleIdentifier: 'ai.openclaw.ipc', hostname: 'box' },
  });
  const hs = JSON.parse(srv.requests[0].toString());
  t.same(hs, {
    handshake: {
      _0: {
        protocolVersion: { major: 1, minor: 7 },
        client: { processIdentifier: process.pid, bundleIdentifier: 'ai.openclaw.ipc', hostname: 'box' },
      },
    },
  });
  t.same(await conn.request('permissionsStatus'), { case: 'window' }, '{"_0":null} optional reads as nil');
  t.equal(srv.requests[1].toString(), '{"permissionsStatus":{}}');
  await conn.request('createSnapshot');
  t.equal(srv.requests[2].toString(), '{"createSnapshot":{"_0":{}}}');
});

t.test('client deadlines and caps', async (t) => {
  const dir = tempDir(t);
  const silent = await rawServer(path.join(dir, 'silent', 'bridge.sock'), () => {
    /* never answers */
  });
  t.teardown(() => silent.close());
  const started = Date.now();
  await t.rejects(handshakeBridge(silent.socketPath, { timeoutMs: 300 }), { code: 'ERR_BRIDGE_TIMEOUT' });
  t.ok(Date.now() - started >= 250);

  const slow = await rawServer(path.join(dir, 'slow', 'bridge.sock'), (_r, s) => {
    setTimeout(() => s.end('{"ok":{}}'), 600);
  });
  t.teardown(() => slow.close());
  const { exchangeBridgeMessage } = await import('../../lib/bridge/transport.js');
  await t.rejects(exchangeBridgeMessage(slow.socketPath, Buffer.from('{"permissionsStatus":{}}'), { timeoutMs: 200 }), {
    code: 'ERR_BRIDGE_TIMEOUT',
  });
  t.equal(
    (
      await exchangeBridgeMessage(slow.socketPath, Buffer.from('{"permissionsStatus":{}}'), { timeoutMs: 5000 })
    ).toString(),
    '{"ok":{}}',
    'a longer per-call deadline lets a slow op finish',
  );

  const big = await rawServer(path.join(dir, 'big', 'bridge.sock'), (_r, s) => s.end(Buffer.alloc(4096, 0x20)));
  t.teardown(() => big.close());
  await t.rejects(exchangeBridgeMessage(big.socketPath, Buffer.from('{}'), { maxResponseBytes: 1024 }), {
    code: 'ERR_BRIDGE_MESSAGE_TOO_LARGE',
  });

  const garbage = await rawServer(path.join(dir, 'garbage', 'bridge.sock'), (_r, s) =>
    s.end('HTTP/1.1 400 Bad Request\r\n\r\n'),
  );
  t.teardown(() => garbage.close());
  const e = (await t.rejects(handshakeBridge(garbage.socketPath))) as unknown as BridgeError;
  t.equal(e.bridgeCode, 'decodingFailed');

  await t.rejects(handshakeBridge(path.join(dir, 'y'.repeat(120), 'bridge.sock')), {
    code: 'ERR_BRIDGE_PATH_TOO_LONG',
  });
  fs.writeFileSync(path.join(dir, 'plain'), '');
  await t.rejects(handshakeBridge(path.join(dir, 'plain')), { code: 'ERR_BRIDGE_NOT_A_SOCKET' });
});

t.test('a socket that is not ours is refused before anything is written', { skip: skipOtherUid }, async (t) => {
  const dir = tempDir(t);
  // 1. File owned by another uid (our own host behind it): refused on the file check.
  const h = await startBridgeHost({
    socketPath: path.join(dir, 'h', 'bridge.sock'),
    allowedTeamIds: [],
    logger: quiet,
  });
  t.teardown(() => h.close());
  fs.chownSync(h.socketPath, OTHER_UID, OTHER_UID);
  await t.rejects(handshakeBridge(h.socketPath), { code: 'ERR_BRIDGE_SOCKET_NOT_OURS' });
  t.equal(h.stats.accepted, 0, 'no connection was made');
  // A symlink of ours pointing at it is refused too.
  fs.symlinkSync(h.socketPath, path.join(dir, 'alias.sock'));
  await t.rejects(handshakeBridge(path.join(dir, 'alias.sock')), { code: 'ERR_BRIDGE_SOCKET_NOT_OURS' });
  fs.chownSync(h.socketPath, 0, 0);

  // 2. A host really served by uid 65534, its socket file then made to look like ours: the kernel's peer uid catches it.
  const foreignDir = path.join(dir, 'foreign');
  fs.mkdirSync(foreignDir, { mode: 0o700 });
  fs.chownSync(foreignDir, OTHER_UID, OTHER_UID);
  fs.chmodSync(dir, 0o711);
  const sock = path.join(foreignDir, 'bridge.sock');
  const script = `
    const net = require('node:net');
    const srv = net.createServer({ allowHalfOpen: true }, (s) => {
      let n = 0;
      s.on('data', (c) => { n += c.length; });
      s.on('end', () => s.end());
      s.on('close', () => process.stdout.write('got ' + n + '\\n'));
      s.on('error', () => {});
    });
    srv.listen(process.argv[1], () => { require('node:fs').chmodSync(process.argv[1], 0o666); process.stdout.write('up\\n'); });
  `;
  const child = spawnNodeAs(t, ['-e', script, sock], {
    uid: OTHER_UID,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let output = '';
  await new Promise<void>((resolve) =>
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      if (output.includes('up')) resolve();
    }),
  );
  fs.chownSync(sock, 0, 0);
  fs.chownSync(foreignDir, 0, 0);
  await t.rejects(handshakeBridge(sock), { code: 'ERR_BRIDGE_SOCKET_NOT_OURS' });
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (output.includes('got')) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
  t.match(output, /got 0\n/, 'the planted host received zero bytes');
});
