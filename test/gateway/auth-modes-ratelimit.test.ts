/* eslint-disable @typescript-eslint/no-explicit-any -- wire frames are untyped JSON; tests read them field by field */
// Lockout after repeated wrong shared secrets (upstream defaults 10 / 60 s → 5 min, loopback exempt):
// the limiter on an injected clock, then over real sockets with the loopback exemption turned off.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { GatewayClient } from '../../lib/client/gateway-client.js';
import { AuthRateLimiter } from '../../lib/gateway/auth-rate-limit.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../lib/gateway/index.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import { RawClient, connectParams, tempStateDir, type ConnectOptions, type Tap } from '../helpers/gateway.js';

const PASSWORD = 'rate-limit-pw';

async function gateway(t: Tap, options: GatewayOptions = {}): Promise<GatewayHandle> {
  const stateDir = tempStateDir(t);
  fs.writeFileSync(
    path.join(stateDir, 'openclaw.json'),
    JSON.stringify({ gateway: { auth: { password: PASSWORD } } }),
    { mode: 0o600 },
  );
  const gw = await startGateway({ port: 0, stateDir, env: {}, ...options });
  t.teardown(() => gw.close());
  return gw;
}

async function connectWith(
  gw: { url: string },
  auth: Record<string, unknown>,
  opts: ConnectOptions = {},
): Promise<{ client: RawClient; res: any }> {
  const client = await RawClient.open(gw.url);
  const challenge = (await client.event('connect.challenge')) as any;
  const identity = opts.identity === undefined ? generateDeviceIdentity() : opts.identity;
  const params = connectParams(challenge.payload.nonce, challenge.payload.ts, '', {
    role: 'node',
    ...opts,
    identity,
    token: null,
    deviceToken: auth.deviceToken as string | undefined,
  });
  params.auth = auth;
  return { client, res: await client.request('connect', params) };
}

t.test('limiter: window, lockout, expiry, reset, loopback exemption, IPv4-mapped addresses, bounded table', (t) => {
  let now = 1_000_000;
  const limiter = new AuthRateLimiter({ maxAttempts: 3, windowMs: 1_000, lockoutMs: 5_000 }, () => now);
  limiter.recordFailure('10.0.0.1');
  limiter.recordFailure('10.0.0.1');
  now += 1_500;
  limiter.recordFailure('10.0.0.1');
  t.equal(limiter.retryAfterMs('10.0.0.1'), 0, 'failures outside the window do not count');
  limiter.recordFailure('::ffff:10.0.0.1');
  limiter.recordFailure('10.0.0.1');
  t.equal(limiter.retryAfterMs('10.0.0.1'), 5_000, 'three within the window lock the IP (mapped form is the same IP)');
  t.equal(limiter.retryAfterMs('10.0.0.2'), 0, 'other IPs are unaffected');
  now += 4_999;
  limiter.recordFailure('10.0.0.1');
  t.equal(limiter.retryAfterMs('10.0.0.1'), 1, 'failures while locked do not extend the lockout');
  now += 1;
  t.equal(limiter.retryAfterMs('10.0.0.1'), 0, 'the lockout expires');
  limiter.recordFailure('10.0.0.1');
  limiter.recordFailure('10.0.0.1');
  limiter.reset('10.0.0.1');
  limiter.recordFailure('10.0.0.1');
  t.equal(limiter.retryAfterMs('10.0.0.1'), 0, 'a success clears the count');
  for (let i = 0; i < 10; i++) limiter.recordFailure('127.0.0.1');
  for (let i = 0; i < 10; i++) limiter.recordFailure('::1');
  t.equal(limiter.retryAfterMs('127.0.0.1') + limiter.retryAfterMs('::1'), 0, 'loopback is exempt by default');

  const small = new AuthRateLimiter({ maxAttempts: 1, maxEntries: 3 }, () => now);
  small.recordFailure('10.1.0.1');
  for (let i = 2; i <= 50; i++) small.recordFailure(`10.2.0.${i}`);
  t.equal(small.size, 3, 'never more than maxEntries IPs tracked');
  t.end();
});

t.test(
  'over the wire: wrong passwords lock the IP out, even the right one is refused, device tokens still work',
  async (t) => {
    const gw = await gateway(t, { authRateLimit: { maxAttempts: 3, exemptLoopback: false, lockoutMs: 10 * 60_000 } });
    const identity = generateDeviceIdentity();
    const paired = await connectWith(gw, { password: PASSWORD }, { identity });
    const deviceToken = paired.res.payload.auth.deviceToken as string;
    paired.client.close();

    for (let i = 0; i < 3; i++)
      t.match(
        (await connectWith(gw, { password: `wrong-${i}` })).res.error.details,
        { code: 'AUTH_PASSWORD_MISMATCH' },
        `wrong password ${i + 1}`,
      );
    const locked = await connectWith(gw, { password: PASSWORD });
    const message = 'unauthorized: too many failed authentication attempts (retry later)';
    t.same(
      locked.res.error,
      {
        code: 'INVALID_REQUEST',
        message,
        details: {
          code: 'AUTH_RATE_LIMITED',
          authReason: 'rate_limited',
          canRetryWithDeviceToken: false,
          recommendedNextStep: 'wait_then_retry',
        },
      },
      'the right password is refused while locked out',
    );
    t.same(await locked.client.closed, { code: 1008, reason: message });

    const byDevice = await connectWith(gw, { deviceToken }, { identity });
    t.equal(byDevice.res.ok, true, 'a paired device with its device token is not locked out by shared-secret failures');
  },
);

t.test('over the wire: a success clears the count; loopback clients are exempt by default', async (t) => {
  const counted = await gateway(t, { authRateLimit: { maxAttempts: 3, exemptLoopback: false } });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 2; i++)
      t.match((await connectWith(counted, { password: 'nope' })).res.error.details, { code: 'AUTH_PASSWORD_MISMATCH' });
    t.equal(
      (await connectWith(counted, { password: PASSWORD })).res.ok,
      true,
      `round ${round}: two failures then the right password`,
    );
  }

  const defaults = await gateway(t);
  for (let i = 0; i < 12; i++)
    t.match((await connectWith(defaults, { password: 'nope' })).res.error.details, { code: 'AUTH_PASSWORD_MISMATCH' });
  t.equal(
    (await connectWith(defaults, { password: PASSWORD })).res.ok,
    true,
    'a local CLI with a stale password is never locked out',
  );
});

t.test(
  "a client with the right password, locked out by others' failures, keeps retrying and gets in after the lockout",
  async (t) => {
    const gw = await gateway(t, { authRateLimit: { maxAttempts: 2, exemptLoopback: false, lockoutMs: 1_000 } });
    for (let i = 0; i < 2; i++) await connectWith(gw, { password: 'attacker-guess' });
    t.match(
      (await connectWith(gw, { password: PASSWORD })).res.error.details,
      { code: 'AUTH_RATE_LIMITED' },
      'locked now',
    );
    const node = new GatewayClient({
      url: gw.url,
      role: 'node',
      password: PASSWORD,
      identity: generateDeviceIdentity(),
      stateDir: tempStateDir(t),
      scopes: [],
      client: { id: 'node-host', mode: 'node', version: '0.0.1', platform: 'linux' },
      reconnect: { initialDelayMs: 100, maxDelayMs: 300 },
    });
    t.teardown(() => node.close());
    const hello = await node.start();
    t.match(
      hello.auth,
      { method: 'password' },
      'AUTH_RATE_LIMITED is not fatal for the client: it connected once the lockout expired',
    );
  },
);
