// openclaw-mac connect: one Gateway session with this state dir's device identity, a `health` call
// (`{probe:true}` with --probe), printed as upstream's macOS debug CLI prints it. Exit 1 on any error.
// Endpoint (as upstream): --url (then only flag secrets are sent), else mode remote → gateway.remote.{url,
// token,password}, else local → ws://127.0.0.1:<gateway.port|18789> with gateway.auth.{token,password}.
// Mode: --mode, else gateway.mode, else local. OPENCLAW_GATEWAY_PORT/_TOKEN/_PASSWORD override the local
// config values, as in the rest of this CLI.
// TLS: --tls turns ws:// into wss://; local mode uses wss:// when gateway.tls.enabled. The pin is
// --tls-fingerprint, else gateway.remote.tlsFingerprint (remote mode), else for a loopback wss:// URL the
// local Gateway's certificate file. For wss:// the fingerprint the Gateway presents is shown (`tls` in
// JSON, a `TLS:` line) with whether it matches the pin, also when the connect fails on it.
import os from 'node:os';

import { GatewayClient, type HelloOk } from '../../client/gateway-client.js';
import { loadOrCreateIdentity } from '../../client/identity.js';
import { presentedFingerprint } from '../../client/tls-pin.js';
import { isLoopbackAddress } from '../../common/loopback.js';
import {
  configString,
  configuredGatewayPort,
  readOpenclawConfig,
  type OpenclawConfig,
} from '../../common/openclaw-config.js';
import { resolveStateDir } from '../../common/state-dir.js';
import { fingerprintsEqual, requireTlsFingerprint } from '../../common/tls-fingerprint.js';
import { localGatewayFingerprint, readTlsSettings } from '../../common/gateway-tls-settings.js';
import { DEFAULT_GATEWAY_PORT } from '../../protocol/constants.js';
import { ExitCode, networkWaitOption, parseCommandArgs } from '../run.js';

const USAGE = [
  'usage: openclaw-mac connect [--url <ws://host:port>] [--token <token>] [--password <password>]',
  '                            [--mode local|remote] [--timeout <ms>] [--probe] [--json]',
  '                            [--client-id <id>] [--client-mode <mode>] [--display-name <name>]',
  '                            [--role <role>] [--scopes <a,b,c>] [--tls] [--tls-fingerprint <sha256>]',
  '  --url            Gateway WebSocket URL (overrides config; then config secrets are not sent)',
  '  --tls            use wss:// (local mode does when gateway.tls.enabled)',
  '  --tls-fingerprint  pin the Gateway certificate (SHA-256, printed by the Gateway at start)',
  '  --mode           resolve from config: local (gateway.port, gateway.auth.*) or remote (gateway.remote.*)',
  '  --timeout <ms>   connect and request deadline (default 15000, at least 250)',
  '  --probe          ask for a fresh health probe ({probe:true})',
  '  --client-id      default openclaw-macos; --client-mode default ui; --role default operator',
  'example: openclaw-mac connect --probe --json',
].join('\n');

/** Upstream's default operator scopes for the macOS CLI. */
const DEFAULT_SCOPES = ['operator.admin', 'operator.read', 'operator.write', 'operator.approvals', 'operator.pairing'];
const DEFAULT_TIMEOUT_MS = 15_000;
const MIN_TIMEOUT_MS = 250;

export interface ConnectOutput {
  status: 'ok' | 'error';
  url: string;
  mode: string;
  role: string;
  clientId: string;
  clientMode: string;
  scopes: string[];
  snapshot?: HelloOk;
  health?: unknown;
  /** wss:// only: the certificate the Gateway presented, the pin, and whether they match (null: no pin). */
  tls?: { fingerprintSha256: string; pinned: string | null; matches: boolean | null };
  error?: string;
}

interface Endpoint {
  url: string;
  mode: string;
  token?: string;
  password?: string;
  /** Whether a stored device token may be used (not for an explicit --url, as upstream). */
  storedAuth: boolean;
  /** The certificate pin for a wss:// URL. */
  tlsFingerprint?: string;
}

interface Flags {
  url?: string;
  token?: string;
  password?: string;
  mode?: string;
  tls?: boolean;
  'tls-fingerprint'?: string;
}

/** The endpoint with --tls applied and its pin chosen (flag, remote config, local certificate file). */
export function withTls(endpoint: Endpoint, flags: Flags, config: OpenclawConfig, stateDir: string): Endpoint {
  const url = flags.tls ? endpoint.url.replace(/^ws:\/\//, 'wss://') : endpoint.url;
  const flagPin = flags['tls-fingerprint'];
  let pin: string | undefined;
  if (flagPin !== undefined) pin = requireTlsFingerprint(flagPin);
  else if (endpoint.mode === 'remote' && !nonEmpty(flags.url)) {
    const remotePin = configString(config, 'gateway.remote.tlsFingerprint');
    pin = remotePin ? requireTlsFingerprint(remotePin, 'gateway.remote.tlsFingerprint') : undefined;
  } else if (url.startsWith('wss://') && isLoopbackAddress(new URL(url).hostname.replace(/^\[|\]$/g, ''))) {
    try {
      pin = localGatewayFingerprint(stateDir, readTlsSettings(config, 'openclaw.json'));
    } catch {
      pin = undefined; // a malformed gateway.tls is the Gateway's to report; then no implicit pin
    }
  }
  if (pin && !url.startsWith('wss://'))
    throw new Error(`a TLS fingerprint needs a wss:// URL (got ${url}); pass --tls or a wss:// --url`);
  return { ...endpoint, url, ...(pin ? { tlsFingerprint: pin } : {}) };
}

function localScheme(config: OpenclawConfig): 'ws' | 'wss' {
  try {
    return readTlsSettings(config, 'openclaw.json').enabled === true ? 'wss' : 'ws';
  } catch {
    return 'ws';
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

export function resolveEndpoint(flags: Flags, config: OpenclawConfig, env: NodeJS.ProcessEnv): Endpoint {
  const mode = (flags.mode ?? configString(config, 'gateway.mode') ?? 'local').toLowerCase();
  const flagToken = nonEmpty(flags.token);
  const flagPassword = nonEmpty(flags.password);
  const secrets = (token: string | undefined, password: string | undefined): Pick<Endpoint, 'token' | 'password'> => ({
    ...((flagToken ?? token) ? { token: flagToken ?? token } : {}),
    ...((flagPassword ?? password) ? { password: flagPassword ?? password } : {}),
  });
  if (nonEmpty(flags.url))
    return { url: checkUrl(flags.url!.trim()), mode, storedAuth: false, ...secrets(undefined, undefined) };
  if (mode === 'remote') {
    const url = configString(config, 'gateway.remote.url');
    if (!url) throw new Error('gateway.remote.url is missing');
    return {
      url: checkUrl(url),
      mode,
      storedAuth: true,
      ...secrets(configString(config, 'gateway.remote.token'), configString(config, 'gateway.remote.password')),
    };
  }
  const envPort = nonEmpty(env.OPENCLAW_GATEWAY_PORT);
  const port =
    (envPort && /^\d+$/.test(envPort) ? Number(envPort) : undefined) ??
    configuredGatewayPort(config) ??
    DEFAULT_GATEWAY_PORT;
  return {
    url: `${localScheme(config)}://127.0.0.1:${port}`,
    mode,
    storedAuth: true,
    ...secrets(
      nonEmpty(env.OPENCLAW_GATEWAY_TOKEN) ?? configString(config, 'gateway.auth.token'),
      nonEmpty(env.OPENCLAW_GATEWAY_PASSWORD) ?? configString(config, 'gateway.auth.password'),
    ),
  };
}

function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`invalid url: ${raw}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new Error(`invalid url: ${raw} (expected ws:// or wss://)`);
  return raw;
}

function timeoutOption(raw: string | undefined): number {
  return networkWaitOption(raw, DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, USAGE);
}

async function session(
  endpoint: Endpoint,
  output: ConnectOutput,
  options: { stateDir: string; timeoutMs: number; probe: boolean; displayName: string },
): Promise<void> {
  if (endpoint.url.startsWith('wss://')) {
    const fingerprintSha256 = await presentedFingerprint(endpoint.url, options.timeoutMs);
    const pinned = endpoint.tlsFingerprint ?? null;
    output.tls = { fingerprintSha256, pinned, matches: pinned ? fingerprintsEqual(fingerprintSha256, pinned) : null };
  }
  const identity = loadOrCreateIdentity(options.stateDir);
  const client = new GatewayClient({
    url: endpoint.url,
    ...(endpoint.tlsFingerprint ? { tlsFingerprint: endpoint.tlsFingerprint } : {}),
    role: output.role as 'operator',
    token: endpoint.token,
    password: endpoint.password,
    scopes: output.scopes,
    identity,
    ...(endpoint.storedAuth ? { stateDir: options.stateDir } : {}),
    client: {
      id: output.clientId,
      mode: output.clientMode,
      version: '0.1.0',
      platform: process.platform,
      displayName: options.displayName,
    },
    reconnect: false,
    connectTimeoutMs: options.timeoutMs,
    requestTimeoutMs: options.timeoutMs,
  });
  let hello: HelloOk | undefined;
  client.once('hello', (h) => (hello = h));
  try {
    await client.start();
    output.health = await client.request('health', options.probe ? { probe: true } : undefined, {
      timeoutMs: options.timeoutMs,
    });
    if (hello) output.snapshot = withoutDeviceToken(hello);
  } finally {
    await client.close();
  }
}

/** hello-ok as printed: the issued device token is a credential, so only its presence is shown. */
function withoutDeviceToken(hello: HelloOk): HelloOk {
  if (typeof hello.auth?.deviceToken !== 'string') return hello;
  return { ...hello, auth: { ...hello.auth, deviceToken: '<redacted>' } };
}

/** Keys sorted at every level, as upstream's encoder (sortedKeys) prints them. */
function sortedJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
        : v,
    2,
  );
}

function humanLines(output: ConnectOutput): string[] {
  const lines = [
    'OpenClaw Gateway Connect',
    `Status: ${output.status}`,
    `URL: ${output.url}`,
    `Mode: ${output.mode}`,
    `Client: ${output.clientId} (${output.clientMode})`,
    `Role: ${output.role}`,
    `Scopes: ${output.scopes.join(', ')}`,
  ];
  if (output.snapshot) {
    lines.push(`Protocol: ${output.snapshot.protocol}`);
    if (typeof output.snapshot.server?.version === 'string') lines.push(`Server: ${output.snapshot.server.version}`);
  }
  if (output.tls) {
    const { fingerprintSha256, pinned, matches } = output.tls;
    const verdict = matches === null ? 'not pinned' : matches ? 'matches the pin' : `does NOT match the pin ${pinned}`;
    lines.push(`TLS: SHA-256 ${fingerprintSha256} (${verdict})`);
  }
  const ok = (output.health as { ok?: unknown } | undefined)?.ok;
  if (typeof ok === 'boolean') lines.push(`Health: ${ok ? 'ok' : 'error'}`);
  else if (output.health !== undefined) lines.push('Health: received');
  if (output.error) lines.push(`Error: ${output.error}`);
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      password: { type: 'string' },
      mode: { type: 'string' },
      timeout: { type: 'string' },
      probe: { type: 'boolean' },
      json: { type: 'boolean' },
      'client-id': { type: 'string' },
      'client-mode': { type: 'string' },
      'display-name': { type: 'string' },
      role: { type: 'string' },
      scopes: { type: 'string' },
      tls: { type: 'boolean' },
      'tls-fingerprint': { type: 'string' },
      'state-dir': { type: 'string' },
    },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  const timeoutMs = timeoutOption(values.timeout);
  const scopes =
    values.scopes !== undefined
      ? values.scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...DEFAULT_SCOPES];
  const stateDir = values['state-dir'] ?? resolveStateDir();
  const output: ConnectOutput = {
    status: 'ok',
    url: 'unknown',
    mode: (values.mode ?? 'local').toLowerCase(),
    role: values.role ?? 'operator',
    clientId: values['client-id'] ?? 'openclaw-macos',
    clientMode: values['client-mode'] ?? 'ui',
    scopes,
  };
  try {
    const { config } = readOpenclawConfig({ stateDir });
    output.mode = (values.mode ?? configString(config, 'gateway.mode') ?? 'local').toLowerCase();
    const endpoint = withTls(resolveEndpoint(values, config, process.env), values, config, stateDir);
    output.url = endpoint.url;
    output.mode = endpoint.mode;
    await session(endpoint, output, {
      stateDir,
      timeoutMs,
      probe: values.probe === true,
      displayName: values['display-name'] ?? `${os.hostname()} (openclaw-mac connect)`,
    });
  } catch (err) {
    output.status = 'error';
    output.error = (err as Error)?.message ?? String(err);
    delete output.health;
    delete output.snapshot; // output.tls stays: the presented fingerprint explains a pin mismatch
  }
  process.stdout.write(values.json ? `${sortedJson(output)}\n` : `${humanLines(output).join('\n')}\n`);
  return output.status === 'ok' ? ExitCode.ok : ExitCode.failure;
}
