// `up`'s own node host joins its Gateway over the in-process link (protocol/link.ts) instead of a
// WebSocket. Two real node hosts, one per transport, on one real Gateway with one real exec host: the
// same pairing, the same system.run answers, exec.finished / exec.denied events and denials; the link
// keeps the Gateway's limits (auth, handshake deadline, maxPayload) and the WebSocket close semantics.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { GatewayClient } from '../../lib/client/gateway-client.js';
import { GatewayRequestError } from '../../lib/client/errors.js';
import { connectOperator } from '../../lib/client/operator.js';
import { startGateway, type GatewayHandle } from '../../lib/gateway/index.js';
import { startNodeHost, type NodeHost } from '../../lib/node-host/host.js';
import { LinkEnd, LinkTransport } from '../../lib/protocol/link.js';
import { startHost, writePolicy } from '../helpers/exec-host.js';

t.setTimeout(120_000);

const ECHO = fs.realpathSync('/bin/echo');
const TOKEN = 'gw-token-in-process-link';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-link-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function waitUntil(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const allowlistEcho = (d: Parameters<Parameters<typeof writePolicy>[1]>[0]): void => {
  d.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
  d.agents = { main: { allowlist: [{ pattern: ECHO }] } };
};

interface Stack {
  gateway: GatewayHandle;
  ws: NodeHost;
  link: NodeHost;
  events: Array<{ nodeId: string; event: string; payload: Record<string, unknown> }>;
  operator: GatewayClient;
}

/** One Gateway, one exec host, a node host over WebSocket and one over the link (same policy each). */
async function startStack(t: Parameters<typeof startHost>[0]): Promise<Stack> {
  const root = tmpDir(t);
  const { host } = await startHost(t, { root, policy: allowlistEcho });
  const gwState = path.join(root, 'gw');
  fs.mkdirSync(gwState, { mode: 0o700 });
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: gwState, token: TOKEN, env: {} });
  t.teardown(() => gateway.close());
  const events: Stack['events'] = [];
  gateway.onNodeEvent((nodeId, event, payload) =>
    events.push({ nodeId, event, payload: payload as Record<string, unknown> }),
  );
  const node = (name: string, link: boolean): NodeHost => {
    const stateDir = path.join(root, name);
    writePolicy(stateDir, allowlistEcho);
    const started = startNodeHost({
      url: gateway.url,
      token: TOKEN,
      stateDir,
      displayName: name,
      execHost: 'app',
      inProcessApp: host,
      ...(link ? { link: (maxPayload: number) => gateway.openInProcessLink(maxPayload) } : {}),
      log: () => {},
    });
    t.teardown(() => started.close());
    return started;
  };
  const ws = node('node-ws', false);
  const link = node('node-link', true);
  await Promise.all([ws.ready, link.ready]);
  const operator = await connectOperator({ url: gateway.url, token: TOKEN, tokenSource: 'option', stateDir: gwState });
  t.teardown(() => operator.close());
  return { gateway, ws, link, events, operator };
}

async function invoke(operator: GatewayClient, nodeId: string, command: string[]): Promise<unknown> {
  try {
    const reply = await operator.request<{ payload?: unknown }>('node.invoke', {
      nodeId,
      command: 'system.run',
      params: { command, sessionKey: 'link-test', runId: 'run-1' },
      idempotencyKey: `${nodeId}:${command.join(' ')}`,
      timeoutMs: 15_000,
    });
    return { ok: true, payload: reply.payload };
  } catch (err) {
    if (!(err instanceof GatewayRequestError)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

t.test('link and WebSocket node hosts: same pairing, answers, events and denials', async (t) => {
  const s = await startStack(t);
  // Pairing: both wait for an operator's approval of their command surface; nothing is auto-approved.
  await waitUntil(() => s.gateway.nodes.pendingRequests().length === 2);
  const pending = s.gateway.nodes.pendingRequests();
  t.same(
    pending.map((r) => r.nodeId).sort(),
    [s.ws.nodeId, s.link.nodeId].sort(),
    'each node host has a pending pairing request',
  );
  t.same(pending[0]!.commands, pending[1]!.commands, 'the same command surface');
  const earlyLink = await invoke(s.operator, s.link.nodeId, [ECHO, 'early']);
  t.match(earlyLink, { ok: false }, 'the link node may not run anything before approval');
  t.same(earlyLink, await invoke(s.operator, s.ws.nodeId, [ECHO, 'early']), 'refused as the WebSocket one');
  for (const r of pending) s.gateway.nodes.approve(r.requestId);
  const listed = await s.operator.request<{ nodes: Array<{ nodeId: string; connected: boolean }> }>('node.list', {});
  for (const id of [s.ws.nodeId, s.link.nodeId])
    t.ok(listed.nodes.find((n) => n.nodeId === id)?.connected, `node ${id.slice(0, 8)} listed as connected`);

  const viaWs = await invoke(s.operator, s.ws.nodeId, [ECHO, 'hi']);
  const viaLink = await invoke(s.operator, s.link.nodeId, [ECHO, 'hi']);
  t.match(viaLink, { ok: true, payload: { exitCode: 0, success: true, stdout: 'hi\n' } }, 'the link node runs it');
  t.same(viaLink, viaWs, 'the same answer as over WebSocket');

  const deniedWs = await invoke(s.operator, s.ws.nodeId, ['/bin/cat', '/etc/hostname']);
  const deniedLink = await invoke(s.operator, s.link.nodeId, ['/bin/cat', '/etc/hostname']);
  t.match(deniedLink, { ok: false, message: /SYSTEM_RUN_DENIED/ }, 'an allowlist miss is denied over the link');
  t.same(deniedLink, deniedWs, 'the same denial as over WebSocket');

  await waitUntil(() => s.events.filter((e) => e.event.startsWith('exec.')).length >= 4);
  const of = (nodeId: string): unknown[] =>
    s.events.filter((e) => e.nodeId === nodeId && e.event.startsWith('exec.')).map((e) => [e.event, e.payload]);
  t.equal(of(s.link.nodeId).length, 2, 'exec.finished and exec.denied from the link node');
  t.same(of(s.link.nodeId), of(s.ws.nodeId), 'the same events, in the same order, as over WebSocket');
});

t.test('link: the Gateway auth applies (a wrong token is refused like over WebSocket)', async (t) => {
  const root = tmpDir(t);
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: root, token: TOKEN, env: {} });
  t.teardown(() => gateway.close());
  const attempt = async (link: boolean): Promise<string> => {
    const client = new GatewayClient({
      url: gateway.url,
      role: 'operator',
      token: 'wrong-token-0123456789',
      scopes: ['operator.read'],
      client: { id: 'gateway-client', mode: 'backend', version: 'test', platform: process.platform },
      reconnect: false,
      ...(link ? { link: (maxPayload: number) => gateway.openInProcessLink(maxPayload) } : {}),
    });
    try {
      await client.start();
      return 'connected';
    } catch (err) {
      return `${(err as GatewayRequestError).code ?? ''} ${(err as Error).message}`;
    } finally {
      await client.close();
    }
  };
  const viaLink = await attempt(true);
  t.not(viaLink, 'connected', 'the link is refused');
  t.equal(viaLink, await attempt(false), 'with the WebSocket refusal');
});

// The Gateway's pre-auth limits hold for a link as for a WebSocket: a link that never says connect is closed
// at the handshake deadline, one that sends past the pre-auth budget is closed 1009; either is forgotten.
const preauthLimits = [
  {
    name: 'the handshake deadline applies to a link that never says connect',
    options: { handshakeTimeoutMs: 200 },
    act: (): void => {},
    code: 1000,
    closedAs: 'closed at the handshake deadline',
    forgotten: 'and forgotten',
  },
  {
    name: 'a message over the pre-auth budget closes 1009',
    options: { preauthMaxPayload: 4096 },
    act: (end: LinkEnd): void =>
      end.send(JSON.stringify({ type: 'req', id: '1', method: 'connect', params: { pad: 'x'.repeat(8192) } })),
    code: 1009,
    closedAs: 'closed 1009 by the pre-auth budget, as a WebSocket',
    forgotten: 'the oversized pre-auth link is gone',
  },
] as const;

t.test('link: the pre-auth limits apply (handshake deadline, pre-auth bytes counted)', async (t) => {
  for (const limit of preauthLimits) {
    await t.test(limit.name, async (t) => {
      const root = tmpDir(t);
      const gateway = await startGateway({
        host: '127.0.0.1',
        port: 0,
        stateDir: root,
        token: TOKEN,
        env: {},
        ...limit.options,
      });
      t.teardown(() => gateway.close());
      const end = gateway.openInProcessLink(1 << 20);
      const frames: string[] = [];
      end.on('message', (data: Buffer) => frames.push(data.toString()));
      const closed = new Promise<number>((resolve) => end.once('close', (code: number) => resolve(code)));
      limit.act(end);
      t.equal(await closed, limit.code, limit.closedAs);
      t.match(JSON.parse(frames[0]!), { type: 'event', event: 'connect.challenge' }, 'challenged first');
      t.equal(gateway.connectionCount(), 0, limit.forgotten);
    });
  }
});

t.test('link: a message over the receiver maxPayload closes both ends 1009', async (t) => {
  const [a, b] = LinkEnd.pair({ maxPayload: 64 }, { maxPayload: 16 });
  const codes: number[] = [];
  a.on('close', (code: number) => codes.push(code));
  b.on('close', (code: number) => codes.push(code));
  const got: string[] = [];
  b.on('message', (data: Buffer) => got.push(data.toString()));
  a.send('small');
  a.send('x'.repeat(17));
  a.send('after');
  await waitUntil(() => codes.length === 2);
  t.same(got, ['small'], 'delivered up to the oversized message, nothing after');
  t.same(codes, [1009, 1009], 'both ends closed 1009');
  const sendErr = await new Promise<Error | undefined>((resolve) => a.send('late', resolve));
  t.ok(sendErr, 'a send after close reports an error');
});

t.test('link: frames arrive in order, never inside send; close and terminate as ws', async (t) => {
  const transport = new LinkTransport('127.0.0.1', 1);
  const [a, b] = LinkEnd.pair({ maxPayload: 1 << 20 }, { maxPayload: 1 << 20, transport });
  const got: string[] = [];
  const bytes: number[] = [];
  transport.on('data', (chunk: Buffer) => bytes.push(chunk.length));
  b.on('message', (data: Buffer, isBinary: boolean) => got.push(`${data.toString()}${isBinary ? '!' : ''}`));
  for (let i = 0; i < 5; i++) a.send(`m${i}`);
  t.same(got, [], 'nothing is delivered inside send');
  await Promise.resolve();
  t.same(got, [], 'nor before the sender’s promise callbacks');
  await waitUntil(() => got.length === 5);
  t.same(got, ['m0', 'm1', 'm2', 'm3', 'm4'], 'text frames, in order');
  t.same(bytes, [2, 2, 2, 2, 2], 'the transport sees each frame’s bytes first');
  const closes: Array<[number, string]> = [];
  a.on('close', (code: number, reason: Buffer) => closes.push([code, reason.toString()]));
  b.on('close', (code: number, reason: Buffer) => closes.push([code, reason.toString()]));
  a.send('last');
  a.close(4001, 'bye');
  t.equal(a.readyState, LinkEnd.CLOSING);
  await waitUntil(() => closes.length === 2);
  t.equal(got[got.length - 1], 'last', 'a frame sent before close still arrives');
  t.same(closes, [
    [4001, 'bye'],
    [4001, 'bye'],
  ]);
  t.equal(b.readyState, LinkEnd.CLOSED);

  const [c, d] = LinkEnd.pair({ maxPayload: 10 }, { maxPayload: 10 });
  const dropped: number[] = [];
  c.on('close', (code: number) => dropped.push(code));
  d.on('close', (code: number) => dropped.push(code));
  c.terminate();
  await waitUntil(() => dropped.length === 2);
  t.same(dropped, [1006, 1006], 'terminate is an abnormal close on both ends');
});

t.test('link: a Gateway that is closing refuses new links; its links close 1012', async (t) => {
  const root = tmpDir(t);
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, stateDir: root, token: TOKEN, env: {} });
  const client = new GatewayClient({
    url: gateway.url,
    role: 'operator',
    token: TOKEN,
    scopes: ['operator.read'],
    client: { id: 'gateway-client', mode: 'backend', version: 'test', platform: process.platform },
    reconnect: false,
    link: (maxPayload: number) => gateway.openInProcessLink(maxPayload),
  });
  await client.start();
  t.ok(client.connected, 'an operator can join over the link too');
  const dropped = new Promise<number>((resolve) => client.once('disconnect', ({ code }) => resolve(code)));
  await gateway.close();
  t.equal(await dropped, 1012, 'closed 1012 at shutdown, as a WebSocket');
  const late = gateway.openInProcessLink(1 << 20);
  const code = await new Promise<number>((resolve) => late.once('close', (c: number) => resolve(c)));
  t.equal(code, 1006, 'a link opened after close is dropped at once');
  await client.close();
});
