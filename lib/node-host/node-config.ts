// <state>/node.json: the node host's own record ({version:1, nodeId, displayName?, gateway?}, 0600).
// Its nodeId is the stable instance id sent as client.instanceId; the Gateway's node id is the
// device id of the Ed25519 identity, not this value.
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir, readJsonFile, writeFileAtomic } from '../common/state-dir.js';

export interface NodeConfig {
  version: 1;
  nodeId: string;
  displayName?: string;
  gateway?: { host: string; port: number; tls?: boolean; tlsFingerprint?: string };
  [unknownField: string]: unknown;
}

export function nodeConfigPath(stateDir: string): string {
  return path.join(stateDir, 'node.json');
}

/** The Gateway node.json remembers (host, port, tls, tlsFingerprint), without creating the file. */
export function rememberedGateway(stateDir: string): NodeConfig['gateway'] | undefined {
  const stored = readJsonFile<Partial<NodeConfig>>(nodeConfigPath(stateDir));
  const gateway = stored?.gateway as Record<string, unknown> | undefined;
  if (typeof gateway?.host !== 'string' || typeof gateway.port !== 'number') return undefined;
  return {
    host: gateway.host,
    port: gateway.port,
    ...(gateway.tls === true ? { tls: true } : {}),
    ...(typeof gateway.tlsFingerprint === 'string' ? { tlsFingerprint: gateway.tlsFingerprint } : {}),
  };
}

/**
 * Reads node.json, creating it on first run; a changed display name or gateway address is written
 * back (other keys preserved) so `nodes list` shows what the operator last chose.
 */
export function loadOrCreateNodeConfig(
  stateDir: string,
  update: { displayName?: string; gateway?: NodeConfig['gateway'] } = {},
): NodeConfig {
  ensurePrivateDir(stateDir);
  const file = nodeConfigPath(stateDir);
  const stored = readJsonFile<Partial<NodeConfig>>(file);
  if (stored !== undefined && (typeof stored !== 'object' || stored === null || Array.isArray(stored))) {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file} is not a JSON object`);
  }
  const current: NodeConfig = {
    ...(stored ?? {}),
    version: 1,
    nodeId: typeof stored?.nodeId === 'string' && stored.nodeId !== '' ? stored.nodeId : crypto.randomUUID(),
  };
  let changed = stored === undefined || stored.nodeId !== current.nodeId;
  if (update.displayName !== undefined && current.displayName !== update.displayName) {
    current.displayName = update.displayName;
    changed = true;
  }
  if (current.displayName === undefined) {
    current.displayName = os.hostname();
    changed = true;
  }
  if (update.gateway && JSON.stringify(current.gateway) !== JSON.stringify(update.gateway)) {
    current.gateway = update.gateway;
    changed = true;
  }
  if (changed) writeFileAtomic(file, `${JSON.stringify(current, null, 2)}\n`, 0o600);
  return current;
}
