// Property-based tests of the exec line parser (issue 7 "Also"): lib/common/jsonl.ts (line framing, untrusted
// JSON) and the exec request handling of lib/exec-host/server.ts through a real socket. Bounded here;
// `npm run fuzz` runs thousands.
import t from 'tap';
import crypto from 'node:crypto';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';

import { JsonlError, parseUntrustedJson, readLine } from '../../lib/common/jsonl.js';
import { BoundedJsonError } from '../../lib/common/bounded-json.js';
import { signExecRequest } from '../../lib/exec-host/hmac.js';
import { evaluateSystemRun, validateRequest } from '../../lib/exec-host/policy.js';
import { params } from '../helpers/fuzz.js';
import { startHost } from '../helpers/exec-host.js';

const JSON_CODES = new Set(['ERR_JSON_INVALID', 'ERR_JSON_TOO_DEEP', 'ERR_JSON_DUPLICATE_KEY']);

/** The value as parseUntrustedJson returns it: prototype-polluting keys dropped. */
function withoutProtoKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutProtoKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      if (!['__proto__', 'constructor', 'prototype'].includes(k)) out[k] = withoutProtoKeys(v);
    return out;
  }
  return value;
}

t.test('readLine: the same line whatever the chunking; a typed error for bad UTF-8 or an overlong line', async (t) => {
  const line = fc.string({ unit: 'grapheme', maxLength: 200 }).filter((s) => !s.includes('\n'));
  await fc.assert(
    fc.asyncProperty(line, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), async (text, cuts, strict) => {
      const bytes = Buffer.from(`${text}\nrest`);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const stream = new PassThrough();
      const reading = readLine(stream, { maxLineBytes: 1024, timeoutMs: 5000, strictUtf8: strict });
      let last = 0;
      for (const p of [...points, bytes.length]) {
        stream.write(bytes.subarray(last, p));
        last = p;
      }
      return (await reading) === text;
    }),
    params(300),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.integer({ min: 1, max: 32 }),
      async (raw, cap) => {
        const bytes = Buffer.from(raw.filter((b) => b !== 0x0a));
        const stream = new PassThrough();
        const reading = readLine(stream, { maxLineBytes: cap, timeoutMs: 5000, strictUtf8: true });
        stream.end(Buffer.concat([bytes, Buffer.from('\n')]));
        try {
          const got = await reading;
          return bytes.length <= cap && Buffer.from(got, 'utf8').equals(bytes);
        } catch (err) {
          if (!(err instanceof JsonlError)) return false;
          if (bytes.length > cap) return err.code === 'ERR_LINE_TOO_LONG';
          return err.code === 'ERR_INVALID_UTF8' && !isValidUtf8(bytes);
        }
      },
    ),
    params(500),
  );
  t.pass('framing properties held');
});

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

t.test('parseUntrustedJson: round-trips JSON, refuses with a typed error, never throws anything else', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      const parsed = parseUntrustedJson(JSON.stringify(value));
      return JSON.stringify(parsed) === JSON.stringify(withoutProtoKeys(value));
    }),
    params(1000),
  );
  const mutated = fc
    .tuple(
      fc.json({ maxDepth: 4 }),
      fc.nat(),
      fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', '\u0000', '"a":1,'),
    )
    .map(([text, at, insert]) => text.slice(0, at % (text.length + 1)) + insert + text.slice(at % (text.length + 1)));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), mutated), (text) => {
      try {
        parseUntrustedJson(text);
        return true;
      } catch (err) {
        return err instanceof BoundedJsonError && JSON_CODES.has(err.code);
      }
    }),
    params(2000),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 80 }), (depth) => {
      const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      try {
        parseUntrustedJson(text);
        return depth <= 32;
      } catch (err) {
        return depth > 32 && (err as BoundedJsonError).code === 'ERR_JSON_TOO_DEEP';
      }
    }),
    params(80),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 8 }), fc.json({ maxDepth: 2 }), (key, value) => {
      const escaped = JSON.stringify(key).replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
      const text = `{${JSON.stringify(key)}:${value},${escaped}:1}`;
      try {
        parseUntrustedJson(text);
        return false;
      } catch (err) {
        return (err as BoundedJsonError).code === 'ERR_JSON_DUPLICATE_KEY';
      }
    }),
    params(500),
  );
  t.pass('JSON properties held');
});

t.test('validateRequest and evaluateSystemRun never throw on any JSON value', async (t) => {
  const request = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record(
      {
        command: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
        rawCommand: fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
        cwd: fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
        env: fc.oneof(
          fc.constant(null),
          fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        timeoutMs: fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.string({ maxLength: 3 })),
        approvalDecision: fc.oneof(fc.constant(null), fc.constantFrom('allow-once', 'allow-always', 'deny', 'x')),
        agentId: fc.oneof(fc.constant(null), fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    ),
  );
  const policy = { version: 1 as const, defaults: { security: 'allowlist' as const, ask: 'off' as const } };
  fc.assert(
    fc.property(request, (r) => {
      const bad = validateRequest(r);
      if (bad) return bad.code === 'INVALID_REQUEST' || bad.code === 'UNAVAILABLE';
      const e = evaluateSystemRun(r as never, policy, { searchPath: '/usr/bin:/bin' });
      return e.outcome === 'deny' || e.outcome === 'allow';
    }),
    params(1000),
  );
  t.pass('no exception');
});

t.test(
  'a real exec host answers any signed or unsigned line with nothing or one typed exec-res, and survives',
  async (t) => {
    const { host, token } = await startHost(t, {
      policy: (d) => {
        d.defaults = { security: 'deny', ask: 'off', askFallback: 'deny' };
      },
    });
    const exchange = (line: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = net.connect(host.socketPath);
        let got = '';
        socket.on('data', (c) => (got += c.toString()));
        socket.on('error', () => resolve(got));
        socket.on('close', () => resolve(got));
        socket.setTimeout(10_000, () => socket.destroy());
        socket.once('connect', () => socket.end(line));
      });
    const requestJson = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ command: v })),
    );
    const message = fc.oneof(
      requestJson.map((json) => {
        const ts = Date.now();
        const nonce = crypto.randomBytes(16).toString('hex');
        return JSON.stringify({
          type: 'exec',
          id: crypto.randomUUID(),
          nonce,
          ts,
          hmac: signExecRequest(token, nonce, ts, json),
          requestJson: json,
        });
      }),
      fc
        .record(
          {
            type: fc.constantFrom('exec', 'request', 'x'),
            id: fc.jsonValue({ maxDepth: 1 }),
            nonce: fc.jsonValue({ maxDepth: 1 }),
            ts: fc.jsonValue({ maxDepth: 1 }),
            hmac: fc.string(),
            requestJson: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        )
        .map((m) => JSON.stringify(m)),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    const reasons = new Set(['invalid', 'json', 'security=deny', 'ttl', 'hmac']);
    await fc.assert(
      fc.asyncProperty(message, async (line) => {
        const reply = await exchange(`${line.replace(/\n/g, ' ')}\n`);
        if (reply === '') return true;
        const lines = reply.split('\n').filter(Boolean);
        if (lines.length !== 1) return false;
        const parsed = JSON.parse(lines[0]) as {
          type: string;
          ok?: boolean;
          error?: { code: string; reason?: string };
          decision?: string;
        };
        if (parsed.type === 'decision') return parsed.decision === 'deny';
        return (
          parsed.type === 'exec-res' &&
          parsed.ok === false &&
          ['INVALID_REQUEST', 'UNAVAILABLE'].includes(parsed.error!.code) &&
          reasons.has(parsed.error!.reason!)
        );
      }),
      params(150, 10),
    );
    t.equal(host.stats.executed, 0, 'nothing ran (security=deny)');
    const nonce = crypto.randomBytes(16).toString('hex');
    const ts = Date.now();
    const json = JSON.stringify({ command: ['true'] });
    const alive = await exchange(
      `${JSON.stringify({ type: 'exec', id: 'x', nonce, ts, hmac: signExecRequest(token, nonce, ts, json), requestJson: json })}\n`,
    );
    t.match(
      JSON.parse(alive),
      { type: 'exec-res', ok: false, error: { reason: 'security=deny' } },
      'the host still answers',
    );
  },
);
