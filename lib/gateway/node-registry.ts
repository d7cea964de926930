// Connected nodes and the invokes in flight to them. An invoke settles exactly once: with the node's
// result, at its deadline, at once when the node disconnects, or when its requester goes away. At the
// deadline and on a cancel the node is told (`node.invoke.cancel {invokeId, nodeId}`, upstream's event),
// so that it stops the work nobody waits for.
import crypto from 'node:crypto';

import type { NodePlatform } from './command-policy.js';
import { TRACE, traceMark } from '../common/trace.js';

export interface NodeConnection {
  readonly connId: string;
  /** Sends an already-serialised frame; false when the connection is gone or over its buffer budget. */
  sendText(text: string): boolean;
  close(code: number, reason: string): void;
}

export interface NodeSession {
  nodeId: string;
  conn: NodeConnection;
  clientId: string;
  clientMode: string;
  displayName?: string;
  version?: string;
  platform?: string;
  deviceFamily?: string;
  modelIdentifier?: string;
  instanceId?: string;
  normalizedPlatform: NodePlatform;
  caps: string[];
  commands: string[];
  pathEnv?: string;
  permissions?: Record<string, boolean>;
  remoteIp?: string;
  connectedAtMs: number;
}

export type InvokeOutcome =
  | { ok: true; payload?: unknown; payloadJSON?: string }
  | {
      ok: false;
      kind: 'node' | 'timeout' | 'disconnected' | 'send-failed' | 'cancelled';
      error: { code: string; message: string };
    };

interface PendingInvoke {
  id: string;
  nodeId: string;
  connId: string;
  command: string;
  timer: NodeJS.Timeout;
  settle: (outcome: InvokeOutcome) => void;
}

export interface InvokeRequest {
  nodeId: string;
  command: string;
  /** JSON text of the params, or null; forwarded as-is. */
  paramsJSON: string | null;
  timeoutMs: number;
  idempotencyKey?: string;
  /** The invoke id to use (the caller may need it before the result); default a random UUID. */
  id?: string;
}

export class NodeRegistry {
  private readonly sessions = new Map<string, NodeSession>();
  /** connId → nodeId, so that a closing connection finds its node without a scan over every node. */
  private readonly nodeIdByConn = new Map<string, string>();
  private readonly invokes = new Map<string, PendingInvoke>();

  constructor(private readonly maxInFlight = 1024) {}

  /** Adds a node; a previous connection with the same node id is closed (its invokes fail). */
  register(session: NodeSession): void {
    const previous = this.sessions.get(session.nodeId);
    this.sessions.set(session.nodeId, session);
    this.nodeIdByConn.set(session.conn.connId, session.nodeId);
    if (previous && previous.conn.connId !== session.conn.connId) {
      this.nodeIdByConn.delete(previous.conn.connId);
      this.failInvokesOf(previous.conn.connId);
      previous.conn.close(1000, 'replaced by a newer connection');
    }
  }

  /** Removes the node bound to this connection and fails its in-flight invokes at once. */
  unregister(connId: string): NodeSession | undefined {
    const nodeId = this.nodeIdByConn.get(connId);
    if (nodeId === undefined) return undefined; // not a node, or a node replaced by a newer connection
    this.nodeIdByConn.delete(connId);
    const session = this.sessions.get(nodeId);
    if (session?.conn.connId !== connId) return undefined;
    this.sessions.delete(nodeId);
    this.failInvokesOf(connId);
    return session;
  }

  get(nodeId: string): NodeSession | undefined {
    return this.sessions.get(nodeId);
  }

  list(): NodeSession[] {
    return [...this.sessions.values()];
  }

  /** Connected nodes. */
  get size(): number {
    return this.sessions.size;
  }

  get inFlight(): number {
    return this.invokes.size;
  }

  /** Sends `node.invoke.request` to the node and waits for its result (never rejects). */
  invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    const session = this.sessions.get(request.nodeId);
    if (!session) {
      return Promise.resolve({
        ok: false,
        kind: 'disconnected',
        error: { code: 'NOT_CONNECTED', message: 'node not connected' },
      });
    }
    if (this.invokes.size >= this.maxInFlight) {
      return Promise.resolve({
        ok: false,
        kind: 'send-failed',
        error: { code: 'UNAVAILABLE', message: 'too many invokes in flight' },
      });
    }
    const id = request.id ?? crypto.randomUUID();
    const payload: Record<string, unknown> = {
      id,
      nodeId: request.nodeId,
      command: request.command,
      paramsJSON: request.paramsJSON,
      timeoutMs: request.timeoutMs,
    };
    if (request.idempotencyKey !== undefined) payload.idempotencyKey = request.idempotencyKey;
    return new Promise<InvokeOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.tellNodeToStop(id);
        this.settle(id, { ok: false, kind: 'timeout', error: { code: 'TIMEOUT', message: 'node invoke timed out' } });
      }, request.timeoutMs);
      this.invokes.set(id, {
        id,
        nodeId: request.nodeId,
        connId: session.conn.connId,
        command: request.command,
        timer,
        settle: resolve,
      });
      const sent = session.conn.sendText(JSON.stringify({ type: 'event', event: 'node.invoke.request', payload }));
      if (TRACE) traceMark('gw.sent');
      if (!sent)
        this.settle(id, {
          ok: false,
          kind: 'disconnected',
          error: { code: 'UNAVAILABLE', message: `node disconnected (${request.command})` },
        });
    });
  }

  /**
   * Applies a `node.invoke.result`. False when the id is unknown, already settled (late), or
   * belongs to another node: the caller answers `{ok:true, ignored:true}`.
   */
  complete(nodeId: string, id: string, outcome: InvokeOutcome): boolean {
    const pending = this.invokes.get(id);
    if (!pending || pending.nodeId !== nodeId) return false;
    return this.settle(id, outcome);
  }

  /** Whether an invoke still waits for its node. */
  isPending(id: string): boolean {
    return this.invokes.has(id);
  }

  /** Stops waiting for an invoke whose requester is gone, and tells the node to stop it. */
  cancel(id: string, message: string): boolean {
    if (!this.invokes.has(id)) return false;
    this.tellNodeToStop(id);
    return this.settle(id, { ok: false, kind: 'cancelled', error: { code: 'CANCELLED', message } });
  }

  /** Fails everything (shutdown). */
  close(): void {
    for (const id of [...this.invokes.keys()]) {
      this.settle(id, {
        ok: false,
        kind: 'disconnected',
        error: { code: 'UNAVAILABLE', message: 'gateway shutting down' },
      });
    }
    this.sessions.clear();
    this.nodeIdByConn.clear();
  }

  private failInvokesOf(connId: string): void {
    for (const pending of [...this.invokes.values()]) {
      if (pending.connId === connId) {
        this.settle(pending.id, {
          ok: false,
          kind: 'disconnected',
          error: { code: 'UNAVAILABLE', message: `node disconnected (${pending.command})` },
        });
      }
    }
  }

  /** node.invoke.cancel to the connection that got the request (a replaced connection gets nothing). */
  private tellNodeToStop(id: string): void {
    const pending = this.invokes.get(id);
    if (!pending) return;
    const session = this.sessions.get(pending.nodeId);
    if (!session || session.conn.connId !== pending.connId) return;
    session.conn.sendText(
      JSON.stringify({
        type: 'event',
        event: 'node.invoke.cancel',
        payload: { invokeId: pending.id, nodeId: pending.nodeId },
      }),
    );
  }

  private settle(id: string, outcome: InvokeOutcome): boolean {
    const pending = this.invokes.get(id);
    if (!pending) return false;
    this.invokes.delete(id);
    clearTimeout(pending.timer);
    pending.settle(outcome);
    return true;
  }
}
