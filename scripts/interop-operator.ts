// Part 4 of `npm run test:interop`: the operator tools against the real openclaw@2026.9.6, across two network
// namespaces joined by a veth pair (test/helpers/netns.ts), each address on a bridge over its veth end: the
// real Gateway's mDNS responder (@homebridge/ciao, given no interface list) skips veth interfaces by name
// (see NetnsPairOptions.bridge) and would announce on loopback only. In namespace A run our Gateway and the
// real Gateway, both bound to the LAN address and advertising over mDNS; from namespace B:
//   - our `openclaw-mac discover --json` lists both;
//   - the real `openclaw gateway discover --json` lists ours (it browses with avahi-browse, so B gets a
//     private dbus-daemon + avahi-daemon in its own mount namespace: nothing on the host is touched);
// and in namespace A over loopback:
//   - `openclaw-mac connect --json` against the real Gateway (right token: ok; wrong token: exit 1 + its text);
//   - the real `openclaw approvals pending --json` against our Gateway.
import fs from 'node:fs';
import path from 'node:path';

import { createNetnsPair, netnsAvailable, type NetnsPair } from '../test/helpers/netns.js';
import { capture, ourCliArgv, ourCliIn, realOpenclawIn, until } from '../test/helpers/netns-launch.js';

export interface InteropDeps {
  repo: string;
  node24: string;
  openclawEntry: string;
  work: string;
  peerEnv(work: string, stateDir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  attempt(name: string, fn: () => Promise<string | void>): Promise<void>;
  check(name: string, ok: boolean, detail?: string): boolean;
  log(message: string): void;
  freePort(): Promise<number>;
}

/** The JSON document a CLI printed on stdout (from its first line that opens an object or array). */
function parseJson(text: string): unknown {
  const start = text.search(/^(\{|\[\s*$|\[\s*[{"\]])/m);
  return start >= 0 ? JSON.parse(text.slice(start)) : undefined;
}

const DBUS_CONF = (
  socket: string,
): string => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

/** dbus-daemon (not forked: it stays in the process group the rig kills) and avahi-daemon, in B's mount ns. */
const AVAHI_LAUNCH = [
  'mkdir -p /run/avahi-daemon',
  'mount -t tmpfs tmpfs /run/avahi-daemon',
  'dbus-daemon --config-file="$1/dbus.conf" --nofork --nopidfile &',
  'sleep 1',
  'exec avahi-daemon --no-chroot --no-drop-root --no-rlimits -f "$1/avahi.conf"',
].join('\n');

async function startAvahi(pair: NetnsPair, dir: string): Promise<{ env: NodeJS.ProcessEnv; output: () => string }> {
  const socket = path.join(dir, 'bus.sock');
  fs.writeFileSync(path.join(dir, 'dbus.conf'), DBUS_CONF(socket));
  fs.writeFileSync(
    path.join(dir, 'avahi.conf'),
    `[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=${pair.b.iface}\nenable-dbus=yes\n` +
      `[wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n`,
  );
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` };
  const child = pair.b.spawn(
    ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', AVAHI_LAUNCH, 'sh', dir],
    {
      env,
    },
  );
  const output = capture(child);
  await until('avahi-daemon joins the link', () => /Joining mDNS multicast group/.test(output()), 30_000, output);
  return { env, output };
}

export async function operatorToolsInterop(deps: InteropDeps): Promise<void> {
  const net = netnsAvailable();
  if (!net.ok) {
    deps.check('operator tools across namespaces', false, `cannot run: ${net.reason}`);
    return;
  }
  for (const tool of ['avahi-daemon', 'avahi-browse', 'dbus-daemon', 'unshare']) {
    if (!fs.existsSync(`/usr/sbin/${tool}`) && !fs.existsSync(`/usr/bin/${tool}`)) {
      deps.check(
        'operator tools across namespaces',
        false,
        `${tool} is not installed (apt-get install avahi-daemon avahi-utils dbus)`,
      );
      return;
    }
  }
  const pair = await createNetnsPair(undefined, { bridge: true });
  try {
    const token = 'tok-interop-operator-0123456789';
    const dir = fs.mkdtempSync(path.join(deps.work, 'op-'));
    const ourState = path.join(dir, 'ours');
    const realState = path.join(dir, 'real');
    fs.mkdirSync(ourState, { mode: 0o700 });
    fs.mkdirSync(realState, { mode: 0o700 });
    const realPort = await deps.freePort();
    fs.writeFileSync(
      path.join(realState, 'openclaw.json'),
      JSON.stringify({
        gateway: {
          mode: 'local',
          bind: 'lan',
          port: realPort,
          auth: { mode: 'token', token },
          nodes: { pairing: { sshVerify: false } },
        },
        discovery: { mdns: { mode: 'minimal' } },
        // Its Bonjour plugin is on by default only on darwin (openclaw.plugin.json enabledByDefaultOnPlatforms).
        plugins: { entries: { bonjour: { enabled: true } } },
        update: { checkOnStart: false },
        telemetry: { enabled: false },
        models: { catalogRefresh: { enabled: false } },
        agents: { defaults: { heartbeat: { every: '0m' } } },
        tools: { exec: { notifyOnExit: false } },
      }),
      { mode: 0o600 },
    );
    deps.log(
      `namespaces ${pair.a.name} (${pair.a.address}) and ${pair.b.name} (${pair.b.address}); starting both Gateways in A`,
    );
    const ours = ourCliIn(
      pair.a,
      // a non-loopback bind needs TLS
      ['gateway', '--bind', 'lan', '--tls', '--port', '0', '--json', '--state-dir', ourState],
      { env: { PATH: process.env.PATH, HOME: dir, OPENCLAW_MDNS_HOSTNAME: 'ours-a', OPENCLAW_GATEWAY_TOKEN: token } },
    );
    const oursOut = capture(ours);
    await until('our Gateway ready', () => /"ready":true/.test(oursOut()), 60_000, oursOut);
    const readyLine = oursOut()
      .split('\n')
      .find((line) => line.startsWith('{"ready":true'));
    const ourPort = (JSON.parse(readyLine!) as { port: number }).port;
    const avahi = await startAvahi(pair, dir);
    const mac = (args: string[]): string[] => ourCliArgv(args, 'mac');

    await deps.attempt(
      'the real `openclaw gateway discover --json` (namespace B, avahi) lists our Gateway',
      async () => {
        const env = deps.peerEnv(deps.work, path.join(dir, 'viewer'), {
          ...avahi.env,
          PATH: `${path.dirname(deps.node24)}:${avahi.env.PATH}`,
        });
        let beacons: Array<{ instanceName?: string; displayName?: string; gatewayPort?: number; host?: string }> = [];
        let last = '';
        for (let i = 0; i < 4; i++) {
          const r = await pair.b.run(
            [deps.node24, deps.openclawEntry, 'gateway', 'discover', '--json', '--timeout', '5000'],
            { env, timeoutMs: 120_000 },
          );
          last = `exit ${r.code}: ${r.stdout.slice(0, 2000)} ${r.stderr.slice(-500)}`;
          beacons = ((parseJson(r.stdout) as { beacons?: typeof beacons }) ?? {}).beacons ?? [];
          if (beacons.some((b) => b.instanceName === 'ours-a (OpenClaw)')) break;
        }
        const mine = beacons.find((b) => b.instanceName === 'ours-a (OpenClaw)');
        if (!mine) throw new Error(`not listed; last run: ${last}; avahi: ${avahi.output().slice(-800)}`);
        if (mine.gatewayPort !== ourPort || mine.displayName !== 'ours-a')
          throw new Error(`wrong beacon: ${JSON.stringify(mine)}`);
        return JSON.stringify(mine).slice(0, 300);
      },
    );

    // Our lan Gateway serves wss:// only (a non-loopback bind needs TLS), on its 127.0.0.1 companion too. The
    // real CLI has no --tls-fingerprint flag: it pins gateway.remote.tlsFingerprint for gateway.remote.url
    // in remote mode, so that is the client config (as a user pointing it at a remote Gateway would write).
    const ourFingerprint = (JSON.parse(readyLine!) as { tls: { fingerprintSha256: string } }).tls.fingerprintSha256;
    const cliState = path.join(dir, 'cli-client');
    fs.mkdirSync(cliState, { mode: 0o700 });
    fs.writeFileSync(
      path.join(cliState, 'openclaw.json'),
      JSON.stringify({
        gateway: {
          mode: 'remote',
          remote: { url: `wss://127.0.0.1:${ourPort}`, token, tlsFingerprint: ourFingerprint },
        },
        update: { checkOnStart: false },
      }),
      { mode: 0o600 },
    );
    const realCli = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      pair.a.run([deps.node24, deps.openclawEntry, ...args], {
        env: deps.peerEnv(deps.work, cliState),
        timeoutMs: 120_000,
      });
    await deps.attempt('the real `openclaw approvals pending --json` against our wss:// Gateway (pinned)', async () => {
      const r = await realCli(['approvals', 'pending', '--json']);
      if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stdout.slice(0, 500)} ${r.stderr.slice(-800)}`);
      const listed = parseJson(r.stdout);
      if (listed === undefined) throw new Error(`no JSON: ${r.stdout.slice(0, 500)}`);
      return r.stdout.trim().slice(0, 300);
    });
    await deps.attempt('the real `openclaw approvals get --gateway --json` against our Gateway', async () => {
      const r = await realCli(['approvals', 'get', '--gateway', '--json']);
      if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stdout.slice(0, 500)} ${r.stderr.slice(-800)}`);
      const snapshot = parseJson(r.stdout) as { file?: unknown; hash?: unknown } | undefined;
      if (!snapshot || typeof snapshot !== 'object') throw new Error(`no JSON snapshot: ${r.stdout.slice(0, 500)}`);
      return r.stdout.trim().replace(/\s+/g, ' ').slice(0, 300);
    });
    await deps.attempt('the real `openclaw approvals resolve` of an unknown id: refused by our Gateway', async () => {
      const r = await realCli(['approvals', 'resolve', 'no-such-approval', 'deny', '--json']);
      const text = `${r.stdout} ${r.stderr}`;
      if (r.code === 0) throw new Error(`exit 0 for an unknown id: ${text.slice(0, 500)}`);
      // It asks approval.get first (upstream's method, served by ours): "approval not found", not "unknown method".
      if (!/approval not found/i.test(text) || /unknown method/i.test(text))
        throw new Error(`exit ${r.code}: ${text.slice(0, 800)}`);
      return `exit ${r.code}: ${text.trim().replace(/\s+/g, ' ').slice(0, 200)}`;
    });
    await deps.attempt('a wrong gateway.remote.tlsFingerprint keeps the real CLI out of our Gateway', async () => {
      const wrongState = path.join(dir, 'cli-wrong-pin');
      fs.mkdirSync(wrongState, { mode: 0o700 });
      fs.writeFileSync(
        path.join(wrongState, 'openclaw.json'),
        JSON.stringify({
          gateway: {
            mode: 'remote',
            remote: { url: `wss://127.0.0.1:${ourPort}`, token, tlsFingerprint: 'ab'.repeat(32) },
          },
          update: { checkOnStart: false },
        }),
        { mode: 0o600 },
      );
      const r = await pair.a.run([deps.node24, deps.openclawEntry, 'approvals', 'pending', '--json'], {
        env: deps.peerEnv(deps.work, wrongState),
        timeoutMs: 120_000,
      });
      if (r.code === 0) throw new Error(`exit 0 with a wrong pin: ${r.stdout.slice(0, 300)}`);
      return `exit ${r.code}: ${`${r.stdout} ${r.stderr}`.trim().replace(/\s+/g, ' ').slice(0, 200)}`;
    });
    // The real Gateway disables Bonjour in containers unless OPENCLAW_DISABLE_BONJOUR is explicitly 0.
    // Its hard-coded /tmp/openclaw* dirs get private tmpfs mounts: another run on this machine shares nothing.
    const real = realOpenclawIn(
      pair.a,
      'real-a',
      [
        deps.node24,
        deps.openclawEntry,
        'gateway',
        'run',
        '--port',
        String(realPort),
        '--bind',
        'lan',
        '--auth',
        'token',
        '--token',
        token,
      ],
      { env: deps.peerEnv(deps.work, realState, { OPENCLAW_DISABLE_BONJOUR: '0', OPENCLAW_MDNS_HOSTNAME: 'real-a' }) },
    );
    const realOut = capture(real);
    await until('the real Gateway ready', () => /http server listening/.test(realOut()), 300_000, realOut, real);
    await deps.attempt('our discover (namespace B) lists our Gateway and the real one (namespace A)', async () => {
      let seen: Array<{ displayName: string; gatewayPort?: number; addresses: string[] }> = [];
      // Up to ~60 s: the real Gateway's Bonjour plugin starts after its HTTP server, later still on a loaded box.
      for (let i = 0; i < 12; i++) {
        const r = await pair.b.run(mac(['discover', '--json', '--timeout', '4000']), {
          cwd: deps.repo,
          env: { PATH: process.env.PATH, OPENCLAW_MDNS_HOSTNAME: 'viewer-b' },
        });
        if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
        seen = (parseJson(r.stdout) as { gateways: typeof seen }).gateways;
        if (seen.some((g) => g.gatewayPort === realPort) && seen.some((g) => g.displayName === 'ours-a')) break;
      }
      const mine = seen.find((g) => g.displayName === 'ours-a');
      // Its instance name is the machine's display name (the host name), not OPENCLAW_MDNS_HOSTNAME: match the port.
      const theirs = seen.find((g) => g.gatewayPort === realPort);
      if (mine?.gatewayPort !== ourPort) throw new Error(`ours-a missing or wrong port: ${JSON.stringify(seen)}`);
      if (theirs?.gatewayPort !== realPort) {
        // Which side is at fault: does avahi in B (the real CLI's browser) see the real Gateway?
        const viaAvahi = await pair.b.run(
          [deps.node24, deps.openclawEntry, 'gateway', 'discover', '--json', '--timeout', '5000'],
          {
            env: deps.peerEnv(deps.work, path.join(dir, 'viewer'), {
              ...avahi.env,
              PATH: `${path.dirname(deps.node24)}:${avahi.env.PATH}`,
            }),
            timeoutMs: 120_000,
          },
        );
        throw new Error(
          `the real Gateway (port ${realPort}) missing: ${JSON.stringify(seen)}; the real Gateway's discovery lines: ${realOut()
            .split('\n')
            .filter((line) => /bonjour|mdns|discovery|ciao|advertis/i.test(line))
            .join(' | ')
            .slice(-1500)}; the real discover (avahi) in B: ${viaAvahi.stdout.replace(/\s+/g, ' ').slice(0, 1500)}`,
        );
      }
      return `ours-a:${mine.gatewayPort} at ${mine.addresses.join(',')}, ${theirs.displayName}:${theirs.gatewayPort} at ${theirs.addresses.join(',')}`;
    });

    // Until its sidecars are up it answers connects with "gateway starting; retry shortly".
    await until(
      'the real Gateway ready for clients',
      () => /\[gateway\] ready/.test(realOut()),
      300_000,
      realOut,
      real,
    );
    await deps.attempt('openclaw-mac connect --json against the real Gateway (loopback in A)', async () => {
      const env = { PATH: process.env.PATH, HOME: dir, OPENCLAW_STATE_DIR: path.join(dir, 'mac-client') };
      const ok = await pair.a.run(
        mac(['connect', '--json', '--probe', '--url', `ws://127.0.0.1:${realPort}`, '--token', token]),
        { cwd: deps.repo, env },
      );
      const out = parseJson(ok.stdout) as {
        status: string;
        health?: { ok?: boolean };
        snapshot?: { protocol?: number; server?: { version?: string } };
        error?: string;
      };
      if (ok.code !== 0 || out.status !== 'ok')
        throw new Error(`exit ${ok.code}: ${ok.stdout.slice(0, 800)} ${ok.stderr.slice(-400)}`);
      const wrong = await pair.a.run(
        mac(['connect', '--json', '--url', `ws://127.0.0.1:${realPort}`, '--token', 'wrong-token']),
        { cwd: deps.repo, env },
      );
      const bad = parseJson(wrong.stdout) as { status: string; error?: string };
      if (wrong.code !== 1 || bad.status !== 'error')
        throw new Error(`wrong token: exit ${wrong.code}: ${wrong.stdout.slice(0, 500)}`);
      return (
        `ok: protocol ${out.snapshot?.protocol}, server ${out.snapshot?.server?.version}, health.ok ${String(out.health?.ok)}; wrong token → ` +
        `exit 1, "${bad.error}"`
      );
    });
  } finally {
    await pair.close();
  }
}
