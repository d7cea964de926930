// A program (run inside a network namespace by tests): `auth-attempts.ts <wss-url> <sha256-pin> <count>`
// with the token in $ATTEMPT_TOKEN: opens `count` operator sessions one after another, each presenting that
// token, and prints one JSON array: per attempt "ok" or the Gateway's error message.
import { GatewayClient } from '../../lib/client/gateway-client.js';

const [url, pin, countText] = process.argv.slice(2);
const results: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  const client = new GatewayClient({
    url: url!,
    role: 'operator',
    token: process.env.ATTEMPT_TOKEN,
    scopes: ['operator.read'],
    tlsFingerprint: pin,
    client: { id: 'cli', mode: 'backend', version: '0.1.0', platform: process.platform },
    reconnect: false,
    connectTimeoutMs: 10_000,
  });
  try {
    await client.start();
    results.push('ok');
  } catch (err) {
    results.push((err as Error).message);
  } finally {
    await client.close();
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
