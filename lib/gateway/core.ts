// Shared state of one running gateway: stores, registry, approvals, connections and broadcasting.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

import type { PendingApprovals } from '../common/approval-queue.js';
import { authGeneration, type GatewayAuthConfig } from './auth-config.js';
import { AuthRateLimiter, type AuthRateLimitOptions } from './auth-rate-limit.js';
import { CloseCode } from '../protocol/constants.js';
import { ErrorCode, GatewayProtocolError, type ErrorShape } from '../protocol/errors.js';
import { hasScopeFor } from '../protocol/scopes.js';
import { CommandPolicy, type CommandPolicyOptions } from './command-policy.js';
import type { GatewayConnection } from './connection.js';
import { ExecApprovalBroker } from './approval-broker.js';
import { IdempotencyCache } from './idempotency.js';
import {
  IdempotencyStore,
  idempotencyFilePath,
  type IdempotencyCodec,
  type RestoredInflight,
} from './idempotency-store.js';
import { cachedInvokeBytes, toCachedInvoke, type CachedInvoke, type InvokeResultPayload } from './invoke-result.js';
import { InvokeRequesters } from './invoke-requesters.js';
import { NodeRegistry } from './node-registry.js';
import { ResumedInvokes } from './resumed-invokes.js';
import { PairingStore } from './pairing-store.js';

export type CoreAuth = Pick<GatewayAuthConfig, 'mode' | 'token' | 'password'>;

export interface GatewayCoreOptions {
  stateDir: string;
  /** Auth mode and shared secret checked by the handshake at start; replaceAuth() swaps it. */
  auth: CoreAuth;
  /** Lockout of IPs that keep sending a wrong token or password. */
  authRateLimit?: AuthRateLimitOptions;
  pending: PendingApprovals;
  version: string;
  tickIntervalMs: number;
  maxPayload: number;
  maxBufferedBytes: number;
  commandPolicy?: CommandPolicyOptions;
  autoApproveNodes: boolean;
  /** Count the local exec host as an approval route (it prompts for entries in `pending`). */
  localApprovalRoute: boolean;
  idempotency?: IdempotencyLimits;
  /** Least time between two `health` broadcasts (node connects and disconnects coalesce). Default 1000 ms. */
  healthBroadcastGapMs?: number;
  now?: () => number;
}

export interface IdempotencyLimits {
  /** Remembered invoke results. Default 4096. */
  maxEntries?: number;
  /** Bytes of remembered results in memory. Default 32 MiB. */
  maxBytes?: number;
  /** How long a result is remembered, across restarts too. Default 10 min. */
  ttlMs?: number;
  /** Upper bound of the persisted file. Default 8 MiB. */
  maxFileBytes?: number;
  /** Coalescing delay of the persisted file's writes. Default 250 ms. */
  flushDelayMs?: number;
}

export type { CachedInvoke, InvokeResultPayload } from './invoke-result.js';

/** Results persist as the wire payload or error shape; errors other than protocol errors are not persisted. */
const cachedInvokeCodec: IdempotencyCodec<CachedInvoke> = {
  encode: (value) =>
    value.ok
      ? value
      : value.error instanceof GatewayProtocolError
        ? { ok: false, error: value.error.toErrorShape() }
        : undefined,
  decode: (raw) => {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const r = raw as { ok?: unknown; value?: unknown; error?: Partial<ErrorShape> };
    if (r.ok === true && typeof r.value === 'object' && r.value !== null && (r.value as { ok?: unknown }).ok === true)
      return { ok: true, value: r.value as InvokeResultPayload };
    if (r.ok === false && typeof r.error?.code === 'string' && typeof r.error.message === 'string')
      return { ok: false, error: GatewayProtocolError.fromErrorShape(r.error as ErrorShape) };
    return undefined;
  },
};

export class GatewayCore {
  readonly bootId = crypto.randomUUID();
  readonly startedAtMs: number;
  readonly now: () => number;
  readonly connections = new Set<GatewayConnection>();
  readonly pairing: PairingStore;
  readonly registry = new NodeRegistry();
  /** Operator connections waiting for node invokes: an invoke nobody waits for is cancelled. */
  readonly requesters = new InvokeRequesters();
  readonly approvals: ExecApprovalBroker;
  readonly policy: CommandPolicy;
  readonly authLimiter: AuthRateLimiter;
  /** Browser clients (an Origin header) are never loopback-exempt: a page must not guess without limit. */
  readonly browserAuthLimiter: AuthRateLimiter;
  readonly idempotency: IdempotencyCache<CachedInvoke>;
  /** Persists idempotency entries so that a retry after a restart is not run twice. */
  readonly idempotencyStore: IdempotencyStore<CachedInvoke>;
  /** Invokes in flight when the previous run stopped, awaiting the node's re-delivered result. */
  readonly resumed: ResumedInvokes;
  /** When each node last disconnected (this run only): node.list's `lastSeenAtMs` for offline nodes. */
  readonly nodeLastSeen = new Map<string, number>();
  /** Set by close(): invokes interrupted by the shutdown stay remembered as in flight. */
  closing = false;
  /** 'node.event' (nodeId, event, payload) for in-process consumers such as `up`. */
  readonly events = new EventEmitter<{
    'node.event': [nodeId: string, event: string, payload: unknown];
    'node.connected': [nodeId: string];
  }>();
  private seq = 0;
  private currentAuth: CoreAuth;
  private currentGeneration: string | undefined;
  private presenceVersion = 1;
  private healthVersion = 1;
  private readonly healthBroadcastGapMs: number;
  private lastHealthBroadcastMs = 0;
  private healthTimer: NodeJS.Timeout | undefined;

  constructor(readonly options: GatewayCoreOptions) {
    this.now = options.now ?? Date.now;
    this.healthBroadcastGapMs = options.healthBroadcastGapMs ?? 1_000;
    this.currentAuth = { ...options.auth };
    this.currentGeneration = authGeneration(options.auth);
    this.startedAtMs = this.now();
    this.pairing = new PairingStore(options.stateDir, this.now);
    this.approvals = new ExecApprovalBroker(options.pending, this.now);
    this.policy = new CommandPolicy(options.commandPolicy);
    this.authLimiter = new AuthRateLimiter(options.authRateLimit, this.now);
    this.browserAuthLimiter = new AuthRateLimiter({ ...options.authRateLimit, exemptLoopback: false }, this.now);
    const limits = options.idempotency ?? {};
    this.idempotencyStore = new IdempotencyStore({
      file: idempotencyFilePath(options.stateDir),
      codec: cachedInvokeCodec,
      maxFileBytes: limits.maxFileBytes,
      delayMs: limits.flushDelayMs,
    });
    this.idempotency = new IdempotencyCache<CachedInvoke>({
      maxEntries: limits.maxEntries,
      maxBytes: limits.maxBytes,
      ttlMs: limits.ttlMs,
      now: this.now,
      onChange: () => this.idempotencyStore.schedule(),
    });
    this.resumed = new ResumedInvokes(this.now);
    for (const entry of this.idempotencyStore.load(this.idempotency).inflight) this.resumeInvoke(entry);
  }

  /**
   * A connection closed: cancel the invokes it was the last to wait for (the node is told to stop them)
   * and withdraw the exec approvals that were tied to it.
   */
  dropRequester(connId: string): void {
    for (const invokeId of this.requesters.dropConnection(connId))
      this.registry.cancel(invokeId, 'the requester disconnected');
    this.approvals.dropConnection(connId);
  }

  private resumeInvoke(entry: RestoredInflight): void {
    let settle!: (value: CachedInvoke) => void;
    const result = new Promise<CachedInvoke>((resolve) => {
      settle = resolve;
    });
    if (!this.idempotency.restoreInflight(entry.key, entry.fingerprint, result, entry.expiresAtMs, entry.inflight))
      return;
    const { nodeId, command } = entry.inflight;
    this.resumed.add(entry.inflight, (outcome) => {
      if (outcome === undefined) {
        // Nothing came back before the original deadline: forget the key so that a retry can run.
        this.idempotency.delete(entry.key, result);
        settle({
          ok: false,
          error: new GatewayProtocolError(
            ErrorCode.UNAVAILABLE,
            'invoke interrupted by a gateway restart; its outcome is unknown',
            {
              details: { nodeCommandDispatched: true },
              retryable: false,
            },
          ),
        });
        return;
      }
      const cached = toCachedInvoke(nodeId, command, outcome);
      this.idempotency.account(entry.key, result, cachedInvokeBytes(outcome), cached);
      settle(cached);
    });
  }

  /** The auth mode and secret new handshakes are checked against. */
  get auth(): Readonly<CoreAuth> {
    return this.currentAuth;
  }

  /** Identifies the current shared secret (undefined in mode none). */
  get authGeneration(): string | undefined {
    return this.currentGeneration;
  }

  /**
   * Swaps the mode/secret for new handshakes (one assignment: the handshake is synchronous, so none sees a
   * mix), then closes with 4001 "gateway auth changed" every live connection that proved another secret.
   * Device-token connections stay (their token is not the shared secret, as upstream). Connections admitted
   * by mode none are closed when the mode leaves none: without it they would keep unauthenticated access.
   * Returns how many connections were closed; 0 and no change when the effective secret and mode are equal.
   */
  replaceAuth(next: CoreAuth): number {
    const generation = authGeneration(next);
    if (next.mode === this.currentAuth.mode && generation === this.currentGeneration) return 0;
    this.currentAuth = {
      mode: next.mode,
      token: next.token,
      ...(next.password !== undefined ? { password: next.password } : {}),
    };
    this.currentGeneration = generation;
    let closed = 0;
    for (const conn of this.connections) {
      if (conn.state !== 'ready') continue;
      const stale =
        conn.authMethod === 'token' || conn.authMethod === 'password'
          ? conn.sharedAuthGeneration !== generation
          : conn.authMethod === 'none' && next.mode !== 'none';
      if (!stale) continue;
      conn.close(CloseCode.authChanged, 'gateway auth changed');
      closed++;
    }
    return closed;
  }

  /** Sends an event with the next global `seq` to every ready connection that passes `filter`. */
  broadcast(event: string, payload: unknown, filter: (conn: GatewayConnection) => boolean = () => true): number {
    let text: string;
    try {
      text = JSON.stringify({ type: 'event', event, payload, seq: this.seq + 1 });
    } catch {
      return 0; // an event that does not serialise reaches nobody (and uses no seq)
    }
    this.seq++;
    let sent = 0;
    for (const conn of this.connections) {
      if (conn.state === 'ready' && filter(conn) && conn.sendText(text)) sent++;
    }
    return sent;
  }

  /** Operators holding a scope (admin implies every scope). */
  operatorsWith(method: string): (conn: GatewayConnection) => boolean {
    return (conn) => conn.role === 'operator' && hasScopeFor(method, conn.scopes);
  }

  bumpPresence(): void {
    this.presenceVersion++;
  }

  stateVersion(): { presence: number; health: number } {
    return { presence: this.presenceVersion, health: this.healthVersion };
  }

  /** The health summary answered by `health` and broadcast as the `health` event. */
  health(): { ok: true; ts: number; uptimeMs: number; nodes: number } {
    const now = this.now();
    return { ok: true, ts: now, uptimeMs: now - this.startedAtMs, nodes: this.registry.size };
  }

  /**
   * Broadcasts a new health snapshot (with seq and stateVersion) after the node set changed. At most one per
   * healthBroadcastGapMs: the first goes at once, later ones fold into one trailing broadcast of the newest
   * state. Unthrottled, a fleet of N nodes reconnecting costs N broadcasts to N connections (N² frames).
   */
  broadcastHealth(): void {
    this.healthVersion++;
    if (this.healthTimer !== undefined) return; // the trailing broadcast carries this change
    const waitMs = this.lastHealthBroadcastMs + this.healthBroadcastGapMs - Date.now();
    if (waitMs <= 0) {
      this.sendHealth();
      return;
    }
    this.healthTimer = setTimeout(() => {
      this.healthTimer = undefined;
      this.sendHealth();
    }, waitMs);
    this.healthTimer.unref();
  }

  private sendHealth(): void {
    if (this.closing) return;
    this.lastHealthBroadcastMs = Date.now();
    const text = JSON.stringify({
      type: 'event',
      event: 'health',
      payload: this.health(),
      seq: ++this.seq,
      stateVersion: this.stateVersion(),
    });
    for (const conn of this.connections) if (conn.state === 'ready') conn.sendText(text);
  }
}
