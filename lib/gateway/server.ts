// startGateway(): the HTTP/WebSocket listener, connection lifecycle (challenge, handshake deadline,
// pre-auth budget per IP), tick broadcast and shutdown.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import { IpcError } from '../common/errors.js';
import { parseBoundedJsonReportingDuplicate } from '../common/bounded-json.js';
import { isLoopbackAddress } from '../common/loopback.js';
import { PendingApprovals, type PendingApproval } from '../common/approval-queue.js';
import { readOpenclawConfig, type MdnsMode } from '../common/openclaw-config.js';
import { resolveStateDir } from '../common/state-dir.js';
import {
  CHALLENGE_CAPABILITIES,
  CloseCode,
  DEFAULT_GATEWAY_HOST,
  DEFAULT_GATEWAY_PORT,
  HANDSHAKE_TIMEOUT_MS,
  MAX_BUFFERED_BYTES,
  MAX_FRAME_JSON_DEPTH,
  MAX_PAYLOAD_BYTES,
  PREAUTH_MAX_PAYLOAD_BYTES,
  TICK_INTERVAL_MS,
} from '../protocol/constants.js';
import { ErrorCode, errorShape } from '../protocol/errors.js';
import { LinkEnd, LinkTransport } from '../protocol/link.js';
import { validateRequestFrame } from '../protocol/frames.js';
import {
  describeAuthSecret,
  isFileBackedSecret,
  loadGatewayAuth,
  type GatewayAuthConfig,
  type GatewayAuthMode,
  type SecretSource,
} from './auth-config.js';
import { watchGatewayAuth, type AuthReloadOutcome } from './auth-reload.js';
import { normalizeIp, type AuthRateLimitOptions } from './auth-rate-limit.js';
import { checkExposure, configuredBind, resolveBind, type BindPlan } from './bind.js';
import type { CommandPolicyOptions } from './command-policy.js';
import { GatewayConnection } from './connection.js';
import {
  DEFAULT_CONTROL_UI_ROOT,
  SECURITY_HEADERS,
  controlUiBuilt,
  loadControlUiAssets,
  refuseHttp,
  serveControlUi,
  type ControlUiAssets,
} from './control-ui.js';
import { GatewayCore, type IdempotencyLimits } from './core.js';
import { handleHandshakeFrame } from './handshake.js';
import { startBonjour, type BonjourStatus } from './bonjour.js';
import { acquireGatewayLock, type InstanceLock } from './instance-lock.js';
import { dispatchRequest } from './methods.js';
import { approveNodeRequest } from './node-pairing.js';
import { PreauthBudget } from './preauth-budget.js';
import {
  PROXY_HEADERS,
  allowedOriginsFromConfig,
  checkRequestOrigin,
  isLocalHostHeader,
  normaliseOrigin,
  ownOrigins,
  refusalResponse,
  type RequestOriginPolicy,
} from './request-origin.js';
import type { NodeSession } from './node-registry.js';
import type { PairedDevice, PairedNode } from './pairing-store.js';
import { loadGatewayTls, readTlsSettings, type GatewayTlsMaterial, type GatewayTlsOptions } from './tls.js';

export interface ConnectionInfo {
  remoteAddress: string;
  headers: http.IncomingHttpHeaders;
  /** The port the request arrived on (a local Host must name it). */
  localPort?: number;
}

export interface GatewayOptions {
  /** Bind address (or a bind mode); wins over `bind`. Default: `bind`, else 127.0.0.1. */
  host?: string;
  /** loopback|lan|tailnet|custom|auto; default gateway.bind of openclaw.json, else loopback. */
  bind?: string;
  /** The address of bind mode custom; default gateway.customBindHost. */
  customBindHost?: string;
  /**
   * TLS (wss:// on the same port), over gateway.tls of openclaw.json. Enabled without files: a self-signed
   * certificate is generated once in <state>/gateway/tls/ and reused. A non-loopback bind requires it.
   */
  tls?: GatewayTlsOptions;
  /** Default 18789; 0 picks an ephemeral port. */
  port?: number;
  /** State dir (openclaw.json, devices/, nodes/); default $OPENCLAW_STATE_DIR or ~/.openclaw. */
  stateDir?: string;
  /** openclaw.json (JSON5); default $OPENCLAW_CONFIG_PATH, else <stateDir>/openclaw.json. */
  configPath?: string;
  /** Shared token; default OPENCLAW_GATEWAY_TOKEN, then gateway.auth.token, else generated and saved. */
  token?: string;
  /** Password (mode password); default gateway.auth.password, then OPENCLAW_GATEWAY_PASSWORD. */
  password?: string;
  /** none|token|password; default gateway.auth.mode, else password when one is configured, else token. */
  authMode?: GatewayAuthMode;
  /** Lockout after repeated wrong secrets per IP; default 10 in 60 s → 5 min, loopback exempt. */
  authRateLimit?: AuthRateLimitOptions;
  env?: NodeJS.ProcessEnv;
  /** Shared approvals queue (pass the exec host's instance when both run in one process). */
  pending?: PendingApprovals;
  /** Count the local exec host as an approval route for exec.approval.request. Default: false. */
  localApprovalRoute?: boolean;
  /** Approve every node's command surface without an operator (e.g. `up` joining its own gateway). Default false. */
  autoApproveNodes?: boolean;
  /**
   * Whether a connection is direct-local (auto-approves pairing). Default: loopback peer, a local Host with
   * the listener's port, no proxy headers, no Origin (spec §6.1).
   */
  isLocal?: (info: ConnectionInfo) => boolean;
  /**
   * Browser origins admitted besides the Gateway's own (http://127.0.0.1|localhost|[::1]:<port>): exact
   * `scheme://host[:port]` values, or "*". Default: `gateway.controlUi.allowedOrigins` of openclaw.json,
   * re-read with the auth config.
   */
  allowedOrigins?: string[];
  /**
   * The control page on plain HTTP GETs of this port (built into dist/control-ui by `npm run build`).
   * Default on; `false` answers every non-WebSocket request with 426 as before.
   */
  controlUi?: false | { root?: string };
  /** Default 10 s (env OPENCLAW_HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  tickIntervalMs?: number;
  preauthMaxPayload?: number;
  maxPayload?: number;
  maxBufferedBytes?: number;
  /**
   * Unauthenticated sockets per IP; a newer one closes the oldest (1013) instead of being refused. Default 32
   * (env OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP).
   */
  maxPreauthPerIp?: number;
  commandPolicy?: CommandPolicyOptions;
  /** Bounds of the idempotency cache, persisted at <state>/gateway/idempotency.json. */
  idempotency?: IdempotencyLimits;
  /** Reported as hello-ok server.version. */
  version?: string;
  /**
   * Follow openclaw.json: a changed gateway.auth secret or mode applies to new handshakes and closes the
   * connections that proved the old one with 4001 "gateway auth changed". Default true. Secrets given as
   * options or env stay fixed for the run (only what the file decides is re-read).
   */
  watchConfig?: boolean;
  /** Stat fallback period of the config watch. Default 2000 ms. */
  configPollMs?: number;
  /** Every config reload's outcome. */
  onAuthReload?: (outcome: AuthReloadOutcome) => void;
  /** Operational lines (auth reloads). Default: stderr with a "[gateway]" prefix. Never given secrets. */
  log?: (line: string) => void;
  /**
   * Bonjour advertising of `_openclaw-gw._tcp` (lib/gateway/bonjour.ts). Default off for library users; the
   * CLI passes the configured mode (upstream's default, minimal). Loopback binds are never advertised.
   */
  mdns?: MdnsMode;
}

export interface GatewayNodes {
  /** Connected nodes. */
  list(): NodeSession[];
  get(nodeId: string): NodeSession | undefined;
  /** Nodes whose command surface an operator approved (persisted). */
  paired(): PairedNode[];
  pendingRequests(): Array<{ requestId: string; nodeId: string; commands: string[] }>;
  /** Approves a pending node pairing request as a local administrator would. */
  approve(requestId: string): { requestId: string; nodeId: string; commands: string[] } | undefined;
  /** Resolves once a node with this id is connected. */
  waitFor(nodeId: string, timeoutMs?: number): Promise<NodeSession>;
}

export interface GatewayHandle {
  /** ws://host:port, or wss:// with TLS. */
  url: string;
  host: string;
  port: number;
  /** How the listeners were chosen; `loopbackCompanion`: 127.0.0.1 on the same port too. */
  bind: BindPlan;
  /** With TLS: the certificate's SHA-256 fingerprint (what clients pin) and where it lives. */
  tls?: { fingerprintSha256: string; certPath: string; keyPath: string; generated: boolean };
  /** The shared token in mode token; '' in modes password and none. Current: follows config reloads. */
  readonly token: string;
  /** Where the active mode's secret came from ('none' in mode none). */
  readonly tokenSource: SecretSource;
  /** The active auth mode, where its secret lives (never the secret), and the password in mode password. Current. */
  readonly auth: { mode: GatewayAuthMode; source: SecretSource; location: string; password?: string };
  /** Whether openclaw.json changes reach the active secret at run time (false for option/env secrets). */
  readonly authReloads: boolean;
  /** Re-reads openclaw.json now (a file change does this by itself). */
  reloadAuth(): AuthReloadOutcome;
  /** openclaw.json, where a config or generated token is stored. */
  configPath: string;
  stateDir: string;
  pending: PendingApprovals;
  nodes: GatewayNodes;
  devices: { paired(): PairedDevice[] };
  /** In-process `node.event` listener: (nodeId, event, payload). Returns an unsubscribe function. */
  onNodeEvent(listener: (nodeId: string, event: string, payload: unknown) => void): () => void;
  /** Open WebSocket connections (authenticated or not). */
  connectionCount(): number;
  /** The control page's address and size, or undefined when it is off or not built. */
  controlUi?: { url: string; bytes: ControlUiAssets['bytes'] };
  /** Whether the Gateway is advertised over Bonjour, and what (or why not). */
  readonly discovery: BonjourStatus;
  /**
   * A connection from this process without TCP or WebSocket framing (protocol/link.ts): the client end,
   * for GatewayClient's `link` option. The Gateway treats it as a loopback WebSocket from this machine:
   * the same challenge, handshake, auth, pairing, limits and handlers. `up`'s own node host joins this way.
   */
  openInProcessLink(clientMaxPayload: number): LinkEnd;
  /** Broadcasts `shutdown`, closes every connection with 1012, stops listening. Idempotent. */
  close(reason?: string): Promise<void>;
}

/** Spec §6.1 "direct local": loopback peer, local Host for this port, no proxy headers, no browser Origin. */
export function defaultIsLocal(info: ConnectionInfo): boolean {
  if (info.localPort === undefined) return false;
  const verdict = checkRequestOrigin(
    { headers: info.headers, socket: { remoteAddress: info.remoteAddress, localPort: info.localPort } },
    { bindHost: DEFAULT_GATEWAY_HOST },
  );
  return verdict.ok && verdict.directLocal;
}

/**
 * The Control UI exception of spec §6.1: a browser page of this Gateway's *own* origin (not one merely
 * listed in allowedOrigins) opened on this machine's loopback: loopback peer, a local Host for this port,
 * no proxy headers. Such a page may auto-pair as the Control UI; any other browser waits for an operator.
 */
export function isLocalControlPage(info: ConnectionInfo, bindHost: string, tls = false): boolean {
  const origin = info.headers.origin === undefined ? undefined : normaliseOrigin(info.headers.origin);
  if (origin === undefined || info.localPort === undefined) return false;
  return (
    isLoopbackAddress(info.remoteAddress) &&
    isLocalHostHeader(info.headers.host, info.localPort) &&
    !PROXY_HEADERS.some((name) => info.headers[name] !== undefined) &&
    ownOrigins(bindHost, info.localPort, tls).includes(origin)
  );
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Starts a Gateway. Throws IpcError ERR_GATEWAY_LOCKED when another live Gateway uses the state dir,
 * ERR_GATEWAY_PORT_IN_USE when the port is taken.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<GatewayHandle> {
  const env = options.env ?? process.env;
  const stateDir = options.stateDir ?? resolveStateDir(env);
  const lock = acquireGatewayLock(stateDir);
  try {
    return await startLocked(options, env, stateDir, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** What a config reload changes while the Gateway runs; everything reads it through this object. */
interface LiveConfig {
  auth: GatewayAuthConfig;
  /** Browser origins beyond our own: the option, else openclaw.json (re-read with the auth config). */
  allowedOrigins: string[];
}

function readAllowedOrigins(options: GatewayOptions, configPath: string): string[] {
  return options.allowedOrigins ?? allowedOriginsFromConfig(readOpenclawConfig({ configPath }).config, configPath);
}

async function startLocked(
  options: GatewayOptions,
  env: NodeJS.ProcessEnv,
  stateDir: string,
  lock: InstanceLock,
): Promise<GatewayHandle> {
  const plan = planGateway(options, env, stateDir);
  const { bind, tls } = plan;
  const live: LiveConfig = { auth: plan.auth, allowedOrigins: readAllowedOrigins(options, plan.auth.configPath) };
  const pending = options.pending ?? new PendingApprovals();
  const limits = gatewayLimits(options, env);
  const { log, tickIntervalMs, maxPayload, maxBufferedBytes } = limits;

  const core = createCore(options, {
    stateDir,
    auth: live.auth,
    pending,
    tickIntervalMs,
    maxPayload,
    maxBufferedBytes,
  });

  const unwireApprovalEvents = wireApprovalEvents(core, pending);

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload, clientTracking: false });
  const accept = acceptContext(options, core, plan, limits);
  const front = httpFront({
    controlUi: options.controlUi,
    bind,
    allowedOrigins: () => live.allowedOrigins,
    wss,
    accept,
  });
  const servers = [createListener(tls, front.onRequest, front.onUpgrade)];
  if (bind.loopbackCompanion) servers.push(createListener(tls, front.onRequest, front.onUpgrade));

  const scheme = tls ? 'wss' : 'ws';
  let address: net.AddressInfo;
  try {
    address = await listenAll(servers, plan.port, plan.host, scheme);
  } catch (err) {
    unwireApprovalEvents();
    throw err;
  }

  const tick = setInterval(() => core.broadcast('tick', { ts: core.now() }), tickIntervalMs);
  tick.unref();
  const bonjour = await advertise(options, address, env, log, tls);
  const authWatch = watchLiveConfig(options, { core, plan, stateDir, live, log });

  let closing: Promise<void> | undefined;
  const close = (reason = 'service restart'): Promise<void> =>
    (closing ??= shutdown({ tick, authWatch, bonjour, core, unwireApprovalEvents, servers, lock }, reason));
  const openInProcessLink = (clientMaxPayload: number): LinkEnd => {
    const link = acceptInProcessLink(accept, address.port, maxPayload, clientMaxPayload);
    if (closing) link.terminate(); // as a listener that stopped accepting: the client retries or gives up
    return link;
  };

  return gatewayHandle({
    address,
    scheme,
    bind,
    tls,
    auth: () => live.auth,
    watchConfig: options.watchConfig !== false,
    reloadAuth: () => authWatch.reload(),
    stateDir,
    pending,
    core,
    controlUiRoot: front.controlUiRoot,
    controlUi: front.controlUi,
    discovery: bonjour.status,
    openInProcessLink,
    close,
  });
}

/** What every accepted connection (WebSocket or in-process link) is checked and limited with. */
function acceptContext(
  options: GatewayOptions,
  core: GatewayCore,
  plan: ReturnType<typeof planGateway>,
  limits: ReturnType<typeof gatewayLimits>,
): AcceptContext {
  return {
    core,
    preauth: new PreauthBudget<GatewayConnection>(limits.maxPreauthPerIp),
    host: plan.host,
    tls: plan.tls !== undefined,
    isLocal: limits.isLocal,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    maxBufferedBytes: limits.maxBufferedBytes,
    preauthMaxBytes: options.preauthMaxPayload ?? PREAUTH_MAX_PAYLOAD_BYTES,
  };
}

/** Keeps `live` current: auth reloads under the bind rules of the start, and the allowed origins with it. */
function watchLiveConfig(
  options: GatewayOptions,
  parts: {
    core: GatewayCore;
    plan: ReturnType<typeof planGateway>;
    stateDir: string;
    live: LiveConfig;
    log: (line: string) => void;
  },
): ReturnType<typeof watchAuthConfig> {
  const { plan, live } = parts;
  return watchAuthConfig(options, {
    core: parts.core,
    configPath: live.auth.configPath,
    // Same rules as at start, but never generating: a token gone from the file keeps the current one.
    load: () => {
      const next = plan.checkBind(loadGatewayAuth(parts.stateDir, { ...plan.authOptions, generate: false }));
      live.allowedOrigins = readAllowedOrigins(options, live.auth.configPath);
      return next;
    },
    applied: (next) => (live.auth = next),
    log: parts.log,
  });
}

/**
 * The Gateway's HTTP side: Host and Origin checks, the control page (read and compressed on first request),
 * and WebSocket upgrades handed to acceptConnection.
 */
function httpFront(params: {
  controlUi: GatewayOptions['controlUi'];
  bind: BindPlan;
  /** Browser origins beyond our own (a config reload may change them). */
  allowedOrigins: () => string[];
  wss: WebSocketServer;
  accept: AcceptContext;
}) {
  const { controlUi: controlUiOption, bind, allowedOrigins, wss, accept } = params;
  // The 127.0.0.1 companion of a specific-address bind is a loopback listener: its Host check is on.
  const originPolicy = (socket: net.Socket): RequestOriginPolicy => ({
    bindHost: bind.loopbackCompanion && socket.localAddress === DEFAULT_GATEWAY_HOST ? DEFAULT_GATEWAY_HOST : bind.host,
    allowedOrigins: allowedOrigins(),
    tls: accept.tls,
  });
  // The page is read and compressed on its first request, not at start (most runs never serve it).
  const controlUiRoot = controlUiOption === false ? undefined : (controlUiOption?.root ?? DEFAULT_CONTROL_UI_ROOT);
  let controlUiAssets: ControlUiAssets | undefined;
  const controlUi = (): ControlUiAssets | undefined =>
    controlUiRoot === undefined ? undefined : (controlUiAssets ??= loadControlUiAssets(controlUiRoot));
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Host and Origin first (DNS rebinding, foreign pages): the page is served only under this Gateway's names.
    const verdict = checkRequestOrigin(req, originPolicy(req.socket));
    if (!verdict.ok) {
      refuseHttp(res, verdict.status, `${verdict.code}: ${verdict.message}`);
      return;
    }
    const assets = controlUi();
    if (!assets) {
      res.writeHead(426, { ...SECURITY_HEADERS, 'content-type': 'text/plain', connection: 'close' });
      res.end('WebSocket upgrade required\n');
      return;
    }
    serveControlUi(assets, req, res);
  };

  const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    // Host and Origin first: a refused page never holds a pre-auth slot or sees a challenge.
    const verdict = checkRequestOrigin(req, originPolicy(socket));
    if (!verdict.ok) {
      socket.end(refusalResponse(verdict));
      return;
    }
    const ip = socket.remoteAddress ?? 'unknown';
    wss.handleUpgrade(req, socket, head, (ws) => acceptConnection(accept, ws, req, socket, ip, verdict.browser));
  };
  return { onRequest, onUpgrade, controlUiRoot, controlUi };
}

/**
 * Auth, bind and TLS, checked together before any file is generated or port bound: beyond loopback only
 * with a shared secret and TLS.
 */
function planGateway(options: GatewayOptions, env: NodeJS.ProcessEnv, stateDir: string) {
  const port = options.port ?? DEFAULT_GATEWAY_PORT;
  const authOptions = {
    token: options.token,
    password: options.password,
    mode: options.authMode,
    env,
    configPath: options.configPath,
  };
  const auth = loadGatewayAuth(stateDir, authOptions);
  const { config: fileConfig } = readOpenclawConfig({ configPath: auth.configPath });
  const bind = planBind(options, fileConfig, auth.configPath);
  const host = bind.host;
  const tlsSettings = readTlsSettings(fileConfig, auth.configPath, options.tls);
  // Beyond loopback only with a shared secret and TLS; checked before any file is generated or port bound.
  checkExposure(host, port, auth.mode, tlsSettings.enabled === true);
  const tls = tlsSettings.enabled
    ? loadGatewayTls(stateDir, tlsSettings, { ipAddresses: bind.loopbackCompanion ? [host] : [] })
    : undefined;
  // A reload may not drop auth on an exposed bind either.
  const checkBind = (resolved: GatewayAuthConfig): GatewayAuthConfig => {
    checkExposure(host, port, resolved.mode, tls !== undefined);
    return resolved;
  };
  return { port, authOptions, auth, bind, host, tls, checkBind };
}

function createCore(
  options: GatewayOptions,
  parts: {
    stateDir: string;
    auth: GatewayAuthConfig;
    pending: PendingApprovals;
    tickIntervalMs: number;
    maxPayload: number;
    maxBufferedBytes: number;
  },
): GatewayCore {
  return new GatewayCore({
    ...parts,
    authRateLimit: options.authRateLimit,
    version: options.version ?? packageVersion(),
    commandPolicy: options.commandPolicy,
    idempotency: options.idempotency,
    autoApproveNodes: options.autoApproveNodes ?? false,
    localApprovalRoute: options.localApprovalRoute ?? false,
  });
}

/** Reloads auth when openclaw.json or the secret file changes; a changed secret closes the sessions it opened. */
function watchAuthConfig(
  options: GatewayOptions,
  parts: {
    core: GatewayCore;
    configPath: string;
    load: () => GatewayAuthConfig;
    applied: (next: GatewayAuthConfig) => void;
    log: (line: string) => void;
  },
): ReturnType<typeof watchGatewayAuth> {
  const { core } = parts;
  const authWatch = watchGatewayAuth({
    configPath: parts.configPath,
    load: parts.load,
    apply: (next) => {
      const before = core.authGeneration;
      const beforeMode = core.auth.mode;
      const closedCount = core.replaceAuth(next);
      parts.applied(next);
      return { changed: before !== core.authGeneration || beforeMode !== core.auth.mode, closed: closedCount };
    },
    log: parts.log,
    pollMs: options.configPollMs,
    onReload: options.onAuthReload,
  });
  if (options.watchConfig === false) authWatch.close();
  return authWatch;
}

/** Bonjour for the bound address (off unless asked; a wss:// Gateway advertises its fingerprint). */
function advertise(
  options: GatewayOptions,
  address: net.AddressInfo,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  tls: GatewayTlsMaterial | undefined,
): ReturnType<typeof startBonjour> {
  return startBonjour({
    mode: options.mdns ?? 'off',
    bindHost: address.address,
    port: address.port,
    env,
    log,
    ...(tls ? { tlsFingerprintSha256: tls.fingerprintSha256 } : {}),
  });
}

/** Limits and hooks from the options, else the env, else the defaults. */
function gatewayLimits(options: GatewayOptions, env: NodeJS.ProcessEnv) {
  return {
    log:
      options.log ??
      ((line: string) => {
        process.stderr.write(`[gateway] ${line}\n`);
      }),
    handshakeTimeoutMs:
      options.handshakeTimeoutMs ?? positiveInt(env.OPENCLAW_HANDSHAKE_TIMEOUT_MS) ?? HANDSHAKE_TIMEOUT_MS,
    tickIntervalMs: options.tickIntervalMs ?? TICK_INTERVAL_MS,
    maxPayload: options.maxPayload ?? MAX_PAYLOAD_BYTES,
    maxBufferedBytes: options.maxBufferedBytes ?? MAX_BUFFERED_BYTES,
    maxPreauthPerIp: options.maxPreauthPerIp ?? positiveInt(env.OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP) ?? 32,
    isLocal: options.isLocal ?? defaultIsLocal,
  };
}

/** The main listener, then the loopback companion (if any) on the port the main one got (port 0 picks one). */
async function listenAll(servers: http.Server[], port: number, host: string, scheme: string): Promise<net.AddressInfo> {
  try {
    const address = await listen(servers[0]!, port, host, scheme);
    if (servers[1]) await listen(servers[1], address.port, DEFAULT_GATEWAY_HOST, scheme);
    return address;
  } catch (err) {
    for (const server of servers) server.close();
    throw err;
  }
}

/** Stops a Gateway: in-flight work fails first, then sockets and listeners close, then the lock goes. */
async function shutdown(
  parts: {
    tick: NodeJS.Timeout;
    authWatch: { close(): void };
    bonjour: { stop(): Promise<void> };
    core: GatewayCore;
    unwireApprovalEvents: () => void;
    servers: http.Server[];
    lock: InstanceLock;
  },
  reason: string,
): Promise<void> {
  const { tick, authWatch, bonjour, core, unwireApprovalEvents, servers, lock } = parts;
  clearInterval(tick);
  authWatch.close();
  await bonjour.stop();
  core.broadcast('shutdown', { reason });
  // Fail in-flight work first and let those responses go out before the sockets close.
  core.closing = true;
  core.registry.close();
  core.resumed.close();
  core.approvals.close();
  await new Promise((resolve) => setImmediate(resolve));
  for (const conn of core.connections) conn.close(CloseCode.serviceRestart, reason);
  unwireApprovalEvents();
  // close() waits for open sockets: idle HTTP keep-alives go now, WebSockets after their close grace.
  await Promise.all(
    servers.map((server) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      return closed;
    }),
  );
  await core.idempotencyStore.close();
  lock.release();
}

/** What a started Gateway's handle needs: the bound address and the live parts behind its getters. */
interface HandleParts {
  address: net.AddressInfo;
  scheme: 'ws' | 'wss';
  bind: BindPlan;
  tls: GatewayTlsMaterial | undefined;
  /** The auth config in force (a reload replaces it). */
  auth: () => GatewayAuthConfig;
  watchConfig: boolean;
  reloadAuth: GatewayHandle['reloadAuth'];
  stateDir: string;
  pending: PendingApprovals;
  core: GatewayCore;
  controlUiRoot: string | undefined;
  controlUi: () => ControlUiAssets | undefined;
  discovery: GatewayHandle['discovery'];
  openInProcessLink: GatewayHandle['openInProcessLink'];
  close: GatewayHandle['close'];
}

function gatewayHandle(parts: HandleParts): GatewayHandle {
  const { address, scheme, bind, tls, auth, watchConfig, reloadAuth, stateDir, pending, core } = parts;
  const { controlUiRoot, controlUi, discovery, openInProcessLink, close } = parts;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // A wildcard bind is reached on loopback from this machine (the page's own origin is then 127.0.0.1).
  const pageHost = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : urlHost;
  return {
    url: `${scheme}://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    bind,
    ...(tls
      ? {
          tls: {
            fingerprintSha256: tls.fingerprintSha256,
            certPath: tls.certPath,
            keyPath: tls.keyPath,
            generated: tls.generated,
          },
        }
      : {}),
    get token() {
      return auth().token;
    },
    get tokenSource() {
      return auth().source;
    },
    get auth() {
      return {
        mode: auth().mode,
        source: auth().source,
        location: describeAuthSecret(auth()),
        ...(auth().password !== undefined ? { password: auth().password } : {}),
      };
    },
    get authReloads() {
      return watchConfig && (isFileBackedSecret(auth()) || (auth().mode === 'none' && auth().modeSource !== 'option'));
    },
    reloadAuth,
    configPath: auth().configPath,
    stateDir,
    pending,
    nodes: {
      list: () => core.registry.list(),
      get: (nodeId) => core.registry.get(nodeId),
      paired: () => core.pairing.listNodes(),
      pendingRequests: () =>
        core.pairing
          .listNodeRequests()
          .map((r) => ({ requestId: r.requestId, nodeId: r.nodeId, commands: r.commands })),
      approve: (requestId) => approveNodeRequest(core, requestId),
      waitFor: (nodeId, timeoutMs = 30_000) => waitForNode(core, nodeId, timeoutMs),
    },
    devices: { paired: () => core.pairing.listDevices() },
    onNodeEvent: (listener) => {
      core.events.on('node.event', listener);
      return () => core.events.off('node.event', listener);
    },
    connectionCount: () => core.connections.size,
    controlUi:
      controlUiRoot !== undefined && controlUiBuilt(controlUiRoot)
        ? {
            url: `${tls ? 'https' : 'http'}://${pageHost}:${address.port}/`,
            get bytes() {
              return controlUi()!.bytes;
            },
          }
        : undefined,
    discovery,
    openInProcessLink,
    close,
  };
}

/** Approval events go to every operator that may list approvals (operator.read too: it sees, cannot answer). */
function wireApprovalEvents(core: GatewayCore, pending: PendingApprovals): () => void {
  const onRequested = (approval: PendingApproval): void => {
    core.broadcast(
      'exec.approval.requested',
      {
        id: approval.id,
        request: approval.request,
        createdAtMs: approval.createdAtMs,
        expiresAtMs: approval.expiresAtMs,
        // Not in upstream's event (additive): which buttons an approver may offer.
        allowedDecisions: approval.allowedDecisions,
      },
      core.operatorsWith('exec.approval.list'),
    );
  };
  const onResolved = (outcome: {
    id: string;
    decision: unknown;
    resolvedBy?: string;
    reason?: string;
    resolvedAtMs: number;
  }): void => {
    core.broadcast(
      'exec.approval.resolved',
      {
        id: outcome.id,
        decision: outcome.decision,
        resolvedBy: outcome.resolvedBy ?? null,
        reason: outcome.reason,
        ts: outcome.resolvedAtMs,
      },
      core.operatorsWith('exec.approval.list'),
    );
  };
  pending.on('requested', onRequested);
  pending.on('resolved', onResolved);
  return () => {
    pending.off('requested', onRequested);
    pending.off('resolved', onResolved);
  };
}

/** What a new WebSocket connection needs from its Gateway. */
interface AcceptContext {
  core: GatewayCore;
  preauth: PreauthBudget<GatewayConnection>;
  /** The bind host and whether it serves TLS (for the control page's locality check). */
  host: string;
  tls: boolean;
  isLocal: (info: ConnectionInfo) => boolean;
  handshakeTimeoutMs: number;
  maxBufferedBytes: number;
  preauthMaxBytes: number;
}

/** A new WebSocket: a pre-auth slot, a handshake deadline, the challenge; then its frames until it closes. */
function acceptConnection(
  ctx: AcceptContext,
  ws: WebSocket,
  req: http.IncomingMessage,
  socket: net.Socket,
  ip: string,
  browser: boolean,
): void {
  const { core, preauth } = ctx;
  const info = { remoteAddress: ip, headers: req.headers, localPort: socket.localPort };
  const conn = new GatewayConnection(ws, socket, {
    preauthMaxBytes: ctx.preauthMaxBytes,
    maxBufferedBytes: ctx.maxBufferedBytes,
    isLocal: ctx.isLocal(info),
    browser,
    localControlPage: isLocalControlPage(info, ctx.host, ctx.tls),
    remoteAddress: ip,
  });
  core.connections.add(conn);
  // At the cap the oldest unauthenticated socket of this address makes room (preauth-budget.ts).
  const preauthKey = normalizeIp(ip);
  preauth.admit(preauthKey, conn)?.close(CloseCode.tryAgainLater, 'pre-auth slot reclaimed by a newer connection');
  const releasePreauth = (): void => preauth.release(preauthKey, conn);
  const deadline = setTimeout(() => {
    if (conn.state === 'preauth') conn.close(CloseCode.normal, 'handshake timeout');
  }, ctx.handshakeTimeoutMs);
  const handshakeDone = (): void => {
    clearTimeout(deadline);
    releasePreauth();
  };

  ws.on('error', () => ws.terminate());
  ws.on('close', () => {
    handshakeDone();
    forgetConnection(core, conn);
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    try {
      handleFrame(core, conn, isBinary ? undefined : rawToString(data), handshakeDone);
    } catch {
      // Never let one connection's frame take the daemon down.
      conn.close(CloseCode.internalError, 'internal error');
    }
  });
  conn.sendEvent('connect.challenge', {
    nonce: conn.nonce,
    ts: core.now(),
    capabilities: [...CHALLENGE_CAPABILITIES],
  });
}

/**
 * An in-process link as a new connection: what a WebSocket from this process to 127.0.0.1 presents (loopback
 * peer, Host 127.0.0.1:port, no Origin, no proxy headers), judged by the same isLocal, pre-auth budget and
 * handshake deadline. Returns the client's end.
 */
function acceptInProcessLink(ctx: AcceptContext, port: number, maxPayload: number, clientMaxPayload: number): LinkEnd {
  const transport = new LinkTransport(DEFAULT_GATEWAY_HOST, port);
  const [gatewayEnd, clientEnd] = LinkEnd.pair({ maxPayload, transport }, { maxPayload: clientMaxPayload });
  const req = { headers: { host: `${DEFAULT_GATEWAY_HOST}:${port}` } } as unknown as http.IncomingMessage;
  // The two stand-ins carry the part of ws.WebSocket / net.Socket a GatewayConnection uses (link.ts).
  acceptConnection(
    ctx,
    gatewayEnd as unknown as WebSocket,
    req,
    transport as unknown as net.Socket,
    DEFAULT_GATEWAY_HOST,
    false,
  );
  return clientEnd;
}

/** A closed connection: out of the registry; a node's last-seen time is kept and presence updated. */
function forgetConnection(core: GatewayCore, conn: GatewayConnection): void {
  conn.state = 'closed';
  core.connections.delete(conn);
  const gone = core.registry.unregister(conn.connId);
  if (gone) {
    core.nodeLastSeen.delete(gone.nodeId);
    core.nodeLastSeen.set(gone.nodeId, core.now());
    // Bounded: the oldest entry goes first (Map keeps insertion order).
    if (core.nodeLastSeen.size > 1024) core.nodeLastSeen.delete(core.nodeLastSeen.keys().next().value!);
    core.bumpPresence();
    core.broadcastHealth();
  }
  core.dropRequester(conn.connId);
}

/** One text frame (undefined for a binary one): the handshake before auth, requests after. */
function handleFrame(
  core: GatewayCore,
  conn: GatewayConnection,
  text: string | undefined,
  handshakeDone: () => void,
): void {
  if (conn.state === 'closed') return;
  const { frame, duplicate, problem } = decodeFrame(text);
  if (conn.state === 'preauth') {
    // Anything but a request before the handshake closes without a response.
    if (duplicate !== undefined) {
      conn.close(CloseCode.policyViolation, 'invalid handshake: duplicate JSON key');
      return;
    }
    if (problem !== undefined) {
      conn.close(CloseCode.policyViolation, `invalid handshake: ${problem}`);
      return;
    }
    if (!validateRequestFrame.check(frame)) {
      conn.close(CloseCode.policyViolation, 'invalid handshake: first frame must be a connect request');
      return;
    }
    if (handleHandshakeFrame(core, conn, frame)) handshakeDone();
    return;
  }
  if (duplicate !== undefined) {
    // A duplicated "id" makes the id itself ambiguous: answer under "invalid" like a frame without one.
    const id =
      duplicate !== 'id' && typeof (frame as { id?: unknown })?.id === 'string'
        ? (frame as { id: string }).id
        : 'invalid';
    conn.respondError(
      id,
      errorShape(ErrorCode.INVALID_REQUEST, `invalid request frame: duplicate key ${JSON.stringify(duplicate)}`),
    );
    return;
  }
  if (!validateRequestFrame.check(frame)) {
    const id = typeof (frame as { id?: unknown })?.id === 'string' ? (frame as { id: string }).id : 'invalid';
    const why = problem ?? (frame === undefined ? 'not JSON text' : validateRequestFrame.describe(frame));
    conn.respondError(id, errorShape(ErrorCode.INVALID_REQUEST, `invalid request frame: ${why}`));
    return;
  }
  dispatchRequest(core, conn, frame);
}

/** Bind from the options (host wins, then bind/customBindHost), else openclaw.json, else loopback. */
function planBind(options: GatewayOptions, config: Record<string, unknown>, configPath: string): BindPlan {
  if (options.host !== undefined) return resolveBind(options.host, options.customBindHost);
  const configured = configuredBind(config, configPath);
  return resolveBind(options.bind ?? configured.bind, options.customBindHost ?? configured.customBindHost);
}

/** An HTTP server, or HTTPS with the Gateway's certificate (TLS 1.3 as upstream; 10 s to finish the handshake). */
function createListener(
  tls: GatewayTlsMaterial | undefined,
  onRequest: http.RequestListener,
  onUpgrade: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void,
): http.Server {
  const server = tls
    ? https.createServer({
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca ? { ca: tls.ca } : {}),
        minVersion: 'TLSv1.3',
        handshakeTimeout: 10_000,
      })
    : http.createServer();
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  // A TLS handshake that fails (a client that rejects our certificate) is the client's business.
  server.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy());
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return server;
}

function listen(server: http.Server, port: number, host: string, scheme: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new IpcError(
            'ERR_GATEWAY_PORT_IN_USE',
            `another gateway instance is already listening on ${scheme}://${host}:${port}`,
            { cause: err },
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(
          new IpcError('ERR_GATEWAY_BIND_INVALID', `cannot bind ${host}: no interface has this address`, {
            cause: err,
          }),
        );
      } else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as net.AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function positiveInt(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * One text frame → its value (bounded: parseBoundedJson), the first duplicated key (parsers disagree on
 * which duplicate wins, so such a frame is malformed), or why it is not JSON we accept.
 */
function decodeFrame(text: string | undefined): { frame?: unknown; duplicate?: string; problem?: string } {
  if (text === undefined) return {};
  try {
    // One scan for depth and duplicates, then JSON.parse.
    const { value, duplicate } = parseBoundedJsonReportingDuplicate(text, MAX_FRAME_JSON_DEPTH);
    return { frame: value, duplicate };
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_JSON_TOO_DEEP' ? { problem: (err as Error).message } : {};
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function waitForNode(core: GatewayCore, nodeId: string, timeoutMs: number): Promise<NodeSession> {
  const existing = core.registry.get(nodeId);
  if (existing) return Promise.resolve(existing);
  return new Promise((resolve, reject) => {
    const onConnected = (id: string): void => {
      const session = id === nodeId ? core.registry.get(nodeId) : undefined;
      if (!session) return;
      clearTimeout(timer);
      core.events.off('node.connected', onConnected);
      resolve(session);
    };
    const timer = setTimeout(() => {
      core.events.off('node.connected', onConnected);
      reject(new IpcError('ERR_NODE_WAIT_TIMEOUT', `node ${nodeId} did not connect within ${timeoutMs} ms`));
    }, timeoutMs);
    core.events.on('node.connected', onConnected);
  });
}
