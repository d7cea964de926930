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

/** node.json's Gateway address: what the options name, or host/port/tls when no URL is given. */
function configuredGateway(options: NodeHostOptions, tls: boolean): NodeConfig['gateway'] | undefined {
  if (options.gateway) return options.gateway;
  if (options.url) return undefined;
  return {
    host: options.host ?? DEFAULT_GATEWAY_HOST,
    port: options.port ?? DEFAULT_GATEWAY_PORT,
    ...(tls ? { tls } : {}),
    ...(options.tlsFingerprint ? { tlsFingerprint: options.tlsFingerprint } : {}),
  };
}

/** The Gateway connection as role "node" (client.id "node-host"), declaring this host's commands. */
function createNodeClient(
  options: NodeHostOptions,
  url: string,
  identity: ReturnType<typeof loadOrCreateIdentity>,
  config: NodeConfig,
  log: (message: string) => void,
): GatewayClient {
  return new GatewayClient({
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
}

/** The commands this host serves, by name. */
function commandHandlers(systemRun: SystemRunService): Map<string, Handler> {
  return new Map<string, Handler>([
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
}

/** node.host.stats: what the host reports about itself after each hello. */
function hostStats(stateDir: string): Record<string, unknown> {
  const stats: Record<string, unknown> = {
    cpuCount: os.cpus().length,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    memoryTotalBytes: os.totalmem(),
    memoryFreeBytes: os.freemem(),
  };
  try {
    const disk = fs.statfsSync(stateDir);
    stats.diskTotalBytes = disk.blocks * disk.bsize;
    stats.diskAvailableBytes = disk.bavail * disk.bsize;
  } catch {
    // disk figures are optional in node.host.stats
  }
  return stats;
}

/**
 * node.invoke.request and node.invoke.cancel: each invoke runs once (a re-sent request is answered again
 * with the same result), its result goes through the outbox, and a cancel aborts it.
 */
class InvokeDispatcher {
  // Invoke ids seen on this host (in flight or answered): a re-sent request never runs twice.
  private readonly seen = new Map<string, Promise<InvokeResultParams>>();
  // In flight, by invoke id: node.invoke.cancel (the requester is gone) aborts them.
  private readonly active = new Map<string, AbortController>();
  readonly resultListeners: Array<(id: string, outcome: DeliveryOutcome) => void> = [];

  constructor(
    private readonly nodeId: string,
    private readonly handlers: Map<string, Handler>,
    private readonly outbox: ResultOutbox,
    private readonly log: (message: string) => void,
  ) {}

  private async execute(request: InvokeRequest): Promise<InvokeResultParams> {
    const base = { id: request.id, nodeId: this.nodeId };
    const controller = new AbortController();
    this.active.set(request.id, controller);
    try {
      const handler = this.handlers.get(request.command);
      if (!handler) throw new NodeCommandError('UNAVAILABLE', 'command not supported');
      const params = parseInvokeParams(request);
      const payload = await handler(params, request, controller.signal);
      return payload === undefined
        ? { ...base, ok: true }
        : { ...base, ok: true, payloadJSON: JSON.stringify(payload) };
    } catch (err) {
      return { ...base, ok: false, error: toWireError(err) };
    } finally {
      this.active.delete(request.id);
    }
  }

  /** node.invoke.cancel {invokeId, nodeId} (upstream's shape): the Gateway stopped waiting for this invoke. */
  onCancel(payload: unknown): void {
    if (typeof payload !== 'object' || payload === null) return;
    const { invokeId, nodeId } = payload as Record<string, unknown>;
    if (typeof invokeId !== 'string' || (nodeId !== undefined && nodeId !== this.nodeId)) return;
    const controller = this.active.get(invokeId);
    if (!controller) return;
    this.log(`invoke ${invokeId} cancelled by the Gateway`);
    controller.abort();
  }

  onInvoke(payload: unknown): void {
    if (TRACE) traceMark('node.invoke');
    const request = parseInvokeRequest(payload);
    if (!request) {
      this.log('ignored a malformed node.invoke.request');
      return;
    }
    if (request.nodeId !== undefined && request.nodeId !== this.nodeId) {
      this.log(`ignored node.invoke.request ${request.id} addressed to ${request.nodeId}`);
      return;
    }
    const previous = this.seen.get(request.id);
    if (previous) {
      // Re-sent request: answer again with the same result once it exists, without running again.
      void previous.then((result) => this.outbox.deliver(result));
      return;
    }
    const running = this.execute(request);
    this.seen.set(request.id, running);
    while (this.seen.size > MAX_SEEN_INVOKES) this.seen.delete(this.seen.keys().next().value as string);
    void running.then(async (result) => {
      if (TRACE) traceMark('node.result');
      const outcome = await this.outbox.deliver(result);
      for (const listener of this.resultListeners) listener(request.id, outcome);
    });
  }

  /** Nobody will receive these results: stop the runs instead of leaving them behind. */
  abortAll(): void {
    for (const controller of this.active.values()) controller.abort();
  }
}

/**
 * What the node sends after each hello: its stats, skills and plugin tools (tolerating PAIRING_CHANGED),
 * then node.runnerInventory.update, which is refused until an operator approves the command surface and
 * so is retried with backoff (at once again on node.pair.resolved).
 */
class PostHello {
  private inventoryTimer: NodeJS.Timeout | undefined;
  private inventoryAttempt = 0;
  private inventoryRefused = false;
  closed = false;

  constructor(
    private readonly client: GatewayClient,
    private readonly stateDir: string,
    private readonly log: (message: string) => void,
  ) {}

  async announce(): Promise<void> {
    const tolerant = (method: string, params: unknown): Promise<unknown> =>
      this.client.request(method, params).catch((err: Error) => {
        // PAIRING_CHANGED right after a fresh pairing is expected once (OpenClaw 2026.9.6 sends it); anything else is logged.
        if (!(err instanceof GatewayRequestError && err.detailCode === 'PAIRING_CHANGED'))
          this.log(`${method}: ${err.message}`);
      });
    await Promise.all([
      tolerant('node.event', { event: 'node.host.stats', payloadJSON: JSON.stringify(hostStats(this.stateDir)) }),
      tolerant('node.skills.update', { skills: [] }),
      tolerant('node.pluginTools.update', { tools: [] }),
    ]);
  }

  /** A fresh start of the inventory retries (after a hello or node.pair.resolved). */
  restartInventory(): void {
    this.inventoryAttempt = 0;
    this.updateInventory();
  }

  stop(): void {
    clearTimeout(this.inventoryTimer);
  }

  updateInventory(): void {
    clearTimeout(this.inventoryTimer);
    if (this.closed || !this.client.connected) return;
    this.client
      .request('node.runnerInventory.update', {
        protocolFeatures: ['node-worker-supervisor-v6'],
        workerHost: { enabled: false },
      })
      .then(
        () => {
          if (this.inventoryRefused) this.log('node.runnerInventory.update accepted: command surface approved');
          this.inventoryRefused = false;
          this.inventoryAttempt = 0;
        },
        (err: Error) => {
          if (this.closed || !this.client.connected) return;
          this.inventoryRefused = true;
          if (this.inventoryAttempt === 0) this.log(`node.runnerInventory.update: ${err.message}`);
          const delay = INVENTORY_RETRY_MS[Math.min(this.inventoryAttempt, INVENTORY_RETRY_MS.length - 1)]!;
          this.inventoryAttempt += 1;
          this.inventoryTimer = setTimeout(() => this.updateInventory(), delay);
        },
      );
  }
}

export function startNodeHost(options: NodeHostOptions): NodeHost {
  const log = options.log ?? ((message: string) => process.stderr.write(`[node-host] ${message}\n`));
  const identity = loadOrCreateIdentity(options.stateDir);
  const tls = options.tls === true || options.tlsFingerprint !== undefined;
  const config = loadOrCreateNodeConfig(options.stateDir, {
    displayName: options.displayName,
    gateway: configuredGateway(options, tls),
  });
  const url = options.url ?? gatewayWsUrl(options.host, options.port, tls);
  const client = createNodeClient(options, url, identity, config, log);
  const outbox = new ResultOutbox(client, { log });
  const systemRun = createSystemRunService({
    stateDir: options.stateDir,
    mode: options.execHost ?? execHostModeFromEnv(),
    emitEvent: (event, payload) => sendNodeEvent(event, payload),
    log,
    ...(options.inProcessApp ? { inProcessApp: options.inProcessApp } : {}),
  });
  const invokes = new InvokeDispatcher(identity.deviceId, commandHandlers(systemRun), outbox, log);
  const postHello = new PostHello(client, options.stateDir, log);

  function sendNodeEvent(event: string, payload: unknown): void {
    if (!client.connected) return; // exec.* events are advisory; the result itself goes through the outbox
    client.request('node.event', { event, payloadJSON: JSON.stringify(payload) }).catch((err: Error) => {
      log(`node.event ${event} failed: ${err.message}`);
    });
  }

  client.on('event', (frame: EventFrame) => {
    if (frame.event === 'node.invoke.request') invokes.onInvoke(frame.payload);
    else if (frame.event === 'node.invoke.cancel') invokes.onCancel(frame.payload);
    else if (frame.event === 'node.pair.resolved') postHello.restartInventory();
  });
  client.on('hello', () => {
    log(`connected to ${url} as node ${identity.deviceId}`);
    outbox.flush();
    void postHello.announce().then(() => postHello.restartInventory());
  });
  client.on('disconnect', ({ code, reason, willReconnect, error }) => {
    postHello.stop();
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
      invokes.resultListeners.push(listener);
    },
    async close() {
      postHello.closed = true;
      postHello.stop();
      invokes.abortAll();
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
