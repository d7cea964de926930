/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Property-based tests (issue 7) of the Gateway's frame validators and its bounded JSON parser: they never
// throw, accept exactly the shapes of spec §2/§3.2, refuse hostile nesting, duplicate keys and oversized
// strings, and a real Gateway survives random frames before and after the handshake.
import fc from 'fast-check';
import t from 'tap';

import { findDuplicateKey, parseBoundedJson } from '../../lib/common/bounded-json.js';
import { MAX_FRAME_JSON_DEPTH } from '../../lib/protocol/constants.js';
import {
  validateConnectParams,
  validateEventFrame,
  validateRequestFrame,
  validateResponseFrame,
} from '../../lib/protocol/frames.js';
import { params as fuzzParams } from '../helpers/fuzz.js';
import { RawClient, connectOk, startTestGateway } from '../helpers/gateway.js';

const VALIDATORS = { validateRequestFrame, validateResponseFrame, validateEventFrame, validateConnectParams };

/** Any JSON value, with object keys drawn partly from the frame vocabulary so that near-misses are common. */
const frameKey = fc.constantFrom('type', 'id', 'method', 'params', 'ok', 'payload', 'error', 'event', 'seq', 'code');
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(frameKey, fc.string()), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const id = fc.string({ minLength: 1, maxLength: 512 });
const requestFrame = fc.record(
  { type: fc.constant('req'), id, method: fc.string({ minLength: 1, maxLength: 256 }), params: jsonish },
  { requiredKeys: ['type', 'id', 'method'] },
);
const eventFrame = fc.record(
  {
    type: fc.constant('event'),
    event: fc.string({ minLength: 1, maxLength: 256 }),
    payload: jsonish,
    seq: fc.nat(),
    stateVersion: fc.record({ presence: fc.nat(), health: fc.nat() }),
  },
  { requiredKeys: ['type', 'event'] },
);

t.test('validators never throw and describe every refusal', async (t) => {
  fc.assert(
    fc.property(jsonish, (value) => {
      for (const validator of Object.values(VALIDATORS)) {
        const ok = validator.check(value);
        if (!ok && typeof validator.describe(value) !== 'string') return false;
      }
      return true;
    }),
    fuzzParams(300),
  );
  t.pass('no validator threw');
});

t.test('valid request and event frames pass; one foreign key, a wrong type or a lost field fails', async (t) => {
  fc.assert(
    fc.property(requestFrame, fc.string({ minLength: 1 }), (frame, extra) => {
      if (!validateRequestFrame.check(frame)) return false;
      const withExtra = { ...frame, [`x${extra}`]: 1 };
      const wrongType = { ...frame, type: 'res' };
      const { id: _id, ...noId } = frame;
      return (
        !validateRequestFrame.check(withExtra) &&
        !validateRequestFrame.check(wrongType) &&
        !validateRequestFrame.check(noId)
      );
    }),
    fuzzParams(300),
  );
  fc.assert(
    fc.property(eventFrame, fc.integer({ max: -1 }), (frame, negative) => {
      return validateEventFrame.check(frame) && !validateEventFrame.check({ ...frame, seq: negative });
    }),
    fuzzParams(200),
  );
  t.pass('the strict envelopes hold');
});

t.test('oversized strings are refused cheaply wherever the schema bounds them', async (t) => {
  const huge = 'x'.repeat(1 << 20);
  t.notOk(validateRequestFrame.check({ type: 'req', id: huge, method: 'health' }), 'id over 512');
  t.notOk(validateRequestFrame.check({ type: 'req', id: 'a', method: huge }), 'method over 256');
  const client = { id: 'cli', version: '1', platform: 'linux', mode: 'cli' };
  t.ok(validateConnectParams.check({ minProtocol: 4, maxProtocol: 4, client }));
  for (const field of ['version', 'platform', 'displayName']) {
    t.notOk(
      validateConnectParams.check({ minProtocol: 4, maxProtocol: 4, client: { ...client, [field]: huge } }),
      `client.${field} over 1024`,
    );
  }
  t.notOk(validateConnectParams.check({ minProtocol: 4, maxProtocol: 4, client, scopes: Array(2000).fill('s') }));
  t.notOk(validateConnectParams.check({ minProtocol: 4, maxProtocol: 4, client, auth: { token: huge } }));
});

t.test('bounded JSON: refuses exactly what is nested past the bound, never overflows', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3_000 }), fc.boolean(), (depth, objects) => {
      const open = objects ? '{"k":' : '[';
      const close = objects ? '}' : ']';
      const text = open.repeat(depth) + (objects ? '1' : '') + close.repeat(depth);
      try {
        const value = parseBoundedJson(text, { maxDepth: MAX_FRAME_JSON_DEPTH });
        JSON.stringify(value);
        return depth <= MAX_FRAME_JSON_DEPTH;
      } catch (err) {
        return (err as { code?: string }).code === 'ERR_JSON_TOO_DEEP' && depth > MAX_FRAME_JSON_DEPTH;
      }
    }),
    fuzzParams(300),
  );
  fc.assert(
    fc.property(fc.string(), (text) => {
      try {
        parseBoundedJson(text);
        return true;
      } catch (err) {
        return ['ERR_JSON_INVALID', 'ERR_JSON_TOO_DEEP', 'ERR_JSON_DUPLICATE_KEY'].includes((err as any).code);
      }
    }),
    fuzzParams(500),
  );
  t.pass('depth is exact, errors are typed');
});

t.test(
  'duplicate keys: found at any depth, also when one spelling is escaped; never in JSON.stringify output',
  async (t) => {
    fc.assert(
      fc.property(jsonish, (value) => findDuplicateKey(JSON.stringify(value) ?? 'null') === undefined),
      fuzzParams(300),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 8 }),
        jsonish,
        jsonish,
        fc.boolean(),
        fc.nat({ max: 3 }),
        (key, a, b, escape, depth) => {
          const spelled = escape
            ? `"${[...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(key);
          let text = `{${JSON.stringify(key)}:${JSON.stringify(a) ?? 'null'},${spelled}:${JSON.stringify(b) ?? 'null'}}`;
          for (let i = 0; i < depth; i++) text = `{"w${i}":[${text}]}`;
          return findDuplicateKey(text) === key && throwsCode(() => parseBoundedJson(text), 'ERR_JSON_DUPLICATE_KEY');
        },
      ),
      fuzzParams(300),
    );
    t.pass('duplicates are found');
  },
);

function throwsCode(fn: () => unknown, code: string): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return (err as { code?: string }).code === code;
  }
}

// Shrunk counterexamples found while writing these properties are kept here as plain cases.
t.test('regression cases', async (t) => {
  t.equal(findDuplicateKey('{"":0,"":1}'), '', 'the empty key');
  t.equal(findDuplicateKey('{"a":{"a":1},"b":{"a":2}}'), undefined, 'the same key in sibling objects');
  t.equal(findDuplicateKey('["a","a"]'), undefined, 'strings in an array are not keys');
  t.throws(() => parseBoundedJson('{"a\\"":1,"a\\u0022":2}'), { code: 'ERR_JSON_DUPLICATE_KEY' });
});

t.test('a real Gateway survives random frames before and after the handshake', async (t) => {
  const gw = await startTestGateway(t, { handshakeTimeoutMs: 5_000 });
  const op = (await connectOk(gw, { role: 'operator', clientId: 'cli', mode: 'cli', identity: null })).client;
  const frames = fc.oneof(
    jsonish.map((v) => JSON.stringify(v) ?? 'null'),
    requestFrame.map((f) => JSON.stringify(f)),
    fc.string(),
    fc.integer({ min: 1, max: 200 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  );
  const samples = fc.sample(frames, fuzzParams(60).numRuns);
  for (const text of samples) op.send(text);
  const health = await op.request('health', {}, 60_000);
  t.equal(health.ok, true, `${samples.length} random frames after the handshake: still answered`);
  for (const text of samples.slice(0, 20)) {
    const raw = await RawClient.open(gw.url);
    await raw.event('connect.challenge');
    raw.send(text);
    const closed = await raw.closed;
    t.ok([1008, 1009, 1002, 1000].includes(closed.code), `pre-auth: closed ${closed.code}`);
  }
  const again = (await connectOk(gw, { role: 'operator', clientId: 'cli', mode: 'cli', identity: null })).client;
  t.equal((await again.request('health', {})).ok, true, 'a new client is served');
});
