// Operator connections for the CLI: where the Gateway is, which token to present, and resolving a
// node given by id, id prefix or display name. The token is read (never generated) from
// --token, OPENCLAW_GATEWAY_TOKEN, or gateway.auth.token in <state>/openclaw.json.
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { readJsonFile, resolveStateDir } from '../common/state-dir.js';
import { GatewayRequestError } from './errors.js';
import { GatewayClient } from './gateway-client.js';

export const OPERATOR_SCOPES: readonly string[] = ['operator.admin', 'operator.read', 'operator.write', 'operator.approvals', 'operator.pairing'];
const DEFAULT_PORT = 18789;

export interface OperatorTarget {
  url: string;
  token?: string;
  /** Where the token came from, for error messages. */
  tokenSource: 'option' | 'env' | 'config' | 'none';
  stateDir: string;
}

interface ConfigShape {
  gateway?: { port?: unknown; auth?: { token?: unknown } };
}

function readConfig(stateDir: string): ConfigShape {
  try {
    const value = readJsonFile<unknown>(path.join(stateDir, 'openclaw.json'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ConfigShape) : {};
  } catch (err) {
    throw new IpcError('ERR_CONFIG_MALFORMED', (err as Error).message, { cause: err });
  }
}

/** Resolves URL and token from flags, env and the state dir's openclaw.json. */
export function resolveOperatorTarget(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): OperatorTarget {
  const stateDir = resolveStateDir(env);
  const config = readConfig(stateDir);
  let url = flags.url ?? env.OPENCLAW_GATEWAY_URL?.trim();
  if (!url) {
    const envPort = env.OPENCLAW_GATEWAY_PORT?.trim();
    const configPort = typeof config.gateway?.port === 'number' ? config.gateway.port : undefined;
    const hostPort = envPort ? (envPort.includes(':') ? envPort : `127.0.0.1:${envPort}`) : `127.0.0.1:${configPort ?? DEFAULT_PORT}`;
    url = `ws://${hostPort}/`;
  }
  if (!/^wss?:\/\//.test(url)) throw new IpcError('ERR_USAGE', `--url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
  if (flags.token) return { url, token: flags.token, tokenSource: 'option', stateDir };
  const envToken = env.OPENCLAW_GATEWAY_TOKEN?.trim();
  if (envToken) return { url, token: envToken, tokenSource: 'env', stateDir };
  const configToken = config.gateway?.auth?.token;
  if (typeof configToken === 'string' && configToken.trim() !== '') return { url, token: configToken.trim(), tokenSource: 'config', stateDir };
  return { url, tokenSource: 'none', stateDir };
}

/**
 * One operator connection (`gateway-client` / `backend`, no device identity: the shared token on
 * loopback is enough, and approvals stay bound to this connection). No reconnect: a CLI call either
 * gets through or reports why.
 */
export async function connectOperator(target: OperatorTarget, options: { timeoutMs?: number; displayName?: string } = {}): Promise<GatewayClient> {
  const client = new GatewayClient({
    url: target.url,
    role: 'operator',
    token: target.token,
    scopes: [...OPERATOR_SCOPES],
    client: { id: 'gateway-client', mode: 'backend', version: '0.1.0', platform: process.platform, displayName: options.displayName ?? 'openclaw-ipc cli' },
    reconnect: false,
    connectTimeoutMs: options.timeoutMs ?? 10_000,
  });
  try {
    await client.start();
  } catch (err) {
    if (target.tokenSource === 'none' && err instanceof GatewayRequestError) {
      throw new IpcError(err.code, `${err.message} (no Gateway token: pass --token, set OPENCLAW_GATEWAY_TOKEN, or use the state dir whose openclaw.json has gateway.auth.token)`, { cause: err });
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
  if (byName.length > 1) throw new IpcError('ERR_NODE_AMBIGUOUS', `${byName.length} nodes are named ${JSON.stringify(query)}; use the node id`);
  const byPrefix = query.length >= 6 ? nodes.filter((n) => n.nodeId.startsWith(lower)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new IpcError('ERR_NODE_AMBIGUOUS', `node id prefix ${JSON.stringify(query)} matches ${byPrefix.length} nodes`);
  throw new IpcError('ERR_NODE_NOT_FOUND', `no node matches ${JSON.stringify(query)} (see \`openclaw-ipc nodes list\`)`);
}

export async function resolveNodeId(client: GatewayClient, query: string): Promise<string> {
  const list = await client.request<{ nodes?: NodeSummary[] }>('node.list', {});
  return pickNode(Array.isArray(list?.nodes) ? list.nodes : [], query).nodeId;
}
