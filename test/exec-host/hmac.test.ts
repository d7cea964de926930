import t from 'tap';

import { newNonce, newSocketToken, signExecRequest, verifyExecRequest } from '../../lib/exec-host/hmac.js';

const v1 = {
  token: 'tok',
  nonce: '00ff',
  ts: 1700000000000,
  requestJson: '{"command":["echo","hi"]}',
  hmac: '6bb23dfad84b79408dbb4969bd8e7a083b003768752f39e66244f0b1d0349b9c',
};
const v2 = {
  token: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYX',
  nonce: '000102030405060708090a0b0c0d0e0f',
  ts: 1795318392652,
  requestJson:
    '{"command":["/bin/echo","hi"],"rawCommand":null,"cwd":null,"env":null,"timeoutMs":null,"needsScreenRecording":null,"agentId":"main",' +
    '"sessionKey":null,"approvalDecision":null}',
  hmac: '3352037aee7c4508171a70fa3221bacf514bf4e86998442e9526513704b3500f',
};

t.test('spec test vectors', async (t) => {
  t.equal(signExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson), v1.hmac);
  t.equal(signExecRequest(v2.token, v2.nonce, v2.ts, v2.requestJson), v2.hmac);
  t.ok(verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, v1.hmac));
  t.ok(verifyExecRequest(v2.token, v2.nonce, v2.ts, v2.requestJson, v2.hmac));
});

t.test('rejections: uppercase, decoded-key MAC, altered body, wrong length, empty', async (t) => {
  t.notOk(
    verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, v1.hmac.toUpperCase()),
    'uppercase hex rejected',
  );
  t.notOk(
    verifyExecRequest(
      v2.token,
      v2.nonce,
      v2.ts,
      v2.requestJson,
      '9f4da06e87127e7d86bb3f762586a9f2b7f1c182c57d1c459820d179037457fc',
    ),
    'MAC keyed with the decoded token rejected',
  );
  t.notOk(
    verifyExecRequest(v1.token, v1.nonce, v1.ts, '{"command": ["echo","hi"]}', v1.hmac),
    'whitespace change in requestJson rejected',
  );
  t.notOk(verifyExecRequest(v1.token, v1.nonce, v1.ts + 1, v1.requestJson, v1.hmac), 'ts is covered');
  t.notOk(verifyExecRequest(v1.token, '00fe', v1.ts, v1.requestJson, v1.hmac), 'nonce is covered');
  t.notOk(verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, v1.hmac.slice(0, 63)), 'short MAC');
  t.notOk(verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, ''), 'empty MAC');
  t.notOk(verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, `${v1.hmac}00`), 'long MAC');
  t.notOk(verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, 'z'.repeat(64)), 'non-hex MAC');
  t.notOk(
    verifyExecRequest(v1.token, v1.nonce, v1.ts, v1.requestJson, 'é'.repeat(32)),
    'multibyte MAC of equal char length',
  );
});

// The string compare itself is tested in test/common/constant-time.test.ts.
t.test('generators', async (t) => {
  const token = newSocketToken();
  t.match(token, /^[A-Za-z0-9_-]{32}$/);
  t.equal(Buffer.from(token, 'base64url').length, 24);
  t.match(newNonce(), /^[0-9a-f]{32}$/);
  t.not(newSocketToken(), token);
});
