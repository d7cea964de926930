// The one loopback check: every place that asks "is this loopback?" (mode none's bind check, the
// Gateway's local-client test, the auth rate limiter's exemption, `up --host`) uses isLoopbackAddress.
import t from 'tap';

import { isLoopbackAddress } from '../../lib/common/loopback.js';
import { AuthRateLimiter } from '../../lib/gateway/auth-rate-limit.js';
import { defaultIsLocal } from '../../lib/gateway/server.js';

const LOOPBACK = [
  '127.0.0.1',
  '127.255.255.254',
  '127.1.2.3',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '::ffff:127.0.0.1',
  '::FFFF:127.9.8.7',
  '[::ffff:127.0.0.1]',
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:7f00:0001',
  'localhost',
  ' LocalHost ',
];
// undefined: a peer whose address the socket could not tell.
const NOT_LOOPBACK = [
  '128.0.0.1',
  '10.0.0.1',
  '0.0.0.0',
  '::',
  '::2',
  '::ffff:10.0.0.1',
  '::ffff:8.8.8.8',
  '::ffff:8000:1',
  '::127.0.0.1',
  '1127.0.0.1',
  '127.0.0.1.evil.example',
  'localhost.evil.example',
  'fe80::1%lo',
  '',
  'evil',
];

t.test('isLoopbackAddress: IPv4 127/8, ::1, IPv4-mapped IPv6, localhost; nothing else', async (t) => {
  for (const a of LOOPBACK) t.equal(isLoopbackAddress(a), true, `${JSON.stringify(a)} is loopback`);
  for (const a of NOT_LOOPBACK) t.equal(isLoopbackAddress(a), false, `${JSON.stringify(a)} is not`);
  t.equal(isLoopbackAddress(undefined), false, 'an unknown peer is not');
});

t.test('the Gateway local-client check and the rate limiter agree on IPv4-mapped loopback', async (t) => {
  const local = (remoteAddress: string) =>
    defaultIsLocal({ remoteAddress, localPort: 18789, headers: { host: '127.0.0.1:18789' } });
  t.equal(local('::ffff:127.0.0.1'), true, 'mapped peer is local');
  t.equal(local('::ffff:7f00:1'), true, 'hex-mapped peer is local');
  t.equal(local('::ffff:10.0.0.1'), false);
  const limiter = new AuthRateLimiter({ maxAttempts: 1 });
  for (let i = 0; i < 3; i++) limiter.recordFailure('::ffff:127.0.0.1');
  t.equal(limiter.retryAfterMs('::ffff:127.0.0.1'), 0, 'a mapped loopback client is exempt like 127.0.0.1');
  for (let i = 0; i < 3; i++) limiter.recordFailure('::ffff:10.0.0.1');
  t.ok(limiter.retryAfterMs('::ffff:10.0.0.1') > 0, 'a mapped remote client is not');
});
