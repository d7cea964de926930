// What runs for one state dir, as `status` and `doctor` report it: the lock holders (Gateway, exec host),
// the sockets (exec, bridge), and a probe of the Gateway (health + node.list) with a short deadline.
import fs from 'node:fs';
import path from 'node:path';

import { defaultHostSocketPath } from '../bridge/paths.js';
import { connectOperator, resolveOperatorTarget } from '../client/operator.js';
import { readApprovals, approvalsFilePath, socketPathFor } from '../exec-host/exec-approvals-file.js';
import { inspectInstanceLock, type LockInspection } from '../native/file-lock.js';
import { GATEWAY_LOCK_FILE } from '../gateway/instance-lock.js';
import { processUptimeMs } from './process-info.js';

export interface LockedComponent {
  lock: LockInspection;
  pid?: number;
  uptimeMs?: number;
}

export interface GatewayProbe {
  url: string;
  reachable: boolean;
  error?: string;
  errorCode?: string;
  health?: Record<string, unknown>;
  nodes?: Array<{ nodeId: string; displayName?: string; connected?: boolean }>;
}

export interface LocalState {
  stateDir: string;
  gateway: LockedComponent & { probe: GatewayProbe };
  execHost: LockedComponent & { socket: string; socketExists: boolean };
  bridge: { socket: string; socketExists: boolean };
}

function locked(file: string): LockedComponent {
  const lock = inspectInstanceLock(file);
  if (lock.state !== 'live' || lock.pid === undefined) return { lock };
  const uptimeMs = processUptimeMs(lock.pid);
  return { lock, pid: lock.pid, ...(uptimeMs !== undefined ? { uptimeMs } : {}) };
}

/** The exec socket from exec-approvals.json (or the default), without failing on a broken file. */
export function execSocketPath(stateDir: string): string {
  let file;
  try {
    file = readApprovals(approvalsFilePath(stateDir));
  } catch {
    file = undefined;
  }
  return socketPathFor(file ?? { version: 1 }, stateDir);
}

/** Where `up` puts the bridge host's socket for this state dir. */
export function bridgeSocketPath(stateDir: string): string {
  return process.platform === 'darwin'
    ? defaultHostSocketPath()
    : path.join(stateDir, 'bridge', 'OpenClaw', 'bridge.sock');
}

export async function probeGateway(stateDir: string, timeoutMs: number): Promise<GatewayProbe> {
  let url = 'unknown';
  try {
    const target = resolveOperatorTarget({}, { ...process.env, OPENCLAW_STATE_DIR: stateDir });
    url = target.url;
    const client = await connectOperator(target, { timeoutMs, displayName: 'openclaw-ipc status' });
    try {
      const health = await client.request<Record<string, unknown>>('health', {}, { timeoutMs });
      const list = await client.request<{ nodes?: GatewayProbe['nodes'] }>('node.list', {}, { timeoutMs });
      return { url, reachable: true, health, nodes: Array.isArray(list?.nodes) ? list.nodes : [] };
    } finally {
      await client.close();
    }
  } catch (err) {
    return {
      url,
      reachable: false,
      error: (err as Error)?.message ?? String(err),
      ...(typeof (err as { code?: unknown }).code === 'string' ? { errorCode: (err as { code: string }).code } : {}),
    };
  }
}

export async function inspectLocalState(
  stateDir: string,
  options: { probeTimeoutMs?: number } = {},
): Promise<LocalState> {
  const execSocket = execSocketPath(stateDir);
  const bridgeSocket = bridgeSocketPath(stateDir);
  return {
    stateDir,
    gateway: {
      ...locked(path.join(stateDir, GATEWAY_LOCK_FILE)),
      probe: await probeGateway(stateDir, options.probeTimeoutMs ?? 3_000),
    },
    execHost: {
      ...locked(path.join(stateDir, 'exec-approvals.lock')),
      socket: execSocket,
      socketExists: fs.existsSync(execSocket),
    },
    bridge: { socket: bridgeSocket, socketExists: fs.existsSync(bridgeSocket) },
  };
}
