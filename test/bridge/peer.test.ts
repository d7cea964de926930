import t, { type Test } from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import {
  ALLOW_UNSIGNED_ENV,
  PEEKABOO_TEAM_ID,
  startBridgeHost,
  type BridgeHost,
  type BridgeHostOptions,
} from '../../lib/bridge/index.js';
import { defaultVerifyTeamId } from '../../lib/bridge/team-id.js';
import {
  handshakeBody,
  OTHER_UID,
  RAW_CLIENT_SCRIPT,
  rawText,
  runNodeAs,
  skipOtherUid,
  tempDir,
} from '../helpers/bridge.js';

async function host(t: Test, opts: BridgeHostOptions): Promise<BridgeHost> {
  const dir = tempDir(t);
  const h = await startBridgeHost({ socketPath: path.join(dir, 'OpenClaw', 'bridge.sock'), logger: () => {}, ...opts });
  t.teardown(() => h.close());
  return h;
}

/** Loosens the directory and socket so only the host's peer-uid check stands between a foreign uid and the host. */
function exposeToOtherUsers(h: BridgeHost): void {
  fs.chmodSync(path.dirname(path.dirname(h.socketPath)), 0o711);
  fs.chmodSync(path.dirname(h.socketPath), 0o711);
  fs.chmodSync(h.socketPath, 0o666);
}

type Reply = { handshake?: unknown; error?: { _0: { code: string; message: string; details?: string } } };

async function handshakeAs(socketPath: string): Promise<Reply> {
  return JSON.parse(await rawText(socketPath, handshakeBody())) as Reply;
}

t.test('a peer running as another uid is refused with unauthorizedClient', { skip: skipOtherUid }, async (t) => {
  for (const opts of [
    { allowedTeamIds: [] },
    { allowedTeamIds: [PEEKABOO_TEAM_ID], debugBuild: true, env: { [ALLOW_UNSIGNED_ENV]: '1' } },
  ] satisfies BridgeHostOptions[]) {
    const h = await host(t, opts);
    exposeToOtherUsers(h);
    const child = await runNodeAs(t, OTHER_UID, RAW_CLIENT_SCRIPT, [h.socketPath, handshakeBody()]);
    t.equal(child.code, 0, child.stderr);
    const reply = JSON.parse(child.stdout) as Reply;
    t.equal(reply.error?._0.code, 'unauthorizedClient', `uid ${OTHER_UID} refused (${JSON.stringify(opts)})`);
    t.equal(reply.error?._0.message, 'Bridge client is not authorized');
    t.equal(h.stats.unauthorized, 1);
    t.ok((await handshakeAs(h.socketPath)).handshake, 'same-uid peer still admitted');
    // And an operation, not just the handshake, is refused for the foreign uid.
    const op = await runNodeAs(t, OTHER_UID, RAW_CLIENT_SCRIPT, [h.socketPath, '{"createSnapshot":{"_0":{}}}']);
    t.equal((JSON.parse(op.stdout) as Reply).error?._0.code, 'unauthorizedClient');
  }
});

t.test('unsigned clients are refused on Linux by default: an envelope, not EOF', async (t) => {
  for (const allowedTeamIds of [undefined, ['NOT_A_REAL_TEAM']]) {
    const h = await host(t, allowedTeamIds ? { allowedTeamIds } : {});
    const reply = await handshakeAs(h.socketPath);
    t.equal(reply.error?._0.code, 'unauthorizedClient');
    t.equal(reply.error?._0.message, 'Bridge client is not authorized');
    t.match(reply.error?._0.details, allowedTeamIds ? /NOT_A_REAL_TEAM/ : /Y5PE65HELJ/);
    t.match(reply.error?._0.details, /PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS=1/);
  }
  if (process.platform !== 'darwin') {
    // The native verifier on a real connected peer: Linux has no signatures, so never ok.
    const dir = tempDir(t);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 's.sock'), resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect(path.join(dir, 's.sock'));
    const peer = await accepted;
    t.same(await defaultVerifyTeamId(peer, [PEEKABOO_TEAM_ID]), { ok: false, reason: 'unsupported-platform' });
    t.same(await defaultVerifyTeamId(peer, ['NOT_A_REAL_TEAM']), {
      ok: false,
      reason: 'no valid TeamID in the allowlist',
    });
    client.destroy();
    peer.destroy();
    server.close();
  }
});

t.test('the DEBUG-only unsigned rule: debug build AND the exact value "1" AND same uid', async (t) => {
  const cases: Array<[string, BridgeHostOptions, boolean]> = [
    ['debug build + "1"', { debugBuild: true, env: { [ALLOW_UNSIGNED_ENV]: '1' } }, true],
    ['release build + "1"', { debugBuild: false, env: { [ALLOW_UNSIGNED_ENV]: '1' } }, false],
    ['debug build + "true"', { debugBuild: true, env: { [ALLOW_UNSIGNED_ENV]: 'true' } }, false],
    ['debug build + " 1"', { debugBuild: true, env: { [ALLOW_UNSIGNED_ENV]: ' 1' } }, false],
    ['debug build, variable unset', { debugBuild: true, env: {} }, false],
  ];
  for (const [name, opts, admitted] of cases) {
    const warnings: string[] = [];
    const h = await host(t, {
      ...opts,
      allowedTeamIds: [PEEKABOO_TEAM_ID],
      logger: (level, msg) => {
        if (level === 'warn') warnings.push(msg);
      },
    });
    const reply = await handshakeAs(h.socketPath);
    t.equal(Boolean(reply.handshake), admitted, `${name}: ${admitted ? 'admitted' : 'refused'}`);
    if (!admitted) t.equal(reply.error?._0.code, 'unauthorizedClient', `${name}: unauthorizedClient`);
    if (admitted)
      t.ok(
        warnings.some((w) => w.includes('accepted unsigned client')),
        `${name}: admission logged as a warning`,
      );
  }
});

t.test('TeamID path: only a verified, allowlisted team admits; verifier failures fail closed', async (t) => {
  const allowed = await host(t, {
    allowedTeamIds: ['ABCDE12345'],
    verifyTeamId: () => ({ ok: true, teamId: 'ABCDE12345', identifier: 'com.example.client' }),
  });
  t.ok((await handshakeAs(allowed.socketPath)).handshake, 'verified allowlisted team admitted');

  const wrongTeam = await host(t, {
    allowedTeamIds: ['ABCDE12345'],
    verifyTeamId: () => ({ ok: true, teamId: 'ZZZZZ99999' }),
  });
  t.equal(
    (await handshakeAs(wrongTeam.socketPath)).error?._0.code,
    'unauthorizedClient',
    'a verified team outside the allowlist is refused',
  );

  const throwing = await host(t, {
    allowedTeamIds: ['ABCDE12345'],
    verifyTeamId: () => {
      throw Object.assign(new Error('boom'), { code: 'ERR_CODESIGN_X' });
    },
  });
  t.equal((await handshakeAs(throwing.socketPath)).error?._0.code, 'unauthorizedClient', 'a verifier error refuses');

  // 2 s (also the verifier's deadline): the handshake itself must be read inside it on a loaded box.
  const hanging = await host(t, {
    allowedTeamIds: ['ABCDE12345'],
    readTimeoutMs: 2_000,
    verifyTeamId: () => new Promise(() => {}),
  });
  t.equal(
    (await handshakeAs(hanging.socketPath)).error?._0.code,
    'unauthorizedClient',
    'a verifier that never answers refuses at its deadline',
  );

  // The verified identifier feeds the handshake bundle allowlist ahead of the claimed one.
  const bundles = await host(t, {
    allowedTeamIds: ['ABCDE12345'],
    allowedBundleIds: ['com.example.client'],
    verifyTeamId: () => ({ ok: true, teamId: 'ABCDE12345', identifier: 'com.example.other' }),
  });
  const reply = JSON.parse(
    await rawText(bundles.socketPath, handshakeBody(7, { bundleIdentifier: 'com.example.client' })),
  ) as Reply;
  t.equal(
    reply.error?._0.message,
    'Bundle com.example.other is not authorized',
    'claimed bundle id does not override the verified one',
  );
});
