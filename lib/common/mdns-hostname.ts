// The host label a Gateway advertises over mDNS: read by the advertiser (lib/gateway/bonjour.ts) and by
// discovery (lib/client/discovery.ts), which recognises this host's own advertisements.
import os from 'node:os';

/** The first DNS label of OPENCLAW_MDNS_HOSTNAME or the system host name, else "openclaw" (as upstream). */
export function mdnsHostname(env: NodeJS.ProcessEnv = process.env): string {
  const raw = (env.OPENCLAW_MDNS_HOSTNAME?.trim() || os.hostname()).replace(/\.local$/i, '');
  const label = raw.split('.')[0]?.trim() ?? '';
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label) ? label : 'openclaw';
}
