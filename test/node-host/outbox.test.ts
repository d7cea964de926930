// A result produced while the connection is down is delivered after the reconnect when the Gateway
// still waits for it (here: a small in-test Gateway that keeps invokes across a node reconnect),
// exactly once; a re-sent invoke id is answered again without running the command twice.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

import t from 'tap';
import { WebSocketServer, type WebSocket } from 'ws';

import { startNodeHost } from '../../lib/node-host/host.js';
import type { DeliveryOutcome } from '../../lib/node-host/outbox.js';

interface Call {
  method: string;
  params: Record<string, unknown>;
}

/** Accepts any connect, answers every request ok:true, records them, and can push invokes or drop sockets. */
async function startTestGateway(t: { teardown(fn: () => void | Promise<void>): void }) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const calls: Call[] = [];
  const sockets = new Set<WebSocket>();
  let hellos = 0;
  let refuseUntil = 0;
  wss.on('connection', (ws) => {
    if (Date.now() < refuseUntil) {
      ws.terminate(); // "down": the node must keep its result until a connection is accepted
      return;
    }
    let authed = false;
    ws.send(
      JSON.stringify({
        type: 'event',
        event: 'connect.challenge',
        payload: { nonce: crypto.randomUUID(), ts: Date.now() },
      }),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { id: string; method: string; params: Record<string, unknown> };
      if (!authed) {
        authed = true;
        sockets.add(ws);
        ws.once('close', () => sockets.delete(ws));
        hellos++;
        ws.send(
          JSON.stringify({
            type: 'res',
            id: frame.id,
            ok: true,
            payload: {
              type: 'hello-ok',
              protocol: 4,
              server: { version: 'fake', connId: 'c1' },
              features: { methods: [], events: [] },
              snapshot: {},
              policy: { maxPayload: 1 << 20, maxBufferedBytes: 1 << 20, tickIntervalMs: 30_000 },
            },
          }),
        );
        return;
      }
      calls.push({ method: frame.method, params: frame.params });
      ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: { ok: true } }));
    });
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.terminate();
        wss.close(() => resolve());
      }),
  );
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    calls,
    hellos: () => hellos,
    invoke(payload: Record<string, unknown>): void {
      for (const s of sockets) s.send(JSON.stringify({ type: 'event', event: 'node.invoke.request', payload }));
    },
    /** Drops every node connection and refuses new ones for `ms` (or until `acceptAgain`). */
    dropAll(ms = 0): void {
      refuseUntil = Date.now() + ms;
      for (const s of sockets) s.terminate();
    },
    acceptAgain(): void {
      refuseUntil = 0;
    },
  };
}

async function waitUntil(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('result produced while disconnected is delivered after the reconnect, once', async (t) => {
  const gw = await startTestGateway(t);
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-outbox-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.writeFileSync(
    path.join(stateDir, 'exec-approvals.json'),
    JSON.stringify({ version: 1, defaults: { security: 'full', ask: 'off' } }),
    { mode: 0o600 },
  );
  const counter = path.join(root, 'runs.txt');
  const done = path.join(root, 'done');
  const host = startNodeHost({
    url: gw.url,
    token: 't',
    stateDir,
    execHost: 'local',
    reconnect: { initialDelayMs: 100, maxDelayMs: 200 },
    log: () => {},
  });
  t.teardown(() => host.close());
  const outcomes: Array<[string, DeliveryOutcome]> = [];
  host.onResult((id, outcome) => outcomes.push([id, outcome]));
  await host.ready;

  const payload = {
    id: 'inv-1',
    nodeId: host.nodeId,
    command: 'system.run',
    paramsJSON: JSON.stringify({
      command: ['/bin/sh', '-c', `echo run >> '${counter}'; sleep 0.5; echo finished; : > '${done}'`],
    }),
    timeoutMs: 10_000,
  };
  gw.invoke(payload);
  await waitUntil(() => fs.existsSync(counter));
  // The connection dies while the command runs and stays down past its end: until acceptAgain below,
  // not for a fixed time a slow run could outlast.
  gw.dropAll(10 * 60_000);
  await waitUntil(() => host.client.connected === false);
  await waitUntil(() => fs.existsSync(done));
  await new Promise((r) => setTimeout(r, 200)); // the result is produced right after the exit
  t.equal(outcomes.length, 0, 'finished while disconnected: held, not lost');
  t.equal(gw.calls.filter((c) => c.method === 'node.invoke.result').length, 0);
  gw.acceptAgain();
  await waitUntil(() => gw.hellos() >= 2); // reconnected
  await waitUntil(() => outcomes.length === 1);
  t.same(outcomes, [['inv-1', 'delivered']], 'delivered after the reconnect');
  const results = gw.calls.filter((c) => c.method === 'node.invoke.result');
  t.equal(results.length, 1, 'sent exactly once');
  t.equal(results[0]!.params.id, 'inv-1');
  t.equal(results[0]!.params.nodeId, host.nodeId);
  t.match(JSON.parse(results[0]!.params.payloadJSON as string), { exitCode: 0, stdout: 'finished\n' });
  const finished = gw.calls.filter((c) => c.method === 'node.event' && c.params.event === 'exec.finished');
  t.ok(finished.length <= 1, 'exec.finished at most once');

  // The same invoke id again (a Gateway retry): answered from the first result, not run again.
  gw.invoke(payload);
  await waitUntil(() => gw.calls.filter((c) => c.method === 'node.invoke.result').length === 2);
  t.equal(fs.readFileSync(counter, 'utf8'), 'run\n', 'the command ran once');
  const again = gw.calls.filter((c) => c.method === 'node.invoke.result')[1]!;
  t.same(again.params, results[0]!.params, 'same result for the same id');

  // Malformed invoke payloads never crash the host; unknown commands get a clear error.
  gw.invoke({ nope: true });
  gw.invoke({ id: 'inv-2', nodeId: host.nodeId, command: 'no.such.command', paramsJSON: '{}' });
  gw.invoke({ id: 'inv-3', nodeId: host.nodeId, command: 'system.which', paramsJSON: '{not json' });
  await waitUntil(() => gw.calls.filter((c) => c.method === 'node.invoke.result').length === 4);
  const byId = new Map(gw.calls.filter((c) => c.method === 'node.invoke.result').map((c) => [c.params.id, c.params]));
  t.same(byId.get('inv-2'), {
    id: 'inv-2',
    nodeId: host.nodeId,
    ok: false,
    error: { code: 'UNAVAILABLE', message: 'command not supported' },
  });
  t.match(byId.get('inv-3'), {
    ok: false,
    error: { code: 'INVALID_REQUEST', message: /paramsJSON is not valid JSON/ },
  });
  t.ok(host.client.connected, 'still connected');
});
