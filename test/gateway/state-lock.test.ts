// One Gateway per state dir (a live holder refuses a second one; a crashed or pid-reused holder is
// taken over), and duplicate JSON keys in frames rejected as malformed.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { startGateway } from '../../lib/gateway/index.js';
import {
  ALL_OPERATOR_SCOPES,
  RawClient,
  connectOk,
  spawnCliGateway,
  startTestGateway,
  tempStateDir,
} from '../helpers/gateway.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

t.test(
  'a second gateway on the same state dir is refused while the first lives; the dir is free after close',
  async (t) => {
    const stateDir = tempStateDir(t);
    const first = await startTestGateway(t, { stateDir });
    const lockFile = path.join(stateDir, 'gateway.lock');
    t.equal(fs.statSync(lockFile).mode & 0o777, 0o600, 'lock file 0600');
    t.match(JSON.parse(fs.readFileSync(lockFile, 'utf8')), { pid: process.pid });

    const err = await startGateway({ port: 0, stateDir, token: 'x-token-0123456789', env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(err, {
      code: 'ERR_GATEWAY_LOCKED',
      holderPid: process.pid,
      lockFile,
      message: /another gateway \(pid \d+\) is running for this state dir/,
    });
    t.ok((await connectOk(first, backend)).res.ok, 'the first gateway keeps serving');

    await first.close();
    t.notOk(fs.existsSync(lockFile), 'released on close');
    const again = await startTestGateway(t, { stateDir });
    t.ok((await connectOk(again, backend)).res.ok, 'a new gateway takes the free state dir');
  },
);

t.test('a failed start (port taken) releases the lock', async (t) => {
  const other = await startTestGateway(t);
  const stateDir = tempStateDir(t);
  await t.rejects(startGateway({ port: other.port, stateDir, token: 'x-token-0123456789', env: {} }), {
    code: 'ERR_GATEWAY_PORT_IN_USE',
  });
  t.notOk(fs.existsSync(path.join(stateDir, 'gateway.lock')));
  const ok = await startTestGateway(t, { stateDir });
  t.ok(ok.port > 0);
});

t.test(
  'a live gateway in another process holds the dir (CLI exits 3); after it is killed -9 the dir is taken over',
  async (t) => {
    const stateDir = tempStateDir(t);
    const holder = await spawnCliGateway(t, stateDir);
    t.match(holder.info, { ready: true }, `holder ready (stderr: ${holder.stderr()})`);
    const pid = holder.child.pid!;

    const err = await startGateway({ port: 0, stateDir, token: 'x-token-0123456789', env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(err, { code: 'ERR_GATEWAY_LOCKED', holderPid: pid });

    const second = await spawnCliGateway(t, stateDir);
    t.equal(second.info, undefined, 'no ready line');
    t.equal(await second.exited, 3, 'the CLI exits 3 (locked)');
    t.match(second.stderr(), /openclaw-ipc gateway: another gateway \(pid \d+\) is running for this state dir/);

    holder.child.kill('SIGKILL');
    await holder.exited;
    t.match(
      JSON.parse(fs.readFileSync(path.join(stateDir, 'gateway.lock'), 'utf8')),
      { pid },
      'the crashed holder left its lock behind',
    );
    const gw = await startTestGateway(t, { stateDir });
    t.ok((await connectOk(gw, backend)).res.ok, 'the stale lock was taken over');
    t.match(JSON.parse(fs.readFileSync(path.join(stateDir, 'gateway.lock'), 'utf8')), { pid: process.pid });
  },
);

t.test(
  'a lock whose pid now belongs to another process (start time differs) is stale; unsafe lock files are refused',
  async (t) => {
    const stateDir = tempStateDir(t);
    const lockFile = path.join(stateDir, 'gateway.lock');
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid, start: '1' }), { mode: 0o600 });
    const gw = await startTestGateway(t, { stateDir });
    t.ok(gw.port > 0, 'pid reuse detected by start time');
    await gw.close();

    fs.writeFileSync(lockFile, '', { mode: 0o600 });
    const torn = await startTestGateway(t, { stateDir });
    t.ok(torn.port > 0, 'an empty (torn) lock is stale');
    await torn.close();

    fs.symlinkSync('/etc/passwd', lockFile);
    await t.rejects(startGateway({ port: 0, stateDir, token: 'x-token-0123456789', env: {} }), {
      code: 'ERR_LOCK_FILE_UNSAFE',
    });
    t.ok(fs.lstatSync(lockFile).isSymbolicLink(), 'a symlink is never followed or removed');
  },
);

t.test(
  'duplicate JSON keys: INVALID_REQUEST after the handshake, close before it; the daemon keeps serving',
  async (t) => {
    const gw = await startTestGateway(t);
    const { client: op } = await connectOk(gw, backend);

    op.ws.send('{"type":"req","id":"d1","method":"node.list","params":{},"params":{"x":1}}');
    t.match(await op.response('d1'), {
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'invalid request frame: duplicate key "params"' },
    });
    op.ws.send('{"type":"req","id":"d2","method":"node.list","method":"health","params":{}}');
    t.match(
      await op.response('d2'),
      { ok: false, error: { code: 'INVALID_REQUEST', message: 'invalid request frame: duplicate key "method"' } },
      'no "last wins" method smuggling',
    );
    op.ws.send(
      '{"type":"req","id":"d3","method":"node.invoke","params":{"nodeId":"n","command":"system.run","params":{"command":["id"],"approved":false,' +
        '"approved":true},"idempotencyKey":"k"}}',
    );
    t.match(
      await op.response('d3'),
      { ok: false, error: { code: 'INVALID_REQUEST', message: 'invalid request frame: duplicate key "approved"' } },
      'nested keys are checked',
    );
    op.ws.send('{"type":"req","id":"d4","method":"node.list","params":{"a":{"k":1},"b":{"k":2}}}');
    t.notMatch(await op.response('d4'), { error: { message: /duplicate/ } }, 'the same key in sibling objects is fine');
    op.ws.send('{"type":"req","id":"d5","method":"node.list","params":{"\\u0061":1,"a":2}}');
    t.match(
      await op.response('d5'),
      { error: { message: 'invalid request frame: duplicate key "a"' } },
      'keys compare after unescaping',
    );
    op.ws.send('{"type":"req","id":"x","id":"y","method":"node.list"}');
    t.match(
      await op.response('invalid'),
      { ok: false, error: { code: 'INVALID_REQUEST', message: 'invalid request frame: duplicate key "id"' } },
      'an ambiguous id answers under "invalid"',
    );
    t.match(await op.request('node.list', {}), { ok: true }, 'the connection keeps working');

    const fresh = await RawClient.open(gw.url);
    await fresh.event('connect.challenge');
    fresh.ws.send('{"type":"req","id":"c","method":"connect","method":"connect","params":{}}');
    t.match(await fresh.closed, { code: 1008, reason: 'invalid handshake: duplicate JSON key' });
  },
);
