// One definition each: the Gateway's default address and URL form, and the longest timeout accepted.
import t from 'tap';

import * as cliRun from '../../lib/cli/run.js';
import * as policy from '../../lib/exec-host/policy.js';
import {
  DEFAULT_GATEWAY_HOST,
  DEFAULT_GATEWAY_PORT,
  MAX_TIMEOUT_MS,
  gatewayWsUrl,
} from '../../lib/protocol/constants.js';

t.test('gatewayWsUrl: defaults, IPv6 literals bracketed once', async (t) => {
  t.equal(gatewayWsUrl(), `ws://${DEFAULT_GATEWAY_HOST}:${DEFAULT_GATEWAY_PORT}/`);
  t.equal(gatewayWsUrl(undefined, 1234), 'ws://127.0.0.1:1234/');
  t.equal(gatewayWsUrl('::1', 1), 'ws://[::1]:1/');
  t.equal(gatewayWsUrl('[::1]', 1), 'ws://[::1]:1/');
  t.equal(gatewayWsUrl('gw.local'), 'ws://gw.local:18789/');
});

t.test('MAX_TIMEOUT_MS is one value everywhere it is used', async (t) => {
  t.equal(MAX_TIMEOUT_MS, 24 * 60 * 60 * 1000, 'a day');
  t.equal(policy.MAX_TIMEOUT_MS, MAX_TIMEOUT_MS, 'exec-host policy cap');
  t.equal(cliRun.MAX_TIMEOUT_MS, MAX_TIMEOUT_MS, 'CLI --timeout cap');
  t.throws(() => cliRun.positiveIntOption(String(MAX_TIMEOUT_MS + 1), '--timeout'), { code: 'ERR_USAGE' });
});
