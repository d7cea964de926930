// Property-based tests (issue 7) of the PeekabooBridge envelope, both directions, against Swift's synthesized
// enum decoding (SE-0295 + JSONDecoder): a message decodes when exactly one of its top-level keys names a
// case of the enum; keys naming no case are ignored; the case's value must be an object; payload cases need
// `_0`. Our decoders never throw for any bytes, and agree with that rule for every generated message.
import fc from 'fast-check';
import t from 'tap';

import {
  BRIDGE_OPERATIONS,
  BRIDGE_RESPONSE_CASES,
  BridgeError,
  decodeRequest,
  decodeResponse,
  encodeCase,
  encodeRequest,
  operationHasNoPayload,
} from '../../lib/bridge/index.js';
import { params as fuzzParams } from '../helpers/fuzz.js';

/** Wire case names of requests: handshake plus every operation (the probe's case is `appleScriptProbe`). */
const REQUEST_CASES = [
  'handshake',
  ...Object.keys(BRIDGE_OPERATIONS).map((op) => (op === '_appleScriptProbe' ? 'appleScriptProbe' : op)),
];
const caseSet = new Set([...REQUEST_CASES, ...BRIDGE_RESPONSE_CASES]);

const payload = fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null);
/** Keys that name no case (Swift ignores them), including ones that are dangerous in JS. */
const foreignKey = fc
  .oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', '_0', 'x', 'Ok', 'OK'))
  .filter((k) => !caseSet.has(k));
const foreign = fc.dictionary(foreignKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const requestCase = fc.constantFrom(...REQUEST_CASES);

/** A JSON object text with `known` first and the foreign keys after, without JSON.stringify's __proto__ quirk. */
function objectText(entries: Array<[string, unknown]>): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

/** What a decoder hands on: the value without `__proto__`/`constructor`/`prototype` keys (they are dropped). */
const dropped = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : v,
  );

const opOf = (caseName: string): string => (caseName === 'appleScriptProbe' ? '_appleScriptProbe' : caseName);

t.test('decoders never throw for arbitrary bytes (host) and throw only BridgeError (client)', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      const result = decodeRequest(bytes);
      if (!result.ok && result.error.code !== 'decodingFailed') return false;
      try {
        decodeResponse(bytes);
      } catch (err) {
        return err instanceof BridgeError;
      }
      return true;
    }),
    fuzzParams(500),
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const bytes = Buffer.from(JSON.stringify(value));
      const result = decodeRequest(bytes);
      return result.ok || result.error.code === 'decodingFailed';
    }),
    fuzzParams(300),
  );
  t.pass('typed outcomes only');
});

t.test('host: exactly one case key decodes, unknown keys are ignored, as in Swift', async (t) => {
  fc.assert(
    fc.property(requestCase, payload, foreign, fc.boolean(), (caseName, value, extra, extraFirst) => {
      const op = opOf(caseName);
      const noPayload = caseName !== 'handshake' && operationHasNoPayload(op);
      const body = noPayload ? {} : { _0: value };
      const entries: Array<[string, unknown]> = Object.entries(extra);
      const all: Array<[string, unknown]> = extraFirst
        ? [...entries, [caseName, body]]
        : [[caseName, body], ...entries];
      const alone = decodeRequest(encodeRequest(op, noPayload ? undefined : value));
      const withExtra = decodeRequest(Buffer.from(objectText(all)));
      return alone.ok && withExtra.ok && JSON.stringify(alone.request) === JSON.stringify(withExtra.request);
    }),
    fuzzParams(400),
  );
  fc.assert(
    fc.property(requestCase, requestCase, foreign, (a, b, extra) => {
      fc.pre(a !== b);
      const text = objectText([[a, {}], [b, {}], ...Object.entries(extra)]);
      const result = decodeRequest(Buffer.from(text));
      return !result.ok && result.error.code === 'decodingFailed';
    }),
    fuzzParams(200),
  );
  fc.assert(
    fc.property(foreign, (extra) => !decodeRequest(Buffer.from(objectText(Object.entries(extra)))).ok),
    fuzzParams(200),
  );
  fc.assert(
    fc.property(
      requestCase,
      fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string(), fc.array(fc.nat())),
      (c, v) => {
        return !decodeRequest(Buffer.from(objectText([[c, v]]))).ok;
      },
    ),
    fuzzParams(200),
  );
  t.pass('Swift rule holds for requests');
});

t.test('client: responses follow the same rule; our encoder round-trips', async (t) => {
  const responseCase = fc.constantFrom(...BRIDGE_RESPONSE_CASES.filter((c) => c !== 'error'));
  fc.assert(
    fc.property(responseCase, payload, foreign, (caseName, value, extra) => {
      const plain = decodeResponse(encodeCase(caseName, value));
      const text = objectText([...Object.entries(extra), [caseName, { _0: value }]]);
      const withExtra = decodeResponse(Buffer.from(text));
      return (
        plain.case === caseName &&
        JSON.stringify(plain.value) === JSON.stringify(dropped(value)) &&
        JSON.stringify(withExtra) === JSON.stringify(plain)
      );
    }),
    fuzzParams(300),
  );
  fc.assert(
    fc.property(responseCase, responseCase, (a, b) => {
      fc.pre(a !== b);
      try {
        decodeResponse(
          Buffer.from(
            objectText([
              [a, {}],
              [b, {}],
            ]),
          ),
        );
        return false;
      } catch (err) {
        return err instanceof BridgeError && err.bridgeCode === 'decodingFailed';
      }
    }),
    fuzzParams(200),
  );
  t.pass('Swift rule holds for responses');
});

// The review's example and the shrunk counterexamples found while writing these properties.
t.test('regression cases', async (t) => {
  t.same(decodeRequest(Buffer.from('{"permissionsStatus":{},"x":1}')), {
    ok: true,
    request: { op: 'permissionsStatus' },
  });
  t.same(decodeRequest(Buffer.from('{"x":1,"permissionsStatus":{}}')), {
    ok: true,
    request: { op: 'permissionsStatus' },
  });
  t.same(decodeRequest(Buffer.from('{"__proto__":{"a":1},"permissionsStatus":{}}')), {
    ok: true,
    request: { op: 'permissionsStatus' },
  });
  t.same(decodeRequest(Buffer.from('{"permissionsStatus":{"junk":1}}')), {
    ok: true,
    request: { op: 'permissionsStatus' },
  });
  t.equal(decodeRequest(Buffer.from('{"x":1}')).ok, false, 'an unknown key alone');
  t.equal(decodeRequest(Buffer.from('{"_appleScriptProbe":{}}')).ok, false, 'the op name is not a case name');
  t.equal(decodeRequest(Buffer.from('{"permissionsStatus":{},"permissionsStatus":{}}')).ok, false, 'duplicates');
  t.same(decodeResponse(Buffer.from('{"ok":{},"future":1}')), { case: 'ok' });
  // Shrunk by fast-check: an own "__proto__" key inside a payload is dropped, not kept or merged.
  t.same(decodeResponse(Buffer.from('{"handshake":{"_0":[{"":{"__proto__":0}}]}}')), {
    case: 'handshake',
    value: [{ '': {} }],
  });
  t.throws(() => decodeResponse(Buffer.from('{"future":{}}')), BridgeError, 'an unknown response case alone');
});
