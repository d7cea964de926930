// The one loopback test for addresses: bind hosts, peer addresses, Host headers.
import net from 'node:net';

/**
 * Whether `address` names this machine's loopback interface: `localhost`, 127.0.0.0/8, ::1, and the
 * IPv4-mapped IPv6 forms of 127.0.0.0/8 (`::ffff:127.0.0.1`, also written `::ffff:7f00:1`), which is how
 * a dual-stack server sees an IPv4 loopback peer. Brackets (`[::1]`) and case are ignored. Anything
 * else, including names that merely resolve to loopback (and undefined, an unknown peer), is not loopback.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  let a = address.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (a === 'localhost') return true;
  if (net.isIPv4(a)) return a.split('.')[0] === '127';
  if (!net.isIPv6(a)) return false;
  let canonical: string;
  try {
    // The WHATWG URL parser prints IPv6 in its one compressed, lower-case form (RFC 5952).
    canonical = new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return false; // zone ids and other forms a URL cannot hold are never loopback
  }
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}
