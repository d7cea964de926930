// The headless node host: joins a Gateway as role "node" (client.id "node-host"), declares its
// commands, answers the post-hello requests the way OpenClaw's node host does, serves
// node.invoke.request events and returns every result through the outbox (nothing lost on a drop).
import fs from 'node:fs';
import os from 'node:os';

import {
  GatewayClient,
  type EventFrame,
  type GatewayClientOptions,
  type GatewayCredentials,
  type HelloOk,
  type ReconnectOptions,
} from '../client/gateway-client.js';
import { GatewayRequestError } from '../client/errors.js';
import {
  DEFAULT_GATEWAY_HOST,
  DEFAULT_GATEWAY_PORT,
  MAX_FRAME_JSON_DEPTH,
  gatewayWsUrl,
} from '../protocol/constants.js';
import { validateNodeInvokeRequestPayload } from '../protocol/frames.js';
import { parseBoundedJson } from '../common/bounded-json.js';
import { loadOrCreateIdentity } from '../client/identity.js';
import { CANVAS_COMMANDS, canvasUnavailable } from './canvas.js';
import { NodeCommandError, toWireError } from './invoke-error.js';
import { loadOrCreateNodeConfig, type NodeConfig } from './node-config.js';
import { systemNotify } from './notify.js';
import { ResultOutbox, type DeliveryOutcome, type InvokeResultParams } from './outbox.js';
import { createSystemRunService, type ExecHostMode, type InProcessApp, type SystemRunService } from './system-run.js';
import { TRACE, traceMark } from '../common/trace.js';
import { systemWhich } from './which.js';

export const NODE_HOST_VERSION = '0.1.0';
export const NODE_CAPS: readonly string[] = ['system'];
/** What this host declares. canvas.* is served (with a clear error) but not declared on a headless host. */
export const NODE_COMMANDS: readonly string[] = [
  'system.execApprovals.get',
  'system.execApprovals.set',
  'system.notify',
  'system.run',
  'system.run.prepare',
  'system.which',
];

const MAX_SEEN_INVOKES = 1_024;
const INVENTORY_RETRY_MS = [500, 1_000, 2_000, 4_000, 5_000];

export interface NodeHostOptions {
  /** ws://host:port/ or wss://… ; default from host/port (and tls). */
  url?: string;
  host?: string;
  port?: number;
  /** wss:// when the URL comes from host/port. */
  tls?: boolean;
  /** The Gateway certificate's SHA-256 pin (wss:// only); remembered in node.json with the address. */
  tlsFingerprint?: string;
  /** What node.json should remember as its Gateway; default host/port/tls/tlsFingerprint when no url is given. */
  gateway?: NodeConfig['gateway'];
  token?: string;
  /** For a password-mode Gateway (sent as auth.password). */
  password?: string;
  /** A secret source read at every connect (wins over token/password): the node follows a rotation (4001). */
  credentials?: () => GatewayCredentials;
  stateDir: string;
  displayName?: string;
  /** app: always through the exec socket (fail closed); local: the in-process runner; auto: app when it is up. */
  execHost?: ExecHostMode;
  /** The app's exec host in this process (`up`): system.run reaches it without the socket (same policy path). */
  inProcessApp?: InProcessApp;
  /** The Gateway in this process (`up`): join over its in-process link instead of a WebSocket (same handshake). */
  link?: GatewayClientOptions['link'];
  reconnect?: ReconnectOptions;
  log?: (message: string) => void;
}

export interface InvokeRequest {
  id: string;
  nodeId?: string;
  command: string;
  paramsJSON?: string | null;
  params?: unknown;
  timeoutMs?: number;
  idempotencyKey?: string;
}

export interface NodeHost {
  /** The Gateway's id for this node: the device id. */
  readonly nodeId: string;
  readonly instanceId: string;
  readonly displayName: string;
  readonly client: GatewayClient;
  readonly systemRun: SystemRunService;
  /** Resolves at the first hello-ok. */
  readonly ready: Promise<HelloOk>;
  /** Emits the delivery outcome of every invoke result (tests and logs). */
  onResult(listener: (id: string, outcome: DeliveryOutcome) => void): void;
  close(): Promise<void>;
}

type Handler = (params: unknown, request: InvokeRequest, signal: AbortSignal) => Promise<unknown>;

export function startNodeHost(options: NodeHostOptions): NodeHost {
  const log = options.log ?? ((message: string) => process.stderr.write(`[node-host] ${message}\n`));
  const identity = loadOrCreateIdentity(options.stateDir);
  const tls = options.tls === true || options.tlsFingerprint !== undefined;
  const config = loadOrCreateNodeConfig(options.stateDir, {
    displayName: options.displayName,
    gateway:
      options.gateway ??
      (options.url
        ? undefined
        : {
            host: options.host ?? DEFAULT_GATEWAY_HOST,
            port: options.port ?? DEFAULT_GATEWAY_PORT,
            ...(tls ? { tls } : {}),
            ...(options.tlsFingerprint ? { tlsFingerprint: options.tlsFingerprint } : {}),
          }),
  });
  const url = options.url ?? gatewayWsUrl(options.host, options.port, tls);
  const client = new GatewayClient({
    url,
    ...(options.tlsFingerprint ? { tlsFingerprint: options.tlsFingerprint } : {}),
    role: 'node',
    token: options.token,
    password: options.password,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    identity,
    stateDir: options.stateDir,
    scopes: [],
    client: {
      id: 'node-host',
      mode: 'node',
      version: NODE_HOST_VERSION,
      platform: process.platform,
      deviceFamily: deviceFamily(),
      displayName: config.displayName,
      instanceId: config.nodeId,
    },
    caps: [...NODE_CAPS],
    commands: [...NODE_COMMANDS],
    pathEnv: process.env.PATH ?? '',
    reconnect: options.reconnect ?? { initialDelayMs: 1_000, maxDelayMs: 10_000 },
    ...(options.link ? { link: options.link } : {}),
    log,
  });
  const outbox = new ResultOutbox(client, { log });
  const systemRun = createSystemRunService({
    stateDir: options.stateDir,
    mode: options.execHost ?? execHostModeFromEnv(),
    emitEvent: (event, payload) => sendNodeEvent(event, payload),
    log,
    ...(options.inProcessApp ? { inProcessApp: options.inProcessApp } : {}),
  });
  const resultListeners: Array<(id: string, outcome: DeliveryOutcome) => void> = [];
  // Invoke ids seen on this host (in flight or answered): a re-sent request never runs twice.
  const seen = new Map<string, Promise<InvokeResultParams>>();
  // In flight, by invoke id: node.invoke.cancel (the requester is gone) aborts them.
  const active = new Map<string, AbortController>();
  let inventoryTimer: NodeJS.Timeout | undefined;
  let inventoryAttempt = 0;
  let inventoryRefused = false;
  let closed = false;

  const handlers = new Map<string, Handler>([
    ['system.which', async (params) => systemWhich(params)],
    ['system.notify', (params) => systemNotify(params)],
    [
      'system.run',
      (params, request, signal) =>
        systemRun.run(params, { invokeId: request.id, timeoutMs: request.timeoutMs, signal }),
    ],
    ['system.run.prepare', (params) => systemRun.prepare(params)],
    ['system.execApprovals.get', async () => systemRun.approvalsGet()],
    ['system.execApprovals.set', async (params) => systemRun.approvalsSet(params)],
    ...CANVAS_COMMANDS.map((name): [string, Handler] => [name, async () => canvasUnavailable(name)]),
  ]);

  function sendNodeEvent(event: string, payload: unknown): void {
    if (!client.connected) return; // exec.* events are advisory; the result itself goes through the outbox
    client.request('node.event', { event, payloadJSON: JSON.stringify(payload) }).catch((err: Error) => {
      log(`node.event ${event} failed: ${err.message}`);
    });
  }

  async function execute(request: InvokeRequest): Promise<InvokeResultParams> {
    const base = { id: request.id, nodeId: identity.deviceId };
    const controller = new AbortController();
    active.set(request.id, controller);
    try {
      const handler = handlers.get(request.command);
      if (!handler) throw new NodeCommandError('UNAVAILABLE', 'command not supported');
      const params = parseInvokeParams(request);
      const payload = await handler(params, request, controller.signal);
      return payload === undefined
        ? { ...base, ok: true }
        : { ...base, ok: true, payloadJSON: JSON.stringify(payload) };
    } catch (err) {
      return { ...base, ok: false, error: toWireError(err) };
    } finally {
      active.delete(request.id);
    }
  }

  /** node.invoke.cancel {invokeId, nodeId} (upstream's shape): the Gateway stopped waiting for this invoke. */
  function onCancel(payload: unknown): void {
    if (typeof payload !== 'object' || payload === null) return;
    const { invokeId, nodeId } = payload as Record<string, unknown>;
    if (typeof invokeId !== 'string' || (nodeId !== undefined && nodeId !== identity.deviceId)) return;
    const controller = active.get(invokeId);
    if (!controller) return;
    log(`invoke ${invokeId} cancelled by the Gateway`);
    controller.abort();
  }

  function onInvoke(payload: unknown): void {
    if (TRACE) traceMark('node.invoke');
    const request = parseInvokeRequest(payload);
    if (!request) {
      log('ignored a malformed node.invoke.request');
      return;
    }
    if (request.nodeId !== undefined && request.nodeId !== identity.deviceId) {
      log(`ignored node.invoke.request ${request.id} addressed to ${request.nodeId}`);
      return;
    }
    const previous = seen.get(request.id);
    if (previous) {
      // Re-sent request: answer again with the same result once it exists, without running again.
      void previous.then((result) => outbox.deliver(result));
      return;
    }
    const running = execute(request);
    seen.set(request.id, running);
    while (seen.size > MAX_SEEN_INVOKES) seen.delete(seen.keys().next().value as string);
    void running.then(async (result) => {
      if (TRACE) traceMark('node.result');
      const outcome = await outbox.deliver(result);
      for (const listener of resultListeners) listener(request.id, outcome);
    });
  }

  async function announce(): Promise<void> {
    const stats: Record<string, unknown> = {
      cpuCount: os.cpus().length,
      loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
      memoryTotalBytes: os.totalmem(),
      memoryFreeBytes: os.freemem(),
    };
    try {
      const disk = fs.statfsSync(options.stateDir);
      stats.diskTotalBytes = disk.blocks * disk.bsize;
      stats.diskAvailableBytes = disk.bavail * disk.bsize;
    } catch {
      // disk figures are optional in node.host.stats
    }
    const tolerant = (method: string, params: unknown): Promise<unknown> =>
      client.request(method, params).catch((err: Error) => {
        // PAIRING_CHANGED right after a fresh pairing is expected once (OpenClaw 2026.9.6 sends it); anything else is logged.
        if (!(err instanceof GatewayRequestError && err.detailCode === 'PAIRING_CHANGED'))
          log(`${method}: ${err.message}`);
      });
    await Promise.all([
      tolerant('node.event', { event: 'node.host.stats', payloadJSON: JSON.stringify(stats) }),
      tolerant('node.skills.update', { skills: [] }),
      tolerant('node.pluginTools.update', { tools: [] }),
    ]);
  }

  /** node.runnerInventory.update is refused until an operator approves the command surface: retry with backoff. */
  function updateInventory(): void {
    clearTimeout(inventoryTimer);
    if (closed || !client.connected) return;
    client
      .request('node.runnerInventory.update', {
        protocolFeatures: ['node-worker-supervisor-v6'],
        workerHost: { enabled: false },
      })
      .then(
        () => {
          if (inventoryRefused) log('node.runnerInventory.update accepted: command surface approved');
          inventoryRefused = false;
          inventoryAttempt = 0;
        },
        (err: Error) => {
          if (closed || !client.connected) return;
          inventoryRefused = true;
          if (inventoryAttempt === 0) log(`node.runnerInventory.update: ${err.message}`);
          const delay = INVENTORY_RETRY_MS[Math.min(inventoryAttempt, INVENTORY_RETRY_MS.length - 1)]!;
          inventoryAttempt += 1;
          inventoryTimer = setTimeout(updateInventory, delay);
        },
      );
  }

  client.on('event', (frame: EventFrame) => {
    if (frame.event === 'node.invoke.request') onInvoke(frame.payload);
    else if (frame.event === 'node.invoke.cancel') onCancel(frame.payload);
    else if (frame.event === 'node.pair.resolved') {
      inventoryAttempt = 0;
      updateInventory();
    }
  });
  client.on('hello', () => {
    log(`connected to ${url} as node ${identity.deviceId}`);
    outbox.flush();
    inventoryAttempt = 0;
    void announce().then(updateInventory);
  });
  client.on('disconnect', ({ code, reason, willReconnect, error }) => {
    clearTimeout(inventoryTimer);
    log(
      `disconnected from the Gateway (${code}${reason ? ` ${reason}` : ''})${willReconnect ? '; reconnecting' : error ? `; stopped: ${error.message}` : ''}`,
    );
  });

  const ready = client.start();
  ready.catch(() => {}); // the caller observes it through `ready`

  return {
    nodeId: identity.deviceId,
    instanceId: config.nodeId,
    displayName: config.displayName ?? '',
    client,
    systemRun,
    ready,
    onResult: (listener) => {
      resultListeners.push(listener);
    },
    async close() {
      closed = true;
      clearTimeout(inventoryTimer);
      // Nobody will receive these results: stop the runs instead of leaving them behind.
      for (const controller of active.values()) controller.abort();
      await client.close();
      await systemRun.close();
    },
  };
}

export function execHostModeFromEnv(env: NodeJS.ProcessEnv = process.env): ExecHostMode {
  const value = env.OPENCLAW_NODE_EXEC_HOST?.trim().toLowerCase();
  if (value === 'app') return 'app';
  if (value === 'local') return 'local';
  return 'auto';
}

function deviceFamily(): string {
  switch (process.platform) {
    case 'darwin':
      return 'Mac';
    case 'linux':
      return 'Linux';
    case 'win32':
      return 'Windows';
    default:
      return process.platform;
  }
}

/** The Gateway's `node.invoke.request` payload, checked by the schema the Gateway sends it with. */
function parseInvokeRequest(payload: unknown): InvokeRequest | undefined {
  if (!validateNodeInvokeRequestPayload.check(payload)) return undefined;
  const { id, nodeId, command, paramsJSON, params, timeoutMs, idempotencyKey } = payload;
  return {
    id,
    nodeId,
    command,
    paramsJSON: paramsJSON ?? null,
    params,
    timeoutMs: timeoutMs || undefined,
    idempotencyKey,
  };
}

/** paramsJSON (a JSON string) wins; a `params` object is accepted as OpenClaw's host does. */
function parseInvokeParams(request: InvokeRequest): unknown {
  if (typeof request.paramsJSON === 'string') {
    try {
      return parseBoundedJson(request.paramsJSON, { maxDepth: MAX_FRAME_JSON_DEPTH });
    } catch (err) {
      const why = (err as { code?: string }).code === 'ERR_JSON_TOO_DEEP' ? 'is nested too deep' : 'is not valid JSON';
      throw new NodeCommandError('INVALID_REQUEST', `INVALID_REQUEST: paramsJSON ${why}`);
    }
  }
  return request.params ?? {};
}
