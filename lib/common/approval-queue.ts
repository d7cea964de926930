// Approvals waiting for a human. One instance is shared by the exec host (whose prompts add to it)
// and the Gateway (which broadcasts `exec.approval.requested` to operators and applies
// `exec.approval.resolve`). An entry that nobody answers before its deadline resolves to null.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

import { IpcError } from './errors.js';

export type ApprovalDecision = 'allow-once' | 'allow-always' | 'deny';
export const APPROVAL_DECISIONS: readonly ApprovalDecision[] = ['allow-once', 'allow-always', 'deny'];

export interface PendingApproval<Request = Record<string, unknown>> {
  id: string;
  /** What is being approved (command, argv, cwd, agentId, resolvedPath, host, nodeId …): shown to operators as-is. */
  request: Request;
  allowedDecisions: ApprovalDecision[];
  createdAtMs: number;
  expiresAtMs: number;
}

export interface ApprovalOutcome {
  id: string;
  /** null when it expired or was cancelled without a decision. */
  decision: ApprovalDecision | null;
  resolvedBy?: string;
  reason?: 'decided' | 'expired' | 'cancelled';
  /** For a cancelled entry: why, in words ("answered by terminal: allow-once", "withdrawn: the requester went away"). */
  detail?: string;
  resolvedAtMs: number;
}

export interface AddApprovalOptions {
  timeoutMs?: number;
  id?: string;
  allowedDecisions?: ApprovalDecision[];
  /**
   * Who filed it, for entries from remote requesters (the Gateway passes "device:<id>" or "conn:<id>").
   * Owned entries share `maxPending - reservedForLocal` slots, at most `maxPerOwner` each; entries without
   * an owner (the exec host's own prompts) may use every slot, so remote requesters cannot crowd them out.
   */
  owner?: string;
}

export interface PendingApprovalsOptions {
  /** Upper bound of entries waiting at once; add() beyond it throws ERR_APPROVALS_FULL. Default 256. */
  maxPending?: number;
  defaultTimeoutMs?: number;
  /** Slots only entries without an owner (local prompts) may take. Default 32. */
  reservedForLocal?: number;
  /** Entries one owner may have waiting at once; more throws ERR_APPROVALS_OWNER_LIMIT. Default 16. */
  maxPerOwner?: number;
}

interface Entry {
  approval: PendingApproval<Record<string, unknown>>;
  owner?: string;
  timer: NodeJS.Timeout;
  settle: (outcome: ApprovalOutcome) => void;
}

export interface PendingApprovalsEvents {
  requested: [PendingApproval<Record<string, unknown>>];
  resolved: [ApprovalOutcome];
}

export class PendingApprovals extends EventEmitter<PendingApprovalsEvents> {
  readonly maxPending: number;
  readonly defaultTimeoutMs: number;
  readonly reservedForLocal: number;
  readonly maxPerOwner: number;
  private readonly entries = new Map<string, Entry>();
  /** Waiting entries per owner, and in total for owned entries. */
  private readonly owned = new Map<string, number>();
  private ownedTotal = 0;

  constructor(options: PendingApprovalsOptions = {}) {
    super();
    this.maxPending = options.maxPending ?? 256;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 120_000;
    this.reservedForLocal = Math.min(options.reservedForLocal ?? 32, this.maxPending);
    this.maxPerOwner = options.maxPerOwner ?? 16;
  }

  /** Queues a request; `outcome` settles on resolve(), cancel() or the deadline (decision null). */
  add<Request extends Record<string, unknown>>(
    request: Request,
    options: AddApprovalOptions = {},
  ): PendingApproval<Request> & { outcome: Promise<ApprovalOutcome> } {
    if (this.entries.size >= this.maxPending) {
      throw new IpcError('ERR_APPROVALS_FULL', `too many pending approvals (${this.maxPending})`);
    }
    const owner = options.owner;
    if (owner !== undefined) {
      const remoteSlots = this.maxPending - this.reservedForLocal;
      if (this.ownedTotal >= remoteSlots)
        throw new IpcError('ERR_APPROVALS_FULL', `too many pending approvals from requesters (${remoteSlots})`);
      if ((this.owned.get(owner) ?? 0) >= this.maxPerOwner)
        throw new IpcError(
          'ERR_APPROVALS_OWNER_LIMIT',
          `this requester already has ${this.maxPerOwner} approvals waiting; wait for a decision or cancel one`,
        );
    }
    const id = options.id ?? crypto.randomUUID();
    if (this.entries.has(id)) throw new IpcError('ERR_APPROVAL_DUPLICATE_ID', `approval ${id} is already pending`);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const createdAtMs = Date.now();
    const approval: PendingApproval<Request> = {
      id,
      request,
      allowedDecisions: options.allowedDecisions ?? [...APPROVAL_DECISIONS],
      createdAtMs,
      expiresAtMs: createdAtMs + timeoutMs,
    };
    let settle!: (outcome: ApprovalOutcome) => void;
    const outcome = new Promise<ApprovalOutcome>((resolve) => {
      settle = resolve;
    });
    const timer = setTimeout(
      () => this.finish(id, { id, decision: null, reason: 'expired', resolvedAtMs: Date.now() }),
      timeoutMs,
    );
    timer.unref();
    this.entries.set(id, { approval, timer, settle, owner });
    if (owner !== undefined) {
      this.owned.set(owner, (this.owned.get(owner) ?? 0) + 1);
      this.ownedTotal++;
    }
    this.emit('requested', approval);
    return { ...approval, outcome };
  }

  /** Applies a human decision. False when the id is unknown, expired, or the decision is not offered. */
  resolve(id: string, decision: ApprovalDecision, resolvedBy?: string): boolean {
    const entry = this.entries.get(id);
    if (!entry || !entry.approval.allowedDecisions.includes(decision)) return false;
    return this.finish(id, { id, decision, resolvedBy, reason: 'decided', resolvedAtMs: Date.now() });
  }

  /** Drops a pending entry without a decision (its requester went away, or another prompt answered). */
  cancel(id: string, detail?: string): boolean {
    return this.finish(id, {
      id,
      decision: null,
      reason: 'cancelled',
      ...(detail ? { detail } : {}),
      resolvedAtMs: Date.now(),
    });
  }

  get(id: string): PendingApproval<Record<string, unknown>> | undefined {
    return this.entries.get(id)?.approval;
  }

  list(): PendingApproval<Record<string, unknown>>[] {
    return [...this.entries.values()].map((entry) => entry.approval);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Cancels everything (shutdown). */
  close(): void {
    for (const id of [...this.entries.keys()]) this.cancel(id);
  }

  private finish(id: string, outcome: ApprovalOutcome): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    if (entry.owner !== undefined) {
      const left = (this.owned.get(entry.owner) ?? 1) - 1;
      if (left <= 0) this.owned.delete(entry.owner);
      else this.owned.set(entry.owner, left);
      this.ownedTotal--;
    }
    clearTimeout(entry.timer);
    entry.settle(outcome);
    this.emit('resolved', outcome);
    return true;
  }
}
