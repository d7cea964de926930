// Browsing `_openclaw-gw._tcp` over mDNS for a fixed window (bonjour-service, a maintained DNS-SD browser
// on multicast-dns) and mapping each beacon to upstream's `openclaw-mac discover` entry. A beacon whose
// host or name is this machine's is "local" and is left out unless includeLocal (as upstream).
import os from 'node:os';

import { mdnsHostname } from '../common/mdns-hostname.js';

const SERVICE_TYPE = 'openclaw-gw';
const DOMAIN = 'local.';
/** The query is repeated this often in the window: one lost multicast packet must not hide a Gateway. */
const REQUERY_MS = 700;

export interface DiscoveredGateway {
  displayName: string;
  lanHost?: string;
  tailnetDns?: string;
  sshPort: number;
  gatewayPort?: number;
  gatewayTls: boolean;
  gatewayDirectReachable: boolean;
  cliPath?: string;
  /** `_openclaw-gw._tcp|local.|<instance name>`, as upstream's endpoint id. */
  stableID: string;
  /** `<instance name>@<SRV target>:<SRV port>`. */
  debugID: string;
  isLocal: boolean;
  /** Not in upstream's entry: the A/AAAA records, and a ws:// URL to reach the first one. */
  addresses: string[];
  wsUrl?: string;
}

export interface DiscoveryResult {
  status: string;
  timeoutMs: number;
  includeLocal: boolean;
  count: number;
  gateways: DiscoveredGateway[];
}

export interface DiscoverOptions {
  timeoutMs: number;
  includeLocal: boolean;
  env?: NodeJS.ProcessEnv;
}

interface BrowsedService {
  name: string;
  host: string;
  port: number;
  txt?: Record<string, unknown>;
  addresses?: string[];
}

function txtString(txt: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = txt?.[key];
  const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}

function txtPort(txt: Record<string, unknown> | undefined, key: string): number | undefined {
  const text = txtString(txt, key);
  const n = text && /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n > 0 && n <= 65_535 ? n : undefined;
}

function txtFlag(txt: Record<string, unknown> | undefined, key: string): boolean {
  return ['1', 'true', 'yes'].includes(txtString(txt, key)?.toLowerCase() ?? '');
}

/** "Host (OpenClaw)" → "Host"; whitespace runs collapse. */
export function prettifyInstanceName(name: string): string {
  const normalized = name.trim().split(/\s+/).join(' ');
  return normalized.replace(/\s+\(OpenClaw\)$/i, '').trim() || normalized;
}

function hostToken(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const lower = raw
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/\.local$/, '');
  const token = lower.split('.')[0]?.trim();
  return token ? token : undefined;
}

/** This machine's names: the system host name and the mDNS host name our own Gateway would advertise. */
function localTokens(env: NodeJS.ProcessEnv): Set<string> {
  return new Set([hostToken(os.hostname()), hostToken(mdnsHostname(env))].filter((t): t is string => !!t));
}

export function toDiscoveredGateway(service: BrowsedService, local: Set<string>): DiscoveredGateway {
  const txt = service.txt;
  const displayName = prettifyInstanceName(txtString(txt, 'displayName') ?? service.name);
  const lanHost = txtString(txt, 'lanHost');
  const tailnetDns = txtString(txt, 'tailnetDns');
  const gatewayPort = txtPort(txt, 'gatewayPort');
  const cliPath = txtString(txt, 'cliPath');
  const addresses = [...new Set(service.addresses ?? [])];
  const isLocal = [lanHost, tailnetDns, displayName, prettifyInstanceName(service.name)].some((name) => {
    const token = hostToken(name);
    return token !== undefined && local.has(token);
  });
  const gatewayTls = txtFlag(txt, 'gatewayTls');
  const ipv4 = addresses.find((a) => a.includes('.'));
  const connectHost = ipv4 ?? (addresses[0] ? `[${addresses[0]}]` : undefined);
  return {
    displayName,
    ...(lanHost ? { lanHost } : {}),
    ...(tailnetDns ? { tailnetDns } : {}),
    sshPort: txtPort(txt, 'sshPort') ?? 22,
    ...(gatewayPort ? { gatewayPort } : {}),
    gatewayTls,
    gatewayDirectReachable: txtFlag(txt, 'gatewayDirectReachable'),
    ...(cliPath ? { cliPath } : {}),
    stableID: `_${SERVICE_TYPE}._tcp|${DOMAIN}|${service.name.trim().split(/\s+/).join(' ')}`,
    debugID: `${service.name}@${service.host}:${service.port}`,
    isLocal,
    addresses,
    ...(connectHost ? { wsUrl: `${gatewayTls ? 'wss' : 'ws'}://${connectHost}:${gatewayPort ?? service.port}` } : {}),
  };
}

/** Browses for `timeoutMs`, then returns every Gateway seen (sorted by name, deduplicated by stableID). */
export async function discoverGateways(options: DiscoverOptions): Promise<DiscoveryResult> {
  const { default: Bonjour } = await import('bonjour-service');
  let failure: string | undefined;
  const bonjour = new Bonjour.Bonjour({}, (err: Error) => {
    failure = err?.message ?? String(err);
  });
  const seen = new Map<string, BrowsedService>();
  const browser = bonjour.find({ type: SERVICE_TYPE, protocol: 'tcp' }, (service) => {
    seen.set(service.fqdn, service as unknown as BrowsedService);
  });
  const requery = setInterval(() => browser.update(), REQUERY_MS);
  await new Promise((resolve) => setTimeout(resolve, options.timeoutMs));
  clearInterval(requery);
  // Services updated after 'up' (a TXT that changed) are current in the browser's list.
  for (const service of browser.services) seen.set(service.fqdn, service as unknown as BrowsedService);
  browser.stop();
  await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));

  const local = localTokens(options.env ?? process.env);
  const byId = new Map<string, DiscoveredGateway>();
  for (const service of seen.values()) {
    const gateway = toDiscoveredGateway(service, local);
    if (!byId.has(gateway.stableID)) byId.set(gateway.stableID, gateway);
  }
  const all = [...byId.values()].sort((a, b) =>
    a.displayName.localeCompare(b.displayName, undefined, { sensitivity: 'base' }),
  );
  const gateways = options.includeLocal ? all : all.filter((g) => !g.isLocal);
  return {
    status: failure ? `Failed: ${failure}` : 'Searching…',
    timeoutMs: options.timeoutMs,
    includeLocal: options.includeLocal,
    count: gateways.length,
    gateways,
  };
}
