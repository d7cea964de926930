// Who may talk to the Gateway's HTTP listener (WebSocket upgrades and plain HTTP): the `Host` and
// `Origin` of a request, checked before anything else is done with it.
//
// - Host (DNS rebinding): on a loopback bind the Host must name this machine's loopback
//   (`localhost`, `127.x.x.x`, `[::1]`) with the port the request arrived on. A page at
//   `evil.example` that re-points its name to 127.0.0.1 sends `Host: evil.example:<port>` and is refused.
// - Origin (cross-site WebSocket hijacking): a request that carries an `Origin` comes from a browser;
//   it must be one of the Gateway's own origins (`http://127.0.0.1:<port>`, `http://localhost:<port>`,
//   `http://[::1]:<port>`, and `http://<bind address>:<port>` for a non-loopback bind) or be listed in
//   `gateway.controlUi.allowedOrigins` (upstream's key: exact `scheme://host[:port]` values, `*` = any).
//   Upstream also admits any loopback origin on any port for local clients; we do not: another local web
//   server (a dev server on :5173) is not the Gateway's page.
// - No Origin: a non-browser client (node host, CLI, real openclaw). Admitted; Host rules still apply.
// - "Direct local" (silent pairing, spec §6.1): loopback peer, local Host, no proxy headers, no Origin.
import type { IncomingHttpHeaders } from 'node:http';

import { IpcError } from '../common/errors.js';
import { isLoopbackAddress } from '../common/loopback.js';
import { allowedOriginsList } from '../protocol/config-schemas.js';

export interface RequestOriginPolicy {
  /** The address the Gateway is bound to: a loopback bind turns the Host check on. */
  bindHost: string;
  /** `gateway.controlUi.allowedOrigins`: further browser origins, exact, or "*" for any. */
  allowedOrigins?: readonly string[];
  /** The listener serves TLS: its own page's origins are https:// (an http:// one cannot be this port). */
  tls?: boolean;
}

/** What the check needs from a request (an http.IncomingMessage fits). */
export interface RequestFacts {
  headers: IncomingHttpHeaders;
  /** Raw header list (name, value, …): repeated Host or Origin headers are refused. */
  rawHeaders?: readonly string[];
  socket: { remoteAddress?: string; localPort?: number };
}

export type RequestOriginCode = 'ERR_HOST_NOT_ALLOWED' | 'ERR_ORIGIN_NOT_ALLOWED' | 'ERR_HEADER_AMBIGUOUS';

export type RequestOriginVerdict =
  | {
      ok: true;
      /** The request carries an Origin: a browser. Never exempt from auth rate limits. */
      browser: boolean;
      /** The normalised Origin when there is one. */
      origin?: string;
      /** Loopback peer, local Host for this port, no proxy headers, no Origin (spec §6.1 "direct local"). */
      directLocal: boolean;
    }
  | { ok: false; status: 400 | 403; code: RequestOriginCode; message: string };

/** Headers that say a proxy stands between the peer and us (upstream's list plus `forwarded`). */
export const PROXY_HEADERS: readonly string[] = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
];

// host = reg-name or IPv4 (letters, digits, dots, hyphens) or a bracketed IPv6 literal; optional port.
// Anything else (userinfo "@", paths, spaces, commas from a joined duplicate) is not a Host we accept.
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;

/** Hostname (lower case, IPv6 in brackets) and port of a Host header value; undefined when malformed. */
export function parseHostHeader(value: string | undefined): { hostname: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const match = HOST_HEADER.exec(value.trim());
  if (!match) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${match[0]}`);
  } catch {
    return undefined;
  }
  const port = url.port === '' ? 80 : Number(url.port);
  return { hostname: url.hostname.toLowerCase(), port };
}

/** True when `host` names this machine's loopback with exactly `port` (DNS-rebinding guard). */
export function isLocalHostHeader(host: string | undefined, port: number): boolean {
  const parsed = parseHostHeader(host);
  return parsed !== undefined && parsed.port === port && isLoopbackAddress(parsed.hostname);
}

/** The Gateway's own browser origins for a listener on `port` bound to `bindHost` (https:// with `tls`). */
export function ownOrigins(bindHost: string, port: number, tls = false): string[] {
  const scheme = tls ? 'https' : 'http';
  const origins = [`${scheme}://127.0.0.1:${port}`, `${scheme}://localhost:${port}`, `${scheme}://[::1]:${port}`];
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '';
  if (!wildcard && !isLoopbackAddress(bindHost)) {
    const normalised = normaliseOrigin(`${scheme}://${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${port}`);
    if (normalised !== undefined) origins.push(normalised);
  }
  return origins.map((origin) => normaliseOrigin(origin)!);
}

/** `scheme://host[:port]` in lower case with default ports dropped; undefined for "null" or a non-origin. */
export function normaliseOrigin(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'null') return undefined;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  // An origin has no path, query, fragment or credentials; "http://a/b" is not one.
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  if (url.pathname !== '' && url.pathname !== '/') return undefined;
  if (url.host === '') return undefined;
  // Non-special schemes (chrome-extension://id) have an opaque URL origin; spell theirs out.
  const origin = url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
  return origin.toLowerCase();
}

/**
 * Reads `gateway.controlUi.allowedOrigins` from a parsed openclaw.json root. Absent → []. Anything but an
 * array of strings (at most MAX_ALLOWED_ORIGINS, each bounded: config-schemas.ts) is a configuration error
 * (ERR_CONFIG_MALFORMED); entries that are not origins are too, so a typo cannot silently widen or narrow
 * what is admitted.
 */
export function allowedOriginsFromConfig(root: unknown, where = 'openclaw.json'): string[] {
  const gateway = (root as { gateway?: unknown } | undefined)?.gateway;
  const controlUi = (gateway as { controlUi?: unknown } | undefined)?.controlUi;
  const list = (controlUi as { allowedOrigins?: unknown } | undefined)?.allowedOrigins;
  if (list === undefined) return [];
  if (!allowedOriginsList.check(list)) {
    throw new IpcError(
      'ERR_CONFIG_MALFORMED',
      `${where}: gateway.controlUi.allowedOrigins must be an array of strings`,
    );
  }
  if (list === null) return [];
  return list.map((entry) => {
    if (entry.trim() === '*') return '*';
    const origin = normaliseOrigin(entry);
    if (origin === undefined)
      throw new IpcError(
        'ERR_CONFIG_MALFORMED',
        `${where}: gateway.controlUi.allowedOrigins entry ${JSON.stringify(entry)} is not an origin (scheme://host[:port])`,
      );
    return origin;
  });
}

function headerCount(facts: RequestFacts, name: string): number {
  const raw = facts.rawHeaders;
  if (raw === undefined) return facts.headers[name] === undefined ? 0 : 1;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name) count++;
  return count;
}

function refuse(status: 400 | 403, code: RequestOriginCode, message: string): RequestOriginVerdict {
  return { ok: false, status, code, message };
}

/**
 * Checks Host and Origin of one request (WebSocket upgrade or plain HTTP). `socket.localPort` is the port
 * the request arrived on; a Host naming another port is refused on loopback binds.
 */
export function checkRequestOrigin(facts: RequestFacts, policy: RequestOriginPolicy): RequestOriginVerdict {
  // Node keeps the first of repeated Host headers and joins repeated Origins: two parsers, two answers.
  if (headerCount(facts, 'host') > 1 || headerCount(facts, 'origin') > 1)
    return refuse(400, 'ERR_HEADER_AMBIGUOUS', 'repeated Host or Origin header');
  const port = facts.socket.localPort ?? 0;
  const host = facts.headers.host;
  const localHost = isLocalHostHeader(host, port);
  if (isLoopbackAddress(policy.bindHost) && !localHost) {
    return refuse(
      403,
      'ERR_HOST_NOT_ALLOWED',
      `Host ${JSON.stringify(String(host ?? '').slice(0, 200))} is not this gateway (expected localhost, 127.0.0.1 or [::1] with port ${port})`,
    );
  }
  const rawOrigin = facts.headers.origin;
  const browser = rawOrigin !== undefined;
  let origin: string | undefined;
  if (browser) {
    origin = normaliseOrigin(rawOrigin);
    const allowed = policy.allowedOrigins ?? [];
    const own = ownOrigins(policy.bindHost, port, policy.tls === true);
    const admitted =
      origin !== undefined && (own.includes(origin) || allowed.includes('*') || allowed.includes(origin));
    if (!admitted) {
      return refuse(
        403,
        'ERR_ORIGIN_NOT_ALLOWED',
        `origin ${JSON.stringify(rawOrigin.slice(0, 200))} not allowed (open the page from the gateway host or list it in gateway.controlUi.allowedOrigins)`,
      );
    }
  }
  const proxied = PROXY_HEADERS.some((name) => facts.headers[name] !== undefined);
  const directLocal = isLoopbackAddress(facts.socket.remoteAddress) && localHost && !proxied && !browser;
  return browser ? { ok: true, browser, origin, directLocal } : { ok: true, browser, directLocal };
}

/** The raw HTTP response for a refused request on an upgrade socket (no WebSocket was created). */
export function refusalResponse(verdict: Extract<RequestOriginVerdict, { ok: false }>): string {
  const reason = verdict.status === 400 ? 'Bad Request' : 'Forbidden';
  const body = `${verdict.code}: ${verdict.message}\n`;
  return (
    `HTTP/1.1 ${verdict.status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
