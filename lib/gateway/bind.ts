// Where the Gateway listens: `gateway.bind` as upstream spells it. `loopback` (default) → 127.0.0.1;
// `lan` → 0.0.0.0; `tailnet` → this machine's Tailscale IPv4 (100.64.0.0/10) when one is up, else
// loopback; `custom` → `gateway.customBindHost` (one IPv4 address); `auto` → 0.0.0.0 in a container,
// else loopback. A tailnet or custom address other than 127.0.0.1 / 0.0.0.0 gets a second listener on
// 127.0.0.1 (same port) so same-host clients stay direct-local; connections to the exposed address are
// remote (they pair through an operator). Exposure beyond loopback needs auth and TLS (checkExposure).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

import { IpcError } from '../common/errors.js';
import { isLoopbackAddress } from '../common/loopback.js';
import { isRecord } from '../common/records.js';
import type { OpenclawConfig } from '../common/openclaw-config.js';
import { DEFAULT_GATEWAY_HOST } from '../protocol/constants.js';

export const BIND_MODES = ['loopback', 'lan', 'tailnet', 'custom', 'auto'] as const;
export type BindMode = (typeof BIND_MODES)[number];

export interface BindPlan {
  mode: BindMode | 'address';
  /** The address of the main listener. */
  host: string;
  /** Also listen on 127.0.0.1 (same port): the main address is a specific non-loopback one. */
  loopbackCompanion: boolean;
  /** Why the plan differs from what was asked (tailnet without Tailscale). */
  note?: string;
}

function isTailnetIPv4(address: string): boolean {
  const parts = address.split('.').map(Number);
  return parts.length === 4 && parts[0] === 100 && parts[1]! >= 64 && parts[1]! <= 127;
}

/** The first Tailscale (CGNAT 100.64.0.0/10) IPv4 address on an interface, if any. */
export function tailnetIPv4(interfaces = os.networkInterfaces()): string | undefined {
  for (const list of Object.values(interfaces)) {
    for (const entry of list ?? []) {
      if (entry.family === 'IPv4' && !entry.internal && isTailnetIPv4(entry.address)) return entry.address;
    }
  }
  return undefined;
}

function inContainer(): boolean {
  return fs.existsSync('/.dockerenv') || fs.existsSync('/run/.containerenv');
}

/** `gateway.bind` and `gateway.customBindHost` from openclaw.json (type-checked). */
export function configuredBind(root: OpenclawConfig, file: string): { bind?: string; customBindHost?: string } {
  const gateway = isRecord(root.gateway) ? root.gateway : {};
  const { bind, customBindHost } = gateway;
  if (bind !== undefined && typeof bind !== 'string')
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: gateway.bind must be a string`);
  if (customBindHost !== undefined && typeof customBindHost !== 'string')
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: gateway.customBindHost must be a string`);
  return { bind, customBindHost };
}

function plan(mode: BindPlan['mode'], host: string, note?: string): BindPlan {
  const wildcard = host === '0.0.0.0' || host === '::';
  return { mode, host, loopbackCompanion: !wildcard && !isLoopbackAddress(host), ...(note ? { note } : {}) };
}

/**
 * Resolves a bind mode (or, for library and CLI callers, a literal address) to listeners. Unknown modes
 * and a `custom` bind without a valid IPv4 `customBindHost` are ERR_GATEWAY_BIND_INVALID: upstream falls
 * back to 0.0.0.0 there, which would expose the Gateway wider than asked.
 */
export function resolveBind(bind: string | undefined, customBindHost?: string): BindPlan {
  const mode = (bind ?? 'loopback').trim();
  switch (mode) {
    case 'loopback':
      return plan('loopback', DEFAULT_GATEWAY_HOST);
    case 'lan':
      return plan('lan', '0.0.0.0');
    case 'auto':
      return plan('auto', inContainer() ? '0.0.0.0' : DEFAULT_GATEWAY_HOST);
    case 'tailnet': {
      const address = tailnetIPv4();
      return address
        ? plan('tailnet', address)
        : plan('tailnet', DEFAULT_GATEWAY_HOST, 'no Tailscale IPv4 address (100.64.0.0/10) is up: bound to loopback');
    }
    case 'custom': {
      const host = customBindHost?.trim() ?? '';
      if (!net.isIPv4(host))
        throw new IpcError(
          'ERR_GATEWAY_BIND_INVALID',
          `gateway.bind is custom, but gateway.customBindHost ${host ? `(${JSON.stringify(host)}) is not an IPv4 address` : 'is not set'}`,
        );
      return plan('custom', host);
    }
    default:
      if (net.isIP(mode) !== 0 || mode === 'localhost')
        return plan('address', mode === 'localhost' ? '127.0.0.1' : mode);
      throw new IpcError(
        'ERR_GATEWAY_BIND_INVALID',
        `gateway bind must be one of ${BIND_MODES.join('|')} or an IP address, got ${JSON.stringify(mode)}`,
      );
  }
}

/**
 * Fails closed before anything listens: a Gateway reachable beyond loopback must check a secret
 * (ERR_GATEWAY_AUTH_CONFIG) and must speak TLS (ERR_GATEWAY_TLS_REQUIRED), or tokens and commands would
 * cross the network readable by anyone on it.
 */
export function checkExposure(host: string, port: number, authMode: string, tlsEnabled: boolean): void {
  if (isLoopbackAddress(host)) return;
  if (authMode === 'none') {
    throw new IpcError(
      'ERR_GATEWAY_AUTH_CONFIG',
      `refusing to bind gateway to ${host}:${port} without auth (gateway.auth.mode is none; set a token or password, or bind loopback)`,
    );
  }
  if (!tlsEnabled) {
    throw new IpcError(
      'ERR_GATEWAY_TLS_REQUIRED',
      `refusing to bind gateway to ${host}:${port} without TLS: the shared secret and every command would cross the network in clear text ` +
        `(set gateway.tls.enabled true or pass --tls; a self-signed certificate is generated), or bind loopback`,
    );
  }
}
