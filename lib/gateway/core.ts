// Shared state of one running gateway: stores, registry, approvals, connections and broadcasting.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

import type { PendingApprovals } from '../common/pending-approvals.js';
import { hasScopeFor } from '../protocol/scopes.js';
import { CommandPolicy, type CommandPolicyOptions } from './command-policy.js';
import type { GatewayConnection } from './connection.js';
import { ExecApprovalBroker } from './exec-approvals.js';
import { IdempotencyCache } from './idempotency.js';
import { NodeRegistry } from './node-registry.js';
import { PairingStore } from './pairing-store.js';

export interface GatewayCoreOptions {
  stateDir: string;
  token: string;
  pending: PendingApprovals;
  version: string;
  tickIntervalMs: number;
  maxPayload: number;
  maxBufferedBytes: number;
  commandPolicy?: CommandPolicyOptions;
  autoApproveNodes: boolean;
  /** Count the local exec host as an approval route (it prompts for entries in `pending`). */
  localApprovalRoute: boolean;
  now?: () => number;
}

export interface InvokeResultPayload {
  ok: true;
  nodeId: string;
  command: string;
  payload: unknown;
  payloadJSON: string | null;
}

export class GatewayCore {
  readonly bootId = crypto.randomUUID();
  readonly startedAtMs: number;
  readonly now: () => number;
  readonly connections = new Set<GatewayConnection>();
  readonly pairing: PairingStore;
  readonly registry = new NodeRegistry();
  readonly approvals: ExecApprovalBroker;
  readonly policy: CommandPolicy;
  readonly idempotency = new IdempotencyCache<{ ok: true; value: InvokeResultPayload } | { ok: false; error: unknown }>();
  /** 'node.event' (nodeId, event, payload) for in-process consumers such as `up`. */
  readonly events = new EventEmitter<{ 'node.event': [nodeId: string, event: string, payload: unknown]; 'node.connected': [nodeId: string] }>();
  private seq = 0;
  private presenceVersion = 1;

  constructor(readonly options: GatewayCoreOptions) {
    this.now = options.now ?? Date.now;
    this.startedAtMs = this.now();
    this.pairing = new PairingStore(options.stateDir, this.now);
    this.approvals = new ExecApprovalBroker(options.pending, this.now);
    this.policy = new CommandPolicy(options.commandPolicy);
  }

  /** Sends an event with the next global `seq` to every ready connection that passes `filter`. */
  broadcast(event: string, payload: unknown, filter: (conn: GatewayConnection) => boolean = () => true): number {
    const text = JSON.stringify({ type: 'event', event, payload, seq: ++this.seq });
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
    return { presence: this.presenceVersion, health: 1 };
  }
}
