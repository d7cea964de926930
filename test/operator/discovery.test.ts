// Bonjour advertising and `openclaw-mac discover` across two network namespaces joined by a veth pair:
// four Gateways run in namespace A (minimal, full, disabled by env, off by config); one discover run in
// namespace B must list exactly the two that advertise, with upstream's TXT-derived fields. The decision
// rules (loopback never advertised, env/mode switches) and the beacon mapping are checked directly too.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { mdnsHostname } from '../../lib/common/mdns-hostname.js';
import { bonjourSkipReason, gatewayTxt } from '../../lib/gateway/bonjour.js';
import { startGateway } from '../../lib/gateway/index.js';
import { toDiscoveredGateway } from '../../lib/client/discovery.js';
import { configuredMdnsMode } from '../../lib/common/openclaw-config.js';
import { createNetnsPair, netnsAvailable } from '../helpers/netns.js';
import { cliArgv, firstJsonLine, repo } from '../helpers/operator-cli.js';

t.setTimeout(180_000);

t.test('advertising decision', async (t) => {
  t.match(bonjourSkipReason({ mode: 'minimal', bindHost: '127.0.0.1', env: {} }), /loopback/);
  t.match(bonjourSkipReason({ mode: 'full', bindHost: '::1', env: {} }), /loopback/);
  t.match(bonjourSkipReason({ mode: 'off', bindHost: '0.0.0.0', env: {} }), /mode is off/);
  t.match(
    bonjourSkipReason({ mode: 'minimal', bindHost: '0.0.0.0', env: { OPENCLAW_DISABLE_BONJOUR: '1' } }),
    /OPENCLAW_DISABLE_BONJOUR/,
  );
  t.equal(
    bonjourSkipReason({ mode: 'minimal', bindHost: '0.0.0.0', env: { OPENCLAW_DISABLE_BONJOUR: '0' } }),
    undefined,
  );
  t.equal(bonjourSkipReason({ mode: 'minimal', bindHost: '10.1.2.3', env: {} }), undefined);
  t.same(configuredMdnsMode({}), { mode: 'minimal', source: 'default' });
  t.same(configuredMdnsMode({ discovery: { mdns: { mode: 'full' } }, gateway: { mdns: { mode: 'off' } } }), {
    mode: 'full',
    source: 'discovery.mdns.mode',
  });
  t.same(configuredMdnsMode({ gateway: { mdns: { mode: 'off' } } }), { mode: 'off', source: 'gateway.mdns.mode' });
  t.equal(configuredMdnsMode({ discovery: { mdns: { mode: 'loud' } } }).mode, 'minimal');
  t.equal(mdnsHostname({ OPENCLAW_MDNS_HOSTNAME: 'Box-1.example.com' }), 'Box-1');
  t.equal(mdnsHostname({ OPENCLAW_MDNS_HOSTNAME: 'bad_name!' }), 'openclaw');

  // A real Gateway on loopback with mode minimal: running, and not advertised (no mDNS socket opened).
  const stateDir = t.testdir();
  const gw = await startGateway({
    host: '127.0.0.1',
    port: 0,
    stateDir,
    token: 'tok-0123456789',
    env: {},
    mdns: 'minimal',
  });
  t.teardown(() => gw.close());
  t.equal(gw.discovery.advertising, false);
  t.match(gw.discovery, { reason: /loopback/ });
});

t.test('TXT records: minimal vs full, as upstream', async (t) => {
  const env = {
    OPENCLAW_SSH_PORT: '2222',
    OPENCLAW_CLI_PATH: '/opt/bin/openclaw-ipc',
    OPENCLAW_TAILNET_DNS: 'box.ts.net.',
  };
  t.same(gatewayTxt('minimal', 18789, 'box', env), {
    role: 'gateway',
    gatewayPort: '18789',
    lanHost: 'box.local',
    displayName: 'box',
    gatewayDirectReachable: '1',
    transport: 'gateway',
  });
  t.same(gatewayTxt('full', 18789, 'box', env), {
    role: 'gateway',
    gatewayPort: '18789',
    lanHost: 'box.local',
    displayName: 'box',
    gatewayDirectReachable: '1',
    tailnetDns: 'box.ts.net',
    cliPath: '/opt/bin/openclaw-ipc',
    transport: 'gateway',
    sshPort: '2222',
  });
  t.equal(gatewayTxt('full', 1, 'box', {}).sshPort, '22', 'sshPort defaults to 22 in full mode');
  const fingerprint = 'ab'.repeat(32);
  t.match(
    gatewayTxt('minimal', 1, 'box', {}, fingerprint),
    { gatewayTls: '1', gatewayTlsSha256: fingerprint },
    'TLS is advertised with its fingerprint',
  );
  t.notOk('gatewayTls' in gatewayTxt('minimal', 1, 'box', {}), 'no gatewayTls without TLS');
});

t.test('beacon mapping: upstream entry fields and local filtering', async (t) => {
  const local = new Set(['thishost']);
  const remote = toDiscoveredGateway(
    {
      name: 'other (OpenClaw)',
      host: 'other.local',
      port: 4000,
      addresses: ['10.0.0.9', 'fe80::1'],
      txt: { displayName: 'other', lanHost: 'other.local', gatewayPort: '4000', sshPort: 'x', gatewayTls: 'true' },
    },
    local,
  );
  t.match(remote, {
    displayName: 'other',
    lanHost: 'other.local',
    sshPort: 22,
    gatewayPort: 4000,
    gatewayTls: true,
    gatewayDirectReachable: false,
    stableID: '_openclaw-gw._tcp|local.|other (OpenClaw)',
    debugID: 'other (OpenClaw)@other.local:4000',
    isLocal: false,
    wsUrl: 'wss://10.0.0.9:4000',
  });
  t.notOk('cliPath' in remote, 'absent TXT keys are absent, not null');
  const mine = toDiscoveredGateway({ name: 'ThisHost (OpenClaw)', host: 'x.local', port: 1, txt: {} }, local);
  t.equal(mine.isLocal, true, 'the service name matches this host');
  t.equal(mine.displayName, 'ThisHost');
});

const netns = netnsAvailable();

t.test(
  'discover across namespaces finds exactly the Gateways that advertise',
  { skip: !netns.ok && netns.reason },
  async (t) => {
    const pair = await createNetnsPair(t);
    // Beyond loopback a Gateway needs TLS (issue 11): each serves wss:// and advertises gatewayTls.
    const gateways = [
      { host: 'gw-minimal', env: {}, config: {} },
      { host: 'gw-full', env: { OPENCLAW_SSH_PORT: '2022' }, config: { discovery: { mdns: { mode: 'full' } } } },
      { host: 'gw-envoff', env: { OPENCLAW_DISABLE_BONJOUR: '1' }, config: {} },
      { host: 'gw-cfgoff', env: {}, config: { discovery: { mdns: { mode: 'off' } } } },
    ];
    const root = t.testdir();
    const ready = await Promise.all(
      gateways.map(async (g) => {
        const stateDir = fs.mkdtempSync(path.join(root, `${g.host}-`));
        fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify(g.config), { mode: 0o600 });
        const child = pair.a.spawn(
          cliArgv('main', ['gateway', '--bind', 'lan', '--tls', '--port', '0', '--json', '--state-dir', stateDir]),
          {
            cwd: repo,
            env: {
              PATH: process.env.PATH,
              HOME: stateDir,
              OPENCLAW_MDNS_HOSTNAME: g.host,
              OPENCLAW_GATEWAY_TOKEN: 'tok-0123456789',
              ...g.env,
            },
          },
        );
        return {
          ...g,
          info: await firstJsonLine<{
            port: number;
            discovery: { advertising: boolean };
            tls: { fingerprintSha256: string } | null;
          }>(child),
        };
      }),
    );
    t.same(
      ready.map((g) => g.info.discovery.advertising),
      [true, true, false, false],
      'the Gateways report what they advertise',
    );
    const result = await pair.b.run(cliArgv('mac', ['discover', '--json', '--timeout', '3000']), {
      cwd: repo,
      env: { PATH: process.env.PATH, OPENCLAW_MDNS_HOSTNAME: 'viewer' },
    });
    t.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      count: number;
      includeLocal: boolean;
      timeoutMs: number;
      gateways: Array<Record<string, unknown>>;
    };
    t.match(out, { status: 'Searching…', timeoutMs: 3000, includeLocal: false, count: 2 });
    const byName = Object.fromEntries(out.gateways.map((g) => [g.displayName, g]));
    t.same(Object.keys(byName).sort(), ['gw-full', 'gw-minimal']);
    t.match(byName['gw-minimal'], {
      lanHost: 'gw-minimal.local',
      sshPort: 22,
      gatewayPort: ready[0]!.info.port,
      gatewayDirectReachable: true,
      gatewayTls: true,
      stableID: '_openclaw-gw._tcp|local.|gw-minimal (OpenClaw)',
      isLocal: false,
      addresses: [pair.a.address],
      wsUrl: `wss://${pair.a.address}:${ready[0]!.info.port}`,
    });
    t.match(ready[0]!.info.tls?.fingerprintSha256, /^[0-9a-f]{64}$/);
    t.notOk('cliPath' in byName['gw-minimal']!, 'minimal mode publishes no cliPath');
    t.match(byName['gw-full'], { sshPort: 2022, gatewayPort: ready[1]!.info.port, cliPath: /main\.(ts|js)$/ });
  },
);
