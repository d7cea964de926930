// Operator connections for the CLI: where the Gateway is, which shared secret to present, and
// resolving a node given by id, id prefix or display name. Secrets are read, never generated. Token:
// --token, OPENCLAW_GATEWAY_TOKEN, gateway.auth.token; password: --password, OPENCLAW_GATEWAY_PASSWORD,
// gateway.auth.password (env before config, as upstream clients do). A flag given alone is used alone.
// TLS: the default URL is wss:// when the state dir's openclaw.json has gateway.tls.enabled; the pin is
// --tls-fingerprint, else (for a loopback URL) the fingerprint of the local Gateway's certificate file.
import { IpcError } from '../common/errors.js';
import { isLoopbackAddress } from '../common/loopback.js';
import { localGatewayFingerprint, readTlsSettings } from '../common/gateway-tls-settings.js';
import { configuredGatewayPort, readOpenclawConfig } from '../common/openclaw-config.js';
import { isRecord } from '../common/records.js';
import { resolveStateDir } from '../common/state-dir.js';
import { requireTlsFingerprint } from '../common/tls-fingerprint.js';
import { configSecret } from '../protocol/config-schemas.js';
import { DEFAULT_GATEWAY_PORT } from '../protocol/constants.js';
import { GatewayRequestError } from './errors.js';
import { GatewayClient, type GatewayCredentials } from './gateway-client.js';

export const OPERATOR_SCOPES: readonly string[] = [
  'operator.admin',
  'operator.read',
  'operator.write',
  'operator.approvals',
  'operator.pairing',
];

export type CredentialSource = 'option' | 'env' | 'config' | 'none';

export interface OperatorTarget {
  url: string;
  token?: string;
  /** Where the token came from, for error messages. */
  tokenSource: CredentialSource;
  /** Sent as auth.password (a password-mode Gateway checks it). */
  password?: string;
  passwordSource?: CredentialSource;
  /** The pinned certificate fingerprint for a wss:// URL (flag, else the local Gateway's certificate). */
  tlsFingerprint?: string;
  stateDir: string;
}

/** gateway.auth.token and .password as written (strings are checked by fromEnvOrConfig). */
function configuredSecrets(config: Record<string, unknown>): { token?: unknown; password?: unknown } {
  const gateway = config.gateway;
  const auth = isRecord(gateway) ? gateway.auth : undefined;
  return isRecord(auth) ? { token: auth.token, password: auth.password } : {};
}

/** Resolves URL, token and password from flags, env and the state dir's openclaw.json. */
export function resolveOperatorTarget(
  flags: { url?: string; token?: string; password?: string; tls?: boolean; 'tls-fingerprint'?: string },
  env: NodeJS.ProcessEnv = process.env,
): OperatorTarget {
  const stateDir = resolveStateDir(env);
  const { path: configPath, config } = readOpenclawConfig({ stateDir, env });
  let url = flags.url ?? env.OPENCLAW_GATEWAY_URL?.trim();
  if (!url) {
    const envPort = env.OPENCLAW_GATEWAY_PORT?.trim();
    const configPort = configuredGatewayPort(config);
    const hostPort = envPort
      ? envPort.includes(':')
        ? envPort
        : `127.0.0.1:${envPort}`
      : `127.0.0.1:${configPort ?? DEFAULT_GATEWAY_PORT}`;
    url = `${localTls(config, configPath) ? 'wss' : 'ws'}://${hostPort}/`;
  }
  if (!/^wss?:\/\//.test(url))
    throw new IpcError('ERR_USAGE', `--url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
  if (flags.tls) url = url.replace(/^ws:\/\//, 'wss://');
  const tlsFingerprint = resolvePin(url, flags['tls-fingerprint'], stateDir, config, configPath);
  const flagToken = flags.token?.trim();
  const flagPassword = flags.password?.trim();
  if (flags.token !== undefined && !flagToken) throw new IpcError('ERR_USAGE', '--token must not be empty');
  if (flags.password !== undefined && !flagPassword) throw new IpcError('ERR_USAGE', '--password must not be empty');
  // An explicit secret is what the user means to present: env and config secrets are not added to it.
  if (flagToken || flagPassword) {
    return {
      url,
      stateDir,
      ...(tlsFingerprint ? { tlsFingerprint } : {}),
      ...(flagToken ? { token: flagToken, tokenSource: 'option' as const } : { tokenSource: 'none' as const }),
      ...(flagPassword
        ? { password: flagPassword, passwordSource: 'option' as const }
        : { passwordSource: 'none' as const }),
    };
  }
  const secrets = configuredSecrets(config);
  const token = fromEnvOrConfig(env.OPENCLAW_GATEWAY_TOKEN, secrets.token);
  const password = fromEnvOrConfig(env.OPENCLAW_GATEWAY_PASSWORD, secrets.password);
  return {
    url,
    stateDir,
    ...(tlsFingerprint ? { tlsFingerprint } : {}),
    ...(token.value ? { token: token.value } : {}),
    tokenSource: token.source,
    ...(password.value ? { password: password.value } : {}),
    passwordSource: password.source,
  };
}

/**
 * A secret source for long-lived clients (a node host, a reconnecting operator): re-resolves token and
 * password from env and openclaw.json at every connect attempt, so a Gateway's secret rotation (4001)
 * is followed. undefined when a flag gives the secret: a literal is what the user means, and the client
 * stops with a clear error when the Gateway rotates it away.
 */
export function operatorCredentials(
  flags: { token?: string; password?: string },
  env: NodeJS.ProcessEnv = process.env,
): (() => GatewayCredentials) | undefined {
  if (flags.token?.trim() || flags.password?.trim()) return undefined;
  return () => {
    const target = resolveOperatorTarget({ url: 'ws://127.0.0.1/' }, env);
    return { token: target.token, password: target.password };
  };
}

function localTls(config: Record<string, unknown>, configPath: string): boolean {
  try {
    return readTlsSettings(config, configPath).enabled === true;
  } catch {
    return false; // a malformed gateway.tls is the Gateway's error to report; the client tries plain ws
  }
}

/** --tls-fingerprint (validated); else, for wss:// to loopback, the local Gateway's certificate. */
function resolvePin(
  url: string,
  flag: string | undefined,
  stateDir: string,
  config: Record<string, unknown>,
  configPath: string,
): string | undefined {
  if (flag !== undefined) {
    let fingerprint: string;
    try {
      fingerprint = requireTlsFingerprint(flag);
    } catch (err) {
      throw new IpcError('ERR_USAGE', (err as Error).message);
    }
    if (!url.startsWith('wss://'))
      throw new IpcError(
        'ERR_USAGE',
        `--tls-fingerprint needs a wss:// URL (got ${url}); pass --tls or a wss:// --url`,
      );
    return fingerprint;
  }
  if (!url.startsWith('wss://')) return undefined;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  if (!isLoopbackAddress(host)) return undefined;
  try {
    return localGatewayFingerprint(stateDir, readTlsSettings(config, configPath));
  } catch {
    return undefined;
  }
}

function fromEnvOrConfig(
  envValue: string | undefined,
  configValue: unknown,
): { value?: string; source: CredentialSource } {
  const fromEnv = envValue?.trim();
  if (fromEnv) return { value: fromEnv, source: 'env' };
  // A wrong type or an oversize value is "not configured" here: the Gateway reports the malformed file.
  const fromConfig = configSecret.check(configValue) ? configValue.trim() : '';
  if (fromConfig !== '') return { value: fromConfig, source: 'config' };
  return { source: 'none' };
}

/**
 * One operator connection (`gateway-client` / `backend`, no device identity: the shared token on
 * loopback is enough, and approvals stay bound to this connection). No reconnect: a CLI call either
 * gets through or reports why.
 */
export async function connectOperator(
  target: OperatorTarget,
  options: { timeoutMs?: number; displayName?: string; credentials?: () => GatewayCredentials } = {},
): Promise<GatewayClient> {
  const client = new GatewayClient({
    url: target.url,
    ...(target.tlsFingerprint ? { tlsFingerprint: target.tlsFingerprint } : {}),
    role: 'operator',
    token: target.token,
    password: target.password,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    scopes: [...OPERATOR_SCOPES],
    client: {
      id: 'gateway-client',
      mode: 'backend',
      version: '0.1.0',
      platform: process.platform,
      displayName: options.displayName ?? 'openclaw-ipc cli',
    },
    reconnect: false,
    connectTimeoutMs: options.timeoutMs ?? 10_000,
  });
  try {
    await client.start();
  } catch (err) {
    if (
      target.tokenSource === 'none' &&
      (target.passwordSource ?? 'none') === 'none' &&
      err instanceof GatewayRequestError
    ) {
      throw new IpcError(
        err.code,
        `${err.message} (no Gateway token or password: set OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD, pass --token/--password, ` +
          `or use the state dir whose openclaw.json has gateway.auth.token or gateway.auth.password)`,
        { cause: err },
      );
    }
    throw err;
  }
  return client;
}

export interface NodeSummary {
  nodeId: string;
  displayName?: string;
  connected?: boolean;
  [key: string]: unknown;
}

/** Finds a node by exact id, exact display name (case-insensitive), or unique id prefix (≥ 6 chars). */
export function pickNode(nodes: readonly NodeSummary[], query: string): NodeSummary {
  const exact = nodes.find((n) => n.nodeId === query);
  if (exact) return exact;
  const lower = query.toLowerCase();
  const byName = nodes.filter((n) => typeof n.displayName === 'string' && n.displayName.toLowerCase() === lower);
  const connectedByName = byName.filter((n) => n.connected !== false);
  if (connectedByName.length === 1) return connectedByName[0]!;
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    throw new IpcError(
      'ERR_NODE_AMBIGUOUS',
      `${byName.length} nodes are named ${JSON.stringify(query)}; use the node id`,
    );
  const byPrefix = query.length >= 6 ? nodes.filter((n) => n.nodeId.startsWith(lower)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1)
    throw new IpcError(
      'ERR_NODE_AMBIGUOUS',
      `node id prefix ${JSON.stringify(query)} matches ${byPrefix.length} nodes`,
    );
  throw new IpcError(
    'ERR_NODE_NOT_FOUND',
    `no node matches ${JSON.stringify(query)} (see \`openclaw-ipc nodes list\`)`,
  );
}

export async function resolveNodeId(client: GatewayClient, query: string): Promise<string> {
  const list = await client.request<{ nodes?: NodeSummary[] }>('node.list', {});
  return pickNode(Array.isArray(list?.nodes) ? list.nodes : [], query).nodeId;
}
