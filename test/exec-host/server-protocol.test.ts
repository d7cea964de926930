// The socket protocol against a real exec host: HMAC, TTL, replay, payload errors, framing limits,
// concurrency. Every rejection also proves that nothing ran (a canary file the command would create).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import { buildExecLine, execViaSocket } from '../../lib/exec-host/client.js';
import { encodeLine } from '../../lib/common/jsonl.js';
import { signExecRequest } from '../../lib/exec-host/hmac.js';
import { parseReply, rawExchange, startHost, waitFor } from '../helpers/exec-host.js';

t.test('exec protocol', async (t) => {
  // The default 5 s read deadline: a legitimate line must never race it on a loaded box. The deadline
  // tests below get their own hosts with short deadlines.
  const { host, token, root } = await startHost(t);
  const canary = path.join(root, 'canary');
  const touch = { command: ['/usr/bin/touch', canary] };
  const noCanary = (what: string): void => {
    t.notOk(fs.existsSync(canary), `${what}: nothing ran`);
  };

  t.test('spec vector 1 on the wire is expired (ttl)', async (t) => {
    const line =
      '{"type":"exec","id":"5d2b4b0e-3f7a-4c1e-9a57-2a4f0b9c1d11","nonce":"00ff","ts":1700000000000,' +
      '"hmac":"6bb23dfad84b79408dbb4969bd8e7a083b003768752f39e66244f0b1d0349b9c","requestJson":"{\\"command\\":[\\"echo\\",\\"hi\\"]}"}\n';
    const r = await rawExchange(host.socketPath, line);
    t.equal(
      r.text,
      '{"type":"exec-res","id":"5d2b4b0e-3f7a-4c1e-9a57-2a4f0b9c1d11","ok":false,"error":{"code":"INVALID_REQUEST","message":"expired request",' +
        '"reason":"ttl"}}\n',
    );
  });

  t.test('a valid exec runs and replies with the app payload shape', async (t) => {
    const { id, line } = buildExecLine({ command: ['echo', 'hi'] }, token);
    const r = await rawExchange(host.socketPath, line);
    t.same(parseReply(r.text), {
      type: 'exec-res',
      id,
      ok: true,
      payload: { exitCode: 0, timedOut: false, success: true, stdout: 'hi\n', stderr: '' },
    });
    t.ok(r.closedByServer, 'one request per connection: the server closes');
  });

  t.test('an OpenClaw TS node host request (nulls for absent fields, as in spec vector 2) runs', async (t) => {
    const requestJson =
      '{"command":["/bin/echo","hi"],"rawCommand":null,"cwd":null,"env":null,"timeoutMs":null,"needsScreenRecording":null,"agentId":"main",' +
      '"sessionKey":null,"approvalDecision":null}';
    const nonce = '000102030405060708090a0b0c0d0e0f';
    const ts = Date.now();
    const line = encodeLine({
      type: 'exec',
      id: 'v2',
      nonce,
      ts,
      hmac: signExecRequest(token, nonce, ts, requestJson),
      requestJson,
    });
    t.same(parseReply((await rawExchange(host.socketPath, line)).text), {
      type: 'exec-res',
      id: 'v2',
      ok: true,
      payload: { exitCode: 0, timedOut: false, success: true, stdout: 'hi\n', stderr: '' },
    });
  });

  t.test('TTL inside and outside, past and future', async (t) => {
    // ±2 s around the 10 s TTL: ts is fixed when the line is signed, so the time until the host checks it
    // moves a past ts outward and a future ts inward; 2 s covers that transit on a loaded box.
    for (const [offset, ok] of [
      [-8_000, true],
      [8_000, true],
      [-12_000, false],
      [12_000, false],
    ] as const) {
      const { line } = buildExecLine({ command: ['true'] }, token, { ts: Date.now() + offset });
      const reply = parseReply((await rawExchange(host.socketPath, line)).text)!;
      if (ok) t.equal(reply.ok, true, `ts ${offset} ms accepted`);
      else
        t.same(
          reply.error,
          { code: 'INVALID_REQUEST', message: 'expired request', reason: 'ttl' },
          `ts ${offset} ms rejected`,
        );
    }
    const { line } = buildExecLine(touch, token, { ts: Date.now() - 11_000 });
    await rawExchange(host.socketPath, line);
    noCanary('expired');
  });

  t.test('wrong token, uppercase hex, altered body, bad MAC shapes → hmac', async (t) => {
    const before = host.stats.authFailures;
    const hmacError = { code: 'INVALID_REQUEST', message: 'invalid auth', reason: 'hmac' };
    const wrongToken = buildExecLine(touch, 'A'.repeat(32));
    t.same(parseReply((await rawExchange(host.socketPath, wrongToken.line)).text), {
      type: 'exec-res',
      id: wrongToken.id,
      ok: false,
      error: hmacError,
    });
    const nonce = 'abcd';
    const ts = Date.now();
    const requestJson = JSON.stringify(touch);
    const mac = signExecRequest(token, nonce, ts, requestJson);
    const send = async (fields: Record<string, unknown>): Promise<Record<string, unknown> | undefined> =>
      parseReply(
        (
          await rawExchange(
            host.socketPath,
            encodeLine({ type: 'exec', id: 'x1', nonce, ts, hmac: mac, requestJson, ...fields }),
          )
        ).text,
      );
    t.same((await send({ hmac: mac.toUpperCase() }))?.error, hmacError, 'uppercase');
    t.same(
      (await send({ requestJson: JSON.stringify({ command: ['/usr/bin/touch', canary, 'x'] }) }))?.error,
      hmacError,
      'argv altered under a valid MAC',
    );
    t.same(
      (await send({ requestJson: JSON.stringify({ command: touch.command, cwd: '/' }) }))?.error,
      hmacError,
      'cwd added',
    );
    t.same(
      (await send({ requestJson: `{"command": ${JSON.stringify(touch.command)}}` }))?.error,
      hmacError,
      'same JSON, different bytes',
    );
    // Flip the first hex digit; a fixed replacement would equal the real MAC one time in 16.
    t.same(
      (await send({ hmac: `${mac[0] === '0' ? '1' : '0'}${mac.slice(1)}` }))?.error,
      hmacError,
      'first byte wrong',
    );
    t.same((await send({ hmac: mac.slice(0, 32) }))?.error, hmacError, 'short');
    t.same((await send({ hmac: '' }))?.error, hmacError, 'empty');
    t.same((await send({ hmac: 'zz'.repeat(32) }))?.error, hmacError, 'not hex');
    t.equal(host.stats.authFailures - before, 9, 'failure counter increments per attempt');
    noCanary('bad auth');
  });

  t.test('replay: the same signed line a second time is rejected', async (t) => {
    const { line } = buildExecLine({ command: ['true'] }, token);
    t.equal(parseReply((await rawExchange(host.socketPath, line)).text)?.ok, true);
    const replaysBefore = host.stats.replays;
    const again = parseReply((await rawExchange(host.socketPath, line)).text);
    // Upstream's vocabulary has no replay reason: a reused nonce answers like a stale request …
    t.same(again?.error, { code: 'INVALID_REQUEST', message: 'expired request', reason: 'ttl' });
    t.equal(host.stats.replays - replaysBefore, 1, 'counted as a replay, not as a TTL failure');
    // … and the audit log keeps it distinguishable.
    const audit = fs
      .readFileSync(host.auditFile!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const id = (JSON.parse(line) as { id: string }).id;
    t.same(
      audit.filter((r) => r.id === id).map((r) => [r.outcome, r.reason ?? null]),
      [
        ['ran', null],
        ['denied', 'replay'],
      ],
      'audit: ran, then denied as replay',
    );
    const replayTouch = buildExecLine(touch, token, { nonce: 'fixed-nonce-1' });
    fs.rmSync(canary, { force: true });
    await rawExchange(host.socketPath, replayTouch.line);
    t.ok(fs.existsSync(canary), 'first use ran');
    fs.rmSync(canary);
    const replayed = parseReply((await rawExchange(host.socketPath, replayTouch.line)).text);
    t.equal(replayed?.ok, false);
    noCanary('replayed');
  });

  t.test('payload errors: bad requestJson (json), empty command (invalid)', async (t) => {
    const nonce = 'n-json';
    const ts = Date.now();
    const requestJson = '{"command":[';
    const r = parseReply(
      (
        await rawExchange(
          host.socketPath,
          encodeLine({
            type: 'exec',
            id: 'j',
            nonce,
            ts,
            hmac: signExecRequest(token, nonce, ts, requestJson),
            requestJson,
          }),
        )
      ).text,
    );
    t.same(r, {
      type: 'exec-res',
      id: 'j',
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'invalid payload', reason: 'json' },
    });
    const empty = buildExecLine({ command: [] }, token);
    t.same(parseReply((await rawExchange(host.socketPath, empty.line)).text)?.error, {
      code: 'INVALID_REQUEST',
      message: 'command required',
      reason: 'invalid',
    });
    const nul = buildExecLine({ command: ['/usr/bin/touch', `${canary}\0x`] }, token);
    t.match(parseReply((await rawExchange(host.socketPath, nul.line)).text)?.error, {
      code: 'INVALID_REQUEST',
      reason: 'invalid',
    });
    // A validly signed requestJson that is not an object (null included) gets the typed denial, never a dropped connection.
    for (const [i, body] of ['null', '5', '"x"', '[]'].entries()) {
      const n = `n-shape-${i}`;
      const at = Date.now();
      const line = encodeLine({
        type: 'exec',
        id: `s${i}`,
        nonce: n,
        ts: at,
        hmac: signExecRequest(token, n, at, body),
        requestJson: body,
      });
      t.same(
        parseReply((await rawExchange(host.socketPath, line)).text),
        {
          type: 'exec-res',
          id: `s${i}`,
          ok: false,
          error: { code: 'INVALID_REQUEST', message: 'invalid payload', reason: 'invalid' },
        },
        `requestJson ${body}`,
      );
    }
    noCanary('invalid payloads');
  });

  t.test('malformed lines get no reply and do not hurt the host', async (t) => {
    const junk = [
      'not json\n',
      '[1,2]\n',
      '{"type":"nope"}\n',
      `${'['.repeat(10_000)}\n`,
      '{"type":"exec","id":1}\n',
      '{"__proto__":{"polluted":true},"type":"exec"}\n',
      '\xff\xfe\n',
      'NaN\n',
    ];
    const droppedBefore = host.stats.dropped;
    for (const line of junk) {
      const r = await rawExchange(host.socketPath, line);
      t.equal(r.text, '', `no reply to ${JSON.stringify(line.slice(0, 20))}`);
    }
    t.equal(
      host.stats.dropped - droppedBefore,
      junk.length,
      'every junk line is counted as dropped (a JSON array too)',
    );
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    t.equal(
      (await rawExchange(host.socketPath, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]))).text,
      '',
      'invalid UTF-8: no reply',
    );
    const dup = buildExecLine(touch, token);
    t.equal(
      (await rawExchange(host.socketPath, dup.line.replace('{"type":"exec",', '{"type":"exec","type":"request",')))
        .text,
      '',
      'duplicate keys in the line: no reply',
    );
    const nonce = 'dup-nonce';
    const ts = Date.now();
    const requestJson = `{"command":["true"],"command":${JSON.stringify(touch.command)}}`;
    const dupInner = parseReply(
      (
        await rawExchange(
          host.socketPath,
          encodeLine({
            type: 'exec',
            id: 'd',
            nonce,
            ts,
            hmac: signExecRequest(token, nonce, ts, requestJson),
            requestJson,
          }),
        )
      ).text,
    );
    t.same(
      dupInner?.error,
      { code: 'INVALID_REQUEST', message: 'invalid payload', reason: 'json' },
      'duplicate keys inside a signed requestJson are refused',
    );
    noCanary('duplicate keys');
    const ok = await execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token });
    t.equal(ok.ok, true, 'still serving');
  });

  t.test('an oversize line is dropped before it is buffered', async (t) => {
    const before = host.stats.dropped;
    const r = await rawExchange(host.socketPath, Buffer.alloc(300_000, 0x61), { end: false });
    t.equal(r.text, '');
    t.ok(r.closedByServer, 'server closed the connection');
    t.ok(host.stats.dropped > before);
    const atCap = buildExecLine({ command: ['true'], rawCommand: null, sessionKey: 'x'.repeat(200_000) }, token);
    t.equal(
      parseReply((await rawExchange(host.socketPath, atCap.line)).text)?.ok,
      true,
      'a 200 KB line under the 256 000-byte cap is served',
    );
  });

  t.test('a client that never finishes its line is dropped at the deadline', async (t) => {
    const { host } = await startHost(t, { readTimeoutMs: 400 });
    const slow = await rawExchange(host.socketPath, '{"type":"exec"', { end: false });
    t.ok(slow.closedByServer, 'closed by the server');
    t.equal(slow.text, '');
    t.ok(slow.ms >= 300 && slow.ms < 5000, `closed after ${slow.ms} ms (deadline 400)`);
  });

  t.test('slowloris: 500 idle sockets do not block a legitimate client', async (t) => {
    // The legitimate line must arrive within the deadline while 500 others are accepted: 2 s, not 400 ms.
    const { host, token } = await startHost(t, { readTimeoutMs: 2_000 });
    const idle = Array.from({ length: 500 }, () => rawExchange(host.socketPath, '{', { end: false }));
    const { id, line } = buildExecLine({ command: ['echo', 'ok'] }, token);
    const legit = parseReply((await rawExchange(host.socketPath, line)).text);
    t.same(legit, {
      type: 'exec-res',
      id,
      ok: true,
      payload: { exitCode: 0, timedOut: false, success: true, stdout: 'ok\n', stderr: '' },
    });
    const results = await Promise.all(idle);
    t.ok(
      results.every((r) => r.closedByServer && r.text === ''),
      'all idle sockets closed by the server',
    );
  });

  t.test('200 concurrent execs are all answered correctly', async (t) => {
    const opts = { socketPath: host.socketPath, token, timeoutMs: 60_000 };
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => execViaSocket({ command: ['echo', `n${i}`] }, opts)),
    );
    const wrong = replies.filter((r, i) => !r.ok || r.payload.stdout !== `n${i}\n` || r.payload.exitCode !== 0);
    t.equal(wrong.length, 0, 'every reply matches its request');
  });
});

t.test('connection cap: connections beyond maxConnections are closed at accept', async (t) => {
  const { host, token } = await startHost(t, { maxConnections: 3, readTimeoutMs: 3000 });
  const idle = Array.from({ length: 3 }, () => rawExchange(host.socketPath, '{', { end: false }));
  t.ok(await waitFor(() => host.stats.active === 3, 20_000), 'the three idle connections hold every slot');
  const over = await rawExchange(host.socketPath, buildExecLine({ command: ['true'] }, token).line);
  t.equal(over.text, '', 'no reply over the cap');
  t.ok(over.closedByServer);
  t.ok(host.stats.refusedOverCap >= 1);
  await Promise.all(idle);
  const after = await execViaSocket({ command: ['true'] }, { socketPath: host.socketPath, token });
  t.equal(after.ok, true, 'served again once the idle connections were dropped');
});

t.test('policy edits apply to the next request without a restart', async (t) => {
  const { host, token } = await startHost(t);
  const opts = { socketPath: host.socketPath, token };
  t.equal((await execViaSocket({ command: ['true'] }, opts)).ok, true);
  const file = JSON.parse(fs.readFileSync(host.approvalsFile, 'utf8'));
  file.defaults.security = 'deny';
  fs.writeFileSync(host.approvalsFile, JSON.stringify(file));
  t.match(await execViaSocket({ command: ['true'] }, opts), { ok: false, error: { reason: 'security=deny' } });
  fs.chmodSync(host.approvalsFile, 0o644);
  t.match(
    await execViaSocket({ command: ['true'] }, opts),
    { ok: false, error: { code: 'UNAVAILABLE', reason: 'approval-required', message: /approvals file unreadable/ } },
    'a loosened file fails closed',
  );
});
