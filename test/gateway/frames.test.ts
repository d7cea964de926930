/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
import t from 'tap';

import { ALL_OPERATOR_SCOPES, RawClient, connectOk, startTestGateway } from '../helpers/gateway.js';

const backend = {
  role: 'operator' as const,
  clientId: 'gateway-client',
  mode: 'backend',
  identity: null,
  scopes: ALL_OPERATOR_SCOPES,
};

t.test(
  'malformed frames after the handshake are rejected one by one; the connection and the gateway survive',
  async (t) => {
    const gw = await startTestGateway(t);
    const op = (await connectOk(gw, backend)).client;
    const bad: Array<[string, string | Buffer, string]> = [
      ['unclosed brackets', '['.repeat(10_000), 'invalid'],
      ['deep nesting', `${'['.repeat(10_000)}${']'.repeat(10_000)}`, 'invalid'],
      ['NaN', '{"type":"req","id":"n","method":"health","params":NaN}', 'invalid'],
      ['numeric id', '{"type":"req","id":7,"method":"health"}', 'invalid'],
      ['empty method', '{"type":"req","id":"e","method":""}', 'e'],
      [
        'array params are fine for the envelope but not for node.list',
        '{"type":"req","id":"a","method":"node.list","params":[]}',
        'a',
      ],
      [
        '__proto__ key in params',
        '{"type":"req","id":"p","method":"node.list","params":{"__proto__":{"polluted":true}}}',
        'p',
      ],
      ['binary frame', Buffer.from('{"type":"req","id":"b","method":"health"}'), 'invalid'],
    ];
    for (const [name, payload, id] of bad) {
      op.send(payload);
      const res = await op.response(id);
      t.match(res, { ok: false, error: { code: 'INVALID_REQUEST' } }, name);
    }
    t.equal(({} as any).polluted, undefined, 'no prototype pollution');
    t.match(await op.request('health', {}), { ok: true }, 'still serving');
    const fresh = await connectOk(gw, backend);
    t.ok(fresh.res.ok, 'gateway still accepts connections');
  },
);

t.test('a binary first frame closes 1008', async (t) => {
  const gw = await startTestGateway(t);
  const client = await RawClient.open(gw.url);
  await client.event('connect.challenge');
  client.ws.send(Buffer.from('{"type":"req"}'), { binary: true });
  t.equal((await client.closed).code, 1008);
});

t.test('invalid UTF-8 in a text frame is closed by the WebSocket layer (1007), never parsed', async (t) => {
  const gw = await startTestGateway(t);
  const op = (await connectOk(gw, backend)).client;
  // ws lets us send raw bytes as a text frame with binary:false.
  op.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  t.equal((await op.closed).code, 1007);
  t.ok((await connectOk(gw, backend)).res.ok, 'gateway unaffected');
});

t.test('frames over the post-auth maxPayload close 1009', async (t) => {
  const gw = await startTestGateway(t, { maxPayload: 256 * 1024 });
  const op = (await connectOk(gw, backend)).client;
  op.send(JSON.stringify({ type: 'req', id: 'big', method: 'health', params: { pad: 'z'.repeat(300 * 1024) } }));
  t.equal((await op.closed).code, 1009);
});

t.test(
  'slow, silent pre-auth sockets are closed at the handshake deadline while a real client gets through',
  async (t) => {
    // 2 s: the legitimate handshake must finish inside the deadline it shares with the attackers, on a loaded box.
    const gw = await startTestGateway(t, { handshakeTimeoutMs: 2_000, maxPreauthPerIp: 64 });
    const attackers = await Promise.all(Array.from({ length: 40 }, () => RawClient.open(gw.url)));
    // Each attacker drips one byte of a never-finished frame: a raw WebSocket frame header only.
    for (const a of attackers) (a.ws as any)._socket.write(Buffer.from([0x81]));
    const started = Date.now();
    const legit = await connectOk(gw, backend);
    t.ok(legit.res.ok, 'a legitimate client completes its handshake during the attack');
    t.ok(Date.now() - started < 5000, 'and does so promptly');
    const closes = await Promise.all(attackers.map((a) => a.closed));
    t.ok(
      closes.every((c) => c.code === 1000 || c.code === 1006),
      'every attacker socket is closed',
    );
    t.match(
      await legit.client.request('health', {}),
      { ok: true },
      'the legitimate client stays connected past the deadline',
    );
  },
);
