// Bonjour (mDNS/DNS-SD) advertising of the Gateway as `_openclaw-gw._tcp`, with upstream's instance name and
// TXT keys, through @homebridge/ciao (the library upstream uses). Decided here, before any socket opens:
// - mode off, or OPENCLAW_DISABLE_BONJOUR set truthy: nothing is advertised;
// - a loopback-only bind: nothing is advertised. Upstream advertises anyway (other machines then find a
//   Gateway they cannot reach); we do not, because a beacon that points at an unreachable port only
//   misleads `discover` and leaks the host name for nothing;
// - a specific address: only that address is advertised; 0.0.0.0: every IPv4 address, no AAAA records
//   (the socket does not listen on IPv6); `::` : every address.
// - minimal (default): role, gatewayPort, lanHost, displayName, gatewayDirectReachable, transport;
//   full adds sshPort (OPENCLAW_SSH_PORT, else 22), cliPath and tailnetDns (OPENCLAW_TAILNET_DNS).
import fs from 'node:fs';
import os from 'node:os';

import { isLoopbackAddress } from '../common/loopback.js';
import { mdnsHostname } from '../common/mdns-hostname.js';
import type { MdnsMode } from '../common/openclaw-config.js';

export const GATEWAY_SERVICE_TYPE = 'openclaw-gw';
/** Upstream gives advertising at most this long at start-up before going on without it. */
const ADVERTISE_WAIT_MS = 5_000;

export interface BonjourOptions {
  mode: MdnsMode;
  /** The address the Gateway listens on. */
  bindHost: string;
  port: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** The certificate's SHA-256 when the Gateway serves wss:// (advertised as gatewayTls/gatewayTlsSha256). */
  tlsFingerprintSha256?: string;
}

export type BonjourStatus =
  | { advertising: false; reason: string }
  | { advertising: true; instanceName: string; hostname: string; txt: Record<string, string>; addresses: string };

export interface BonjourAdvertisement {
  readonly status: BonjourStatus;
  /** Sends goodbye packets and closes the mDNS sockets. Idempotent. */
  stop(): Promise<void>;
}

/** Upstream's env rule: a truthy value disables; 0/false/no/off (or unset) do not. */
export function bonjourDisabledByEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env.OPENCLAW_DISABLE_BONJOUR?.trim().toLowerCase();
  return raw !== undefined && raw !== '' && !['0', 'false', 'no', 'off'].includes(raw);
}

/** Why nothing is advertised, or undefined when it will be. */
export function bonjourSkipReason(options: Pick<BonjourOptions, 'mode' | 'bindHost' | 'env'>): string | undefined {
  if (bonjourDisabledByEnv(options.env ?? process.env)) return 'disabled by OPENCLAW_DISABLE_BONJOUR';
  if (options.mode === 'off') return 'discovery.mdns.mode is off';
  if (isLoopbackAddress(options.bindHost))
    return `bound to loopback (${options.bindHost}): other machines could not reach an advertised address`;
  return undefined;
}

function cliPath(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.OPENCLAW_CLI_PATH?.trim();
  if (fromEnv) return fromEnv;
  const script = process.argv[1];
  try {
    return script && fs.statSync(script).isFile() ? script : undefined;
  } catch {
    return undefined;
  }
}

/** The TXT record for a mode (strings only, as DNS-SD carries them). */
export function gatewayTxt(
  mode: MdnsMode,
  port: number,
  hostname: string,
  env: NodeJS.ProcessEnv,
  tlsFingerprintSha256?: string,
): Record<string, string> {
  const txt: Record<string, string> = {
    role: 'gateway',
    gatewayPort: String(port),
    lanHost: `${hostname}.local`,
    displayName: hostname,
    // Only non-loopback binds are advertised, so the advertised port is directly reachable.
    gatewayDirectReachable: '1',
  };
  // As upstream: clients then connect with wss:// and can pin the fingerprint they saw advertised.
  if (tlsFingerprintSha256) {
    txt.gatewayTls = '1';
    txt.gatewayTlsSha256 = tlsFingerprintSha256;
  }
  if (mode === 'full') {
    const tailnet = env.OPENCLAW_TAILNET_DNS?.trim().replace(/\.$/, '');
    if (tailnet) txt.tailnetDns = tailnet;
    const cli = cliPath(env);
    if (cli) txt.cliPath = cli;
  }
  txt.transport = 'gateway';
  if (mode === 'full') {
    const ssh = Number(env.OPENCLAW_SSH_PORT?.trim());
    txt.sshPort = String(Number.isInteger(ssh) && ssh > 0 && ssh <= 65_535 ? ssh : 22);
  }
  return txt;
}

/**
 * The interfaces ciao serves. A specific bind: that address only. A wildcard bind on Linux: every interface
 * with an address, named here because ciao's own Linux detection parses `ip -o link` and keeps the `@peer`
 * suffix of veth/VLAN names (`veth0@if2`), so it silently skips those interfaces. Elsewhere ciao decides
 * (and follows interfaces that come and go).
 */
function responderInterfaces(bindHost: string): string | string[] | undefined {
  if (bindHost !== '0.0.0.0' && bindHost !== '::') return bindHost;
  if (process.platform !== 'linux') return undefined;
  const names = Object.entries(os.networkInterfaces())
    .filter(([, infos]) => infos?.some((info) => !info.internal))
    .map(([name]) => name);
  return names.length > 0 ? names : undefined;
}

const NOT_ADVERTISING = (reason: string): BonjourAdvertisement => ({
  status: { advertising: false, reason },
  stop: async () => {},
});

/**
 * Starts advertising (or decides not to). Never throws for mDNS trouble: a Gateway without a beacon still
 * serves; the failure is logged and reported in `status`.
 */
export async function startBonjour(options: BonjourOptions): Promise<BonjourAdvertisement> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const skip = bonjourSkipReason(options);
  if (skip) return NOT_ADVERTISING(skip);

  const hostname = mdnsHostname(env);
  const instanceName = `${hostname} (OpenClaw)`;
  const txt = gatewayTxt(options.mode, options.port, hostname, env, options.tlsFingerprintSha256);
  const wildcard = options.bindHost === '0.0.0.0' || options.bindHost === '::';
  let ciao: typeof import('@homebridge/ciao');
  try {
    ciao = await import('@homebridge/ciao');
  } catch (err) {
    return NOT_ADVERTISING(`mDNS library unavailable: ${(err as Error).message}`);
  }
  let responder: ReturnType<typeof ciao.getResponder>;
  let service: ReturnType<ReturnType<typeof ciao.getResponder>['createService']>;
  try {
    const interfaces = responderInterfaces(options.bindHost);
    responder = ciao.getResponder(interfaces ? { interface: interfaces } : undefined);
    service = responder.createService({
      name: instanceName,
      type: GATEWAY_SERVICE_TYPE,
      port: options.port,
      domain: 'local',
      hostname,
      txt,
      ...(wildcard ? {} : { restrictedAddresses: [options.bindHost] }),
      ...(options.bindHost === '0.0.0.0' ? { disabledIpv6: true } : {}),
    });
  } catch (err) {
    log(`bonjour: not advertising: ${(err as Error).message}`);
    return NOT_ADVERTISING(`mDNS setup failed: ${(err as Error).message}`);
  }
  service.on('name-change', (name: string) => log(`bonjour: instance name conflict, now ${JSON.stringify(name)}`));
  const advertised = service.advertise().then(
    () => log(`bonjour: advertising ${JSON.stringify(instanceName)} _openclaw-gw._tcp port ${options.port}`),
    (err: unknown) => log(`bonjour: advertise failed: ${(err as Error)?.message ?? String(err)}`),
  );
  // Probing takes about a second; start-up does not wait longer than upstream's budget for it.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([advertised, new Promise((resolve) => (timer = setTimeout(resolve, ADVERTISE_WAIT_MS)))]);
  clearTimeout(timer);

  let stopping: Promise<void> | undefined;
  return {
    status: {
      advertising: true,
      instanceName,
      hostname,
      txt,
      addresses: wildcard ? (options.bindHost === '::' ? 'all' : 'all IPv4') : options.bindHost,
    },
    stop: () =>
      (stopping ??= (async () => {
        try {
          await service.end();
          await service.destroy();
        } catch {
          // Already gone with the responder.
        }
        await responder.shutdown().catch(() => {});
      })()),
  };
}
