/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Issue 7 item 11: no connection's input ends the Gateway. A real daemon (`openclaw-ipc gateway`, a child
// process) gets hostile input on every method it advertises, as an operator and as a node, plus hostile
// node results and raw frames; after each batch it must still be alive and answer `health` on a fresh
// connection. The review's crash (a node's deeply nested payloadJSON) is the first case.
import t, { type Test } from 'tap';

import { NODE_ROLE_METHODS } from '../../lib/protocol/constants.js';
import {
  CLI_GATEWAY_TOKEN,
  RawClient,
  approveAllNodes,
  connectOk,
  spawnCliGateway,
  startFakeNode,
  tempStateDir,
  type CliGateway,
} from '../helpers/gateway.js';

t.setTimeout(180_000);

const operator = { role: 'operator' as const, clientId: 'cli', mode: 'cli', identity: null };

const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Raw `params` texts (spliced into a frame), each hostile in its own way. */
const HOSTILE_PARAMS: Array<[string, string]> = [
  ['deep array params', deepArray(20_000)],
  ['deep object params', deepObject(20_000)],
  ['params just over the bound', deepArray(70)],
  ['256 KiB string', JSON.stringify('x'.repeat(1 << 18))],
  ['number', '42'],
  ['null', 'null'],
  ['array', '[1,2,3]'],
  ['duplicate keys', '{"nodeId":"a","nodeId":"b","id":"x","id":"y"}'],
  ['prototype keys', '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'],
  [
    'deep JSON strings in every usual field',
    JSON.stringify({
      nodeId: 'n',
      id: 'i',
      requestId: 'r',
      event: 'e',
      payloadJSON: deepArray(50_000),
      paramsJSON: deepArray(50_000),
      ok: true,
      command: 'system.run',
      idempotencyKey: 'k',
      params: { payloadJSON: deepArray(1_000) },
    }),
  ],
  ['wrong types everywhere', '{"nodeId":1,"id":[],"requestId":{},"ok":"yes","timeoutMs":-1,"decision":null}'],
  ['lone surrogates and NUL', JSON.stringify({ nodeId: '\ud800\u0000', event: '\udfff', id: 'a\u0000b' })],
];

async function alive(t: Test, gw: CliGateway, url: string, what: string): Promise<void> {
  t.equal(gw.child.exitCode, null, `${what}: the daemon is still running (stderr: ${gw.stderr().slice(-500)})`);
  const probe = await connectOk({ url, token: CLI_GATEWAY_TOKEN }, operator);
  const health = await probe.client.request('health', {});
  t.equal(health.ok, true, `${what}: it still answers health on a fresh connection`);
  probe.client.close();
}

/** Sends each hostile params text for each method; reconnects when the Gateway closes the socket. */
async function barrage(methods: readonly string[], connect: () => Promise<RawClient>): Promise<number> {
  let client = await connect();
  let sent = 0;
  for (const method of methods) {
    for (const [, params] of HOSTILE_PARAMS) {
      if (client.ws.readyState !== client.ws.OPEN) client = await connect();
      const id = `h-${++sent}`;
      client.ws.send(`{"type":"req","id":"${id}","method":${JSON.stringify(method)},"params":${params}}`);
    }
    // One answered request per method keeps the pace honest (the Gateway has read everything before it).
    if (client.ws.readyState !== client.ws.OPEN) client = await connect();
    await client.request('health', {}, 60_000).catch(() => undefined);
  }
  client.close();
  return sent;
}

t.test('a node answering with a deeply nested payloadJSON does not end the Gateway (review case)', async (t) => {
  const gw = await spawnCliGateway(t, tempStateDir(t));
  t.match(gw.info, { ready: true }, `child ready (stderr: ${gw.stderr()})`);
  const url = gw.info.url as string;
  const op = (await connectOk({ url, token: CLI_GATEWAY_TOKEN }, operator)).client;
  const hostile = [deepArray(100_000), deepObject(100_000), `{"x":${deepArray(9_000)}}`];
  let i = 0;
  const node = await startFakeNode({ url, token: CLI_GATEWAY_TOKEN }, (_command, _params, request) => {
    // Bypass the helper's JSON.stringify: send the raw deep text as payloadJSON.
    node.client.send({
      type: 'req',
      id: `r-${request.id}`,
      method: 'node.invoke.result',
      params: { id: request.id, nodeId: node.nodeId, ok: true, payloadJSON: hostile[i++ % hostile.length] },
    });
    return 'ignore';
  });
  await approveAllNodes(op);
  for (let n = 0; n < hostile.length; n++) {
    const answer = op.request('node.invoke', {
      nodeId: node.nodeId,
      command: 'system.which',
      params: { bins: ['sh'] },
      idempotencyKey: `deep-${n}`,
    });
    const res: any = await Promise.race([answer, gw.exited.then((code) => ({ exited: code }))]);
    t.notOk('exited' in res, `deep result ${n}: the daemon did not exit (stderr: ${gw.stderr().slice(-300)})`);
    if ('exited' in res) return;
    t.equal(res.ok, true, `deep result ${n}: answered`);
    t.equal(typeof res.payload.payload.payloadJSON, 'string', 'the over-deep text comes back as text, not a value');
  }
  await alive(t, gw, url, 'deep payloadJSON');
  // Let the coalesced idempotency write happen (it serialises the cached results), then look again.
  await new Promise((resolve) => setTimeout(resolve, 600));
  await alive(t, gw, url, 'after the idempotency file was written');
});

t.test('hostile params on every advertised method, as operator and as node, and raw frames', async (t) => {
  const gw = await spawnCliGateway(t, tempStateDir(t));
  t.match(gw.info, { ready: true }, `child ready (stderr: ${gw.stderr()})`);
  const url = gw.info.url as string;
  const probe = await connectOk({ url, token: CLI_GATEWAY_TOKEN }, operator);
  const methods: string[] = probe.res.payload.features.methods;
  t.ok(methods.length > 30, `${methods.length} methods advertised`);
  probe.client.close();

  const operatorMethods = methods.filter((m) => !(NODE_ROLE_METHODS as readonly string[]).includes(m));
  const sentOp = await barrage(
    operatorMethods,
    async () => (await connectOk({ url, token: CLI_GATEWAY_TOKEN }, operator)).client,
  );
  t.ok(sentOp > 0, `${sentOp} hostile operator requests sent`);
  await alive(t, gw, url, 'operator barrage');

  const sentNode = await barrage([...NODE_ROLE_METHODS], async () => {
    const node = await connectOk({ url, token: CLI_GATEWAY_TOKEN }, { role: 'node' });
    return node.client;
  });
  t.ok(sentNode > 0, `${sentNode} hostile node requests sent`);
  await alive(t, gw, url, 'node barrage');

  // Raw frames: before the handshake, and after it.
  for (const text of [
    deepArray(30_000),
    deepObject(10_000),
    '{"type":"req","id":"x","method":"connect","params":' + deepArray(20_000) + '}',
  ]) {
    const raw = await RawClient.open(url);
    await raw.event('connect.challenge');
    raw.ws.send(text);
    t.match(await raw.closed, { code: 1008 }, 'pre-auth: closed 1008');
  }
  const op = (await connectOk({ url, token: CLI_GATEWAY_TOKEN }, operator)).client;
  op.ws.send(deepArray(1_000_000));
  t.match(
    await op.response('invalid'),
    { ok: false, error: { code: 'INVALID_REQUEST', message: /nested deeper than 64/ } },
    'post-auth: a 2 MB deep frame is answered, not parsed into a value',
  );
  op.ws.send(`{"type":"req","id":"deep-params","method":"health","params":${deepArray(64)}}`);
  t.match(
    await op.response('invalid'),
    { ok: false, error: { message: /nested deeper than 64/ } },
    'a frame one level past the bound: refused as a whole (its id is not read from it)',
  );
  await alive(t, gw, url, 'raw frames');
});
