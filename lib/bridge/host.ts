// Our PeekabooBridge host: a Unix socket (0600 in a private 0700 directory) that reads one request until
// EOF, checks the peer, answers once and closes. Deadlines, size caps and a concurrency cap protect it.
import net from 'node:net';
import path from 'node:path';

import { SocketSetupError, listenPrivate, prepareSocketPath, unlinkIfOurs } from '../common/private-socket.js';
import { ensurePrivateDir } from '../common/state-dir.js';
import { acquireInstanceLock, type InstanceLock } from '../native/file-lock.js';
import { dispatchRequest, type DispatchContext } from './dispatch.js';
import { decodeRequest, encodeCase, encodeError } from './envelope.js';
import { readToEnd } from './framing.js';
import { assertSocketPathFits, defaultHostSocketPath } from './paths.js';
import {
  authorizeBridgePeer,
  type PeerDecision,
  unsignedRuleActive,
  type BridgePeerPolicy,
  type TeamIdVerifier,
} from './peer-policy.js';
import {
  ALLOW_UNSIGNED_ENV,
  BRIDGE_MAX_CONNECTIONS,
  BRIDGE_MAX_MESSAGE_BYTES,
  BRIDGE_MAX_VERSION,
  BRIDGE_MIN_VERSION,
  BRIDGE_READ_TIMEOUT_MS,
  PEEKABOO_TEAM_ID,
  type BridgeHostKind,
  type BridgeProtocolVersion,
} from './protocol.js';
import { createLocalServices, type BridgeServices } from './services.js';
import { defaultVerifyTeamId } from './team-id.js';

export type BridgeLogLevel = 'info' | 'warn' | 'error';
export type BridgeLogger = (level: BridgeLogLevel, message: string) => void;

export interface BridgeHostOptions {
  /** Default: `<support dir>/OpenClaw/bridge.sock` (see paths.ts). */
  socketPath?: string;
  /** Peer TeamID allowlist. Default `["Y5PE65HELJ"]` (pb-1.7 host default). `[]` = same user only. */
  allowedTeamIds?: readonly string[];
  /** Handshake bundle-id allowlist; empty (default) = any. */
  allowedBundleIds?: readonly string[];
  /** Handshake team allowlist (verified TeamID, else the claimed one); empty (default) = any. */
  handshakeTeamIds?: readonly string[];
  /**
   * Marks this host as a DEBUG build. Only then is PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS=1 honoured (spec §8.1
   * step 4). Release entry points (`up`, `bridge host` without --debug-build) never set it.
   */
  debugBuild?: boolean;
  /** The host's environment, read once at start (debug variable, default socket path). */
  env?: NodeJS.ProcessEnv;
  hostKind?: BridgeHostKind;
  /** `"<version> (<build>)"` or `"dev"`. */
  build?: string;
  minVersion?: BridgeProtocolVersion;
  maxVersion?: BridgeProtocolVersion;
  services?: BridgeServices;
  maxMessageBytes?: number;
  readTimeoutMs?: number;
  maxConnections?: number;
  verifyTeamId?: TeamIdVerifier;
  logger?: BridgeLogger;
}

export interface BridgeHostStats {
  accepted: number;
  served: number;
  unauthorized: number;
  /** Connections closed without a response: deadline, size cap, concurrency cap, socket error. */
  dropped: number;
}

export interface BridgeHost {
  readonly socketPath: string;
  readonly stats: Readonly<BridgeHostStats>;
  /** Stops listening, drops open connections, unlinks the socket if it is still ours. */
  close(): Promise<void>;
}

const defaultLogger: BridgeLogger = (level, message) => {
  if (level !== 'info') process.stderr.write(`openclaw-ipc bridge host ${level}: ${message}\n`);
};

/** Who may connect (peer policy), what the dispatcher serves, and what a refused peer is told. */
function hostPolicy(
  opts: BridgeHostOptions,
  env: NodeJS.ProcessEnv,
  hostUid: number,
  readTimeoutMs: number,
  log: BridgeLogger,
): { policy: BridgePeerPolicy; ctx: DispatchContext; unauthorizedDetails: string } {
  const allowedTeamIds = Object.freeze([...(opts.allowedTeamIds ?? [PEEKABOO_TEAM_ID])]);
  if (
    allowedTeamIds.length > 32 ||
    allowedTeamIds.some((id) => typeof id !== 'string' || id.length === 0 || id.length > 64)
  ) {
    throw new TypeError('allowedTeamIds must be at most 32 non-empty strings');
  }
  const policy: BridgePeerPolicy = {
    hostUid,
    allowedTeamIds,
    allowUnsignedSameUid: unsignedRuleActive(opts.debugBuild === true, env),
    verifyTeamId: opts.verifyTeamId ?? defaultVerifyTeamId,
    verifyTimeoutMs: Math.min(5000, readTimeoutMs),
  };
  const ctx: DispatchContext = {
    services: opts.services ?? createLocalServices(),
    minVersion: opts.minVersion ?? BRIDGE_MIN_VERSION,
    maxVersion: opts.maxVersion ?? BRIDGE_MAX_VERSION,
    hostKind: opts.hostKind ?? 'helper',
    build: opts.build ?? 'dev',
    hostUid,
    allowedBundleIds: Object.freeze([...(opts.allowedBundleIds ?? [])]),
    handshakeTeamIds: Object.freeze([...(opts.handshakeTeamIds ?? [])]),
    platform: process.platform,
  };
  const unauthorizedDetails =
    allowedTeamIds.length === 0
      ? 'only peers running as the host user are accepted'
      : `allowed TeamIDs: ${allowedTeamIds.join(', ')}; ` +
        `unsigned clients are accepted only by a debug-build host with ${ALLOW_UNSIGNED_ENV}=1 and the same user`;
  if (policy.allowUnsignedSameUid)
    log('warn', `${ALLOW_UNSIGNED_ENV}=1 in a debug build: unsigned same-user clients will be accepted`);
  return { policy, ctx, unauthorizedDetails };
}

/** What serving one connection needs from its host. */
interface Serving {
  policy: BridgePeerPolicy;
  ctx: DispatchContext;
  unauthorizedDetails: string;
  stats: BridgeHostStats;
  log: BridgeLogger;
  maxMessageBytes: number;
  readTimeoutMs: number;
}

/** One connection: the peer is checked while its request is read, then answered once. */
async function serve(socket: net.Socket, parts: Serving): Promise<void> {
  const { policy, stats, log, maxMessageBytes, readTimeoutMs } = parts;
  const decisionPromise = authorizeBridgePeer(socket, policy);
  let body: Buffer;
  try {
    body = await readToEnd(socket, { maxBytes: maxMessageBytes, timeoutMs: readTimeoutMs });
  } catch (err) {
    stats.dropped += 1;
    log('warn', `dropped a request without response: ${(err as Error).message}`);
    socket.destroy();
    return;
  }
  const decision = await decisionPromise;
  const reply = await replyTo(decision, body, parts);
  if (socket.destroyed) return;
  // A client that never reads its reply must not pin the connection.
  const writeTimer = setTimeout(() => socket.destroy(), readTimeoutMs);
  socket.once('close', () => clearTimeout(writeTimer));
  socket.end(reply);
}

/** The reply for one request: refusal for an unauthorized peer, else the decoded request dispatched. */
async function replyTo(decision: PeerDecision, body: Buffer, parts: Serving): Promise<Buffer> {
  const { ctx, stats, log, unauthorizedDetails } = parts;
  if (!decision.ok) {
    stats.unauthorized += 1;
    log(
      'warn',
      `unauthorized bridge client (uid ${decision.uid ?? '?'}, pid ${decision.pid ?? '?'}): ${decision.reason}`,
    );
    return encodeError({
      code: 'unauthorizedClient',
      message: 'Bridge client is not authorized',
      details: unauthorizedDetails,
    });
  } else {
    if (decision.via === 'debug-unsigned')
      log('warn', `accepted unsigned client pid ${decision.pid ?? '?'} under ${ALLOW_UNSIGNED_ENV}=1 (debug build)`);
    const decoded = decodeRequest(body);
    let reply: Buffer;
    if (!decoded.ok) {
      reply = encodeError(decoded.error);
    } else {
      const peer =
        decision.teamId === undefined ? { uid: decision.uid } : { uid: decision.uid, teamId: decision.teamId };
      const result = await dispatchRequest(
        ctx,
        decoded.request,
        decision.identifier === undefined ? peer : { ...peer, identifier: decision.identifier },
      );
      reply = encodeCase(result.case, result.value);
    }
    stats.served += 1;
    return reply;
  }
}

/**
 * One host per socket path, with the same kernel lock as the Gateway and exec host: two hosts started
 * at once cannot both find the path free. The lock is held once the path is ready to bind.
 */
async function lockSocketPath(socketPath: string): Promise<InstanceLock> {
  ensurePrivateDir(path.dirname(socketPath));
  const lock = acquireInstanceLock(
    path.dirname(socketPath),
    `${path.basename(socketPath)}.lock`,
    (file, pid) =>
      new SocketSetupError(
        'ERR_SOCKET_IN_USE',
        `refusing to start: another bridge host (pid ${pid ?? 'unknown'}) holds ${file}`,
      ),
  );
  try {
    await prepareSocketPath(socketPath);
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

/** Serves one connection, or drops it past the concurrency cap. */
function acceptConnection(socket: net.Socket, open: Set<net.Socket>, maxConnections: number, serving: Serving): void {
  const { stats, log } = serving;
  socket.on('error', () => {
    /* reported through readToEnd or irrelevant after the reply */
  });
  if (open.size >= maxConnections) {
    stats.dropped += 1;
    log('warn', `concurrency cap ${maxConnections} reached; dropping a connection`);
    socket.destroy();
    return;
  }
  stats.accepted += 1;
  open.add(socket);
  socket.once('close', () => open.delete(socket));
  serve(socket, serving).catch((err: unknown) => {
    stats.dropped += 1;
    log('error', `bridge connection failed: ${(err as Error)?.message ?? String(err)}`);
    socket.destroy();
  });
}

export async function startBridgeHost(opts: BridgeHostOptions = {}): Promise<BridgeHost> {
  const env = opts.env ?? process.env;
  const socketPath = path.resolve(opts.socketPath ?? defaultHostSocketPath({ env }));
  const log = opts.logger ?? defaultLogger;
  const hostUid = process.getuid?.() ?? -1;
  const maxMessageBytes = opts.maxMessageBytes ?? BRIDGE_MAX_MESSAGE_BYTES;
  const readTimeoutMs = opts.readTimeoutMs ?? BRIDGE_READ_TIMEOUT_MS;
  const maxConnections = opts.maxConnections ?? BRIDGE_MAX_CONNECTIONS;
  const { policy, ctx, unauthorizedDetails } = hostPolicy(opts, env, hostUid, readTimeoutMs, log);

  assertSocketPathFits(socketPath);
  const lock = await lockSocketPath(socketPath);

  const stats: BridgeHostStats = { accepted: 0, served: 0, unauthorized: 0, dropped: 0 };
  const open = new Set<net.Socket>();
  // allowHalfOpen: the request ends with the client's half-close; we still have to write the reply.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false });
  const serving: Serving = { policy, ctx, unauthorizedDetails, stats, log, maxMessageBytes, readTimeoutMs };

  server.on('connection', (socket) => acceptConnection(socket, open, maxConnections, serving));
  server.on('error', (err) => log('error', `bridge listener error: ${err.message}`));

  let bound: Awaited<ReturnType<typeof listenPrivate>>;
  try {
    bound = await listenPrivate(server, socketPath);
  } catch (err) {
    lock.release();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    stats,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
        // Unlink only the inode we bound, never a successor's socket.
        unlinkIfOurs(socketPath, bound);
        lock.release();
      });
      return closing;
    },
  };
}
