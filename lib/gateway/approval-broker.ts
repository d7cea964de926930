// Exec approvals brokered by the gateway (spec §11) on top of the shared PendingApprovals queue:
// entries the gateway creates carry a binding record (node, requester, plan) that the approved
// `system.run` is checked against; entries the local exec host adds are listed and resolvable too.
import { displayArgv, displayString } from '../common/argv-display.js';
import type { ApprovalDecision, ApprovalOutcome, PendingApprovals } from '../common/approval-queue.js';
import { EXEC_APPROVAL_TTL_MS } from '../protocol/constants.js';
import { DetailCode, ErrorCode, GatewayProtocolError } from '../protocol/errors.js';
import type { ExecApprovalRequestParams, SystemRunPlan } from '../protocol/frames.js';
import { isRecord } from '../common/records.js';
import { bindApprovalRequest, runBindingMismatch, type RunBinding } from './run-binding.js';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000;
const MAX_RECORDS = 4096;

export interface ApprovalRequester {
  connId: string;
  deviceId?: string;
  /** Withdrawn when this connection closes, even for a paired device (a one-phase request). */
  boundToConnection?: boolean;
}

export interface ApprovalRecord {
  id: string;
  request: Record<string, unknown>;
  nodeId?: string;
  /** The plan as forwarded to the node (its text is the bound text). */
  plan?: SystemRunPlan;
  /** What a run must match; undefined: this approval authorises no run (nothing to bind to). */
  binding?: RunBinding;
  /** The argv the requester itself sent (it may repeat it when running; the bound argv is what runs). */
  requestedArgv?: string[];
  requester: ApprovalRequester;
  createdAtMs: number;
  expiresAtMs: number;
  /** undefined while pending; null after a timeout or cancellation. */
  decision?: ApprovalDecision | null;
  /** The request expired without a decision (not cancelled): enables the allow-once fallback. */
  timedOut?: boolean;
  resolvedAtMs?: number;
  resolvedBy?: string;
  /** allow-always records are standing grants: usage and revocation (exec.approval.grants.*). */
  useCount?: number;
  lastUsedAtMs?: number;
  revokedAtMs?: number;
  revokedBy?: string;
}

/** One standing grant as exec.approval.grants.list reports it (2026.9.6 field names). */
export interface GrantListing {
  grantId: string;
  mintedByApprovalId: string;
  agentId: string | null;
  cronJobId: null;
  cronJobName: null;
  command: string;
  cwd: string | null;
  createdAtMs: number;
  expiresAtMs: number;
  revokedAtMs: number | null;
  revokedBy: string | null;
  lastUsedAtMs: number | null;
  useCount: number;
}

export type RevokeGrantOutcome = 'revoked' | 'already-revoked' | 'not-found';

/** Display fields of a grant are cut to this many characters. */
const GRANT_TEXT_MAX = 512;

export type ResolveResult = 'ok' | 'unknown' | 'already-resolved' | 'decision-not-allowed';

export class ExecApprovalBroker {
  private readonly records = new Map<string, ApprovalRecord>();
  private readonly waiters = new Map<string, Set<(outcome: ApprovalOutcome) => void>>();
  private readonly onResolved = (outcome: ApprovalOutcome): void => this.applyOutcome(outcome);

  constructor(
    readonly pending: PendingApprovals,
    private readonly now: () => number = Date.now,
  ) {
    pending.on('resolved', this.onResolved);
  }

  /** Queues a gateway approval. Throws GatewayProtocolError for requests the spec rejects. */
  request(
    params: ExecApprovalRequestParams,
    requester: ApprovalRequester,
  ): { record: ApprovalRecord; outcome: Promise<ApprovalOutcome> } {
    const host = params.host ?? 'gateway';
    if (host === 'node' && (!params.nodeId || !params.systemRunPlan)) {
      throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, 'host=node approvals require nodeId and systemRunPlan');
    }
    // What operators are shown comes from the same place as what the approval is bound to (run-binding.ts).
    const { binding, display } = bindApprovalRequest(params);
    const request: Record<string, unknown> = {
      host,
      ...display,
      nodeId: params.nodeId ?? null,
      security: params.security ?? null,
      ask: params.ask ?? null,
      resolvedPath: params.resolvedPath ?? null,
    };
    if (request.systemRunPlan === undefined) delete request.systemRunPlan;
    // What every human-facing listing shows: the argv when there is one, escaped and unambiguous.
    const argv = request.commandArgv as string[] | undefined;
    request.commandDisplay = argv ? displayArgv(argv) : displayString(String(request.command));
    let entry;
    try {
      entry = this.pending.add(request, {
        // Upstream accepts up to the Node timer maximum (~24.8 days); an approval is usable for
        // EXEC_APPROVAL_TTL_MS (30 min, upstream's default timeout) after it was filed, so waiting longer
        // only holds a slot.
        timeoutMs: Math.min(params.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS, EXEC_APPROVAL_TTL_MS),
        id: params.id,
        owner: requester.deviceId !== undefined ? `device:${requester.deviceId}` : `conn:${requester.connId}`,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_APPROVAL_DUPLICATE_ID')
        throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, (err as Error).message);
      if (code === 'ERR_APPROVALS_OWNER_LIMIT')
        throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, (err as Error).message, {
          details: { code: 'APPROVALS_PER_REQUESTER_LIMIT', limit: this.pending.maxPerOwner },
          retryable: true,
          retryAfterMs: 5_000,
          cause: err,
        });
      throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, (err as Error).message, {
        retryable: true,
        retryAfterMs: 1000,
        cause: err,
      });
    }
    this.trim();
    const record: ApprovalRecord = {
      id: entry.id,
      request,
      nodeId: params.nodeId ?? undefined,
      plan: display.systemRunPlan,
      binding,
      requestedArgv: params.commandArgv,
      requester,
      createdAtMs: entry.createdAtMs,
      expiresAtMs: entry.expiresAtMs,
    };
    this.records.set(entry.id, record);
    return { record, outcome: entry.outcome };
  }

  resolve(id: string, decision: ApprovalDecision, resolvedBy: string): ResolveResult {
    const pending = this.pending.get(id);
    if (pending) {
      if (!pending.allowedDecisions.includes(decision)) return 'decision-not-allowed';
      return this.pending.resolve(id, decision, resolvedBy) ? 'ok' : 'unknown';
    }
    return this.records.get(id)?.decision !== undefined ? 'already-resolved' : 'unknown';
  }

  /** Pending entries (gateway and exec host), oldest first. */
  list(): Array<Record<string, unknown>> {
    return this.pending.list().map((entry) => ({ ...entry, status: 'pending' }));
  }

  /**
   * An approval id as an operator typed it (upstream's lookup): the exact id (pending or decided), else a
   * case-insensitive prefix of exactly one pending id. Several pending ids with that prefix: 'ambiguous'.
   */
  lookupId(input: string): { kind: 'exact' | 'prefix'; id: string } | { kind: 'none' | 'ambiguous' } {
    for (const candidate of new Set([input, input.trim()])) {
      if (this.pending.get(candidate) || this.records.has(candidate)) return { kind: 'exact', id: candidate };
    }
    const prefix = input.trim().toLowerCase();
    if (!prefix) return { kind: 'none' };
    const matches = this.pending.list().filter((entry) => entry.id.toLowerCase().startsWith(prefix));
    if (matches.length === 1) return { kind: 'prefix', id: matches[0]!.id };
    return { kind: matches.length === 0 ? 'none' : 'ambiguous' };
  }

  /**
   * One approval, with upstream's exec.approval.get view (commandText, commandPreview, allowedDecisions,
   * host, nodeId, agentId, expiresAtMs) next to our own fields (request, status, createdAtMs, decision).
   */
  get(id: string): Record<string, unknown> | undefined {
    const pending = this.pending.get(id);
    if (pending) return { ...approvalView(pending.request), ...pending, status: 'pending' };
    const record = this.records.get(id);
    if (!record) return undefined;
    return {
      ...approvalView(record.request),
      id: record.id,
      request: record.request,
      allowedDecisions: [],
      createdAtMs: record.createdAtMs,
      expiresAtMs: record.expiresAtMs,
      status: 'resolved',
      decision: record.decision ?? null,
      resolvedAtMs: record.resolvedAtMs,
      ...(record.resolvedBy ? { resolvedBy: record.resolvedBy } : {}),
    };
  }

  /** Waits for the decision of a pending entry; resolves at once for a decided one. */
  waitDecision(
    id: string,
    timeoutMs: number,
  ): Promise<{
    id: string;
    decision: ApprovalDecision | null;
    createdAtMs?: number;
    expiresAtMs?: number;
    timedOut?: boolean;
  }> {
    const record = this.records.get(id);
    if (record && record.decision !== undefined) {
      return Promise.resolve({
        id,
        decision: record.decision,
        createdAtMs: record.createdAtMs,
        expiresAtMs: record.expiresAtMs,
      });
    }
    const pending = this.pending.get(id);
    if (!pending)
      return Promise.reject(
        new GatewayProtocolError(ErrorCode.APPROVAL_NOT_FOUND, 'unknown or expired approval id', {
          details: { code: DetailCode.UNKNOWN_APPROVAL_ID },
        }),
      );
    return new Promise((resolve) => {
      const waiter = (outcome: ApprovalOutcome): void => {
        clearTimeout(timer);
        resolve({ id, decision: outcome.decision, createdAtMs: pending.createdAtMs, expiresAtMs: pending.expiresAtMs });
      };
      const timer = setTimeout(() => {
        this.waiters.get(id)?.delete(waiter);
        resolve({
          id,
          decision: null,
          createdAtMs: pending.createdAtMs,
          expiresAtMs: pending.expiresAtMs,
          timedOut: true,
        });
      }, timeoutMs);
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(waiter);
    });
  }

  /** Pending approvals of a device-less requester, or bound to the connection, die with it. */
  dropConnection(connId: string): void {
    for (const record of this.records.values()) {
      if (
        record.decision === undefined &&
        record.requester.connId === connId &&
        (record.requester.deviceId === undefined || record.requester.boundToConnection === true)
      ) {
        this.pending.cancel(record.id);
      }
    }
  }

  /**
   * The checks before an approved `system.run` is forwarded (spec §11 step 4). Returns the record
   * and its decision; an allow-once record is consumed. After an approval timeout (no decision),
   * a caller claiming `approved` + `allow-once` gets allow-once only when it holds
   * operator.approvals or operator.admin (the caller's askFallback); anyone else needs a decision.
   */
  authorizeRun(input: {
    runId: unknown;
    nodeId: string;
    caller: ApprovalRequester & { scopes: readonly string[] };
    /** The caller's `approved` flag and `approvalDecision`, as sent. */
    approved: boolean;
    requestedDecision: unknown;
    argv: readonly string[] | undefined;
    cwd: unknown;
    agentId: unknown;
    sessionKey: unknown;
    env: unknown;
  }): { record: ApprovalRecord; decision: ApprovalDecision } {
    const { runId } = input;
    if (typeof runId !== 'string' || runId === '') {
      throw invalid('approval requires runId', DetailCode.MISSING_RUN_ID);
    }
    const record = this.records.get(runId);
    if (!record) throw invalid('unknown or expired approval id', DetailCode.UNKNOWN_APPROVAL_ID, { runId });
    if (record.createdAtMs + EXEC_APPROVAL_TTL_MS < this.now()) {
      this.records.delete(runId);
      throw invalid('approval expired', DetailCode.APPROVAL_EXPIRED, { runId });
    }
    if (record.nodeId !== undefined && record.nodeId !== input.nodeId) {
      throw invalid('approval id is bound to another node', DetailCode.APPROVAL_NODE_MISMATCH, { runId });
    }
    if (record.requester.deviceId !== undefined) {
      if (record.requester.deviceId !== input.caller.deviceId) {
        throw invalid('approval id was requested by another device', DetailCode.APPROVAL_DEVICE_MISMATCH, { runId });
      }
    } else if (record.requester.connId !== input.caller.connId) {
      throw invalid('approval id was requested by another client', DetailCode.APPROVAL_CLIENT_MISMATCH, { runId });
    }
    if (record.revokedAtMs !== undefined) {
      throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, 'approval required', {
        details: { code: DetailCode.APPROVAL_REQUIRED, runId, reason: 'grant-revoked' },
      });
    }
    const decision = effectiveDecision(record, input);
    if (decision !== 'allow-once' && decision !== 'allow-always') {
      throw invalid('approval required', DetailCode.APPROVAL_REQUIRED, { runId });
    }
    // Without a binding (no plan, host other than node, text only) nothing may run on this approval.
    const mismatch = record.binding
      ? runBindingMismatch(record.binding, { ...input, requestedArgv: record.requestedArgv })
      : 'binding';
    if (mismatch)
      throw invalid('approval id does not match request', 'APPROVAL_REQUEST_MISMATCH', { runId, field: mismatch });
    if (decision === 'allow-once') this.records.delete(runId);
    else {
      record.useCount = (record.useCount ?? 0) + 1;
      record.lastUsedAtMs = this.now();
    }
    return { record, decision };
  }

  /** Live allow-always approvals (revoked ones included, until they expire), newest first. */
  listGrants(limit = 200): GrantListing[] {
    const now = this.now();
    const grants: GrantListing[] = [];
    for (const record of this.records.values()) {
      const expiresAtMs = record.createdAtMs + EXEC_APPROVAL_TTL_MS;
      if (record.decision !== 'allow-always' || expiresAtMs <= now) continue;
      const command = typeof record.request.command === 'string' ? record.request.command : '(unreadable)';
      const cwd = record.plan?.cwd ?? record.request.cwd;
      grants.push({
        grantId: record.id,
        mintedByApprovalId: record.id,
        agentId: record.plan?.agentId ?? (typeof record.request.agentId === 'string' ? record.request.agentId : null),
        cronJobId: null,
        cronJobName: null,
        command: command.slice(0, GRANT_TEXT_MAX),
        cwd: typeof cwd === 'string' ? cwd.slice(0, GRANT_TEXT_MAX) : null,
        createdAtMs: record.resolvedAtMs ?? record.createdAtMs,
        expiresAtMs,
        revokedAtMs: record.revokedAtMs ?? null,
        revokedBy: record.revokedBy ?? null,
        lastUsedAtMs: record.lastUsedAtMs ?? null,
        useCount: record.useCount ?? 0,
      });
    }
    return grants.sort((a, b) => b.createdAtMs - a.createdAtMs || (a.grantId < b.grantId ? 1 : -1)).slice(0, limit);
  }

  /** Revokes an allow-always approval; idempotent (the first revocation's time and actor are kept). */
  revokeGrant(grantId: string, revokedBy: string): RevokeGrantOutcome {
    const record = this.records.get(grantId);
    if (!record || record.decision !== 'allow-always' || record.createdAtMs + EXEC_APPROVAL_TTL_MS <= this.now())
      return 'not-found';
    if (record.revokedAtMs !== undefined) return 'already-revoked';
    record.revokedAtMs = this.now();
    record.revokedBy = revokedBy;
    return 'revoked';
  }

  close(): void {
    this.pending.off('resolved', this.onResolved);
    for (const [id, set] of this.waiters) {
      for (const waiter of set) waiter({ id, decision: null, reason: 'cancelled', resolvedAtMs: this.now() });
    }
    this.waiters.clear();
  }

  private applyOutcome(outcome: ApprovalOutcome): void {
    const record = this.records.get(outcome.id);
    if (record) {
      record.decision = outcome.decision;
      record.timedOut = outcome.decision === null && outcome.reason === 'expired';
      record.resolvedAtMs = outcome.resolvedAtMs;
      record.resolvedBy = outcome.resolvedBy;
    }
    const set = this.waiters.get(outcome.id);
    if (set) {
      this.waiters.delete(outcome.id);
      for (const waiter of set) waiter(outcome);
    }
  }

  /** Drops records past the TTL and keeps the map bounded. */
  private trim(): void {
    const cutoff = this.now() - EXEC_APPROVAL_TTL_MS;
    for (const [id, record] of this.records) {
      if (record.createdAtMs < cutoff || this.records.size >= MAX_RECORDS) {
        if (record.decision !== undefined) this.records.delete(id);
      } else break;
    }
  }
}

/** The recorded decision, or allow-once after a timeout for an approvals-scoped caller asking for it. */
function effectiveDecision(
  record: ApprovalRecord,
  input: { caller: { scopes: readonly string[] }; approved: boolean; requestedDecision: unknown },
): ApprovalDecision | null | undefined {
  if (record.decision !== null || record.timedOut !== true) return record.decision;
  const scoped = input.caller.scopes.includes('operator.approvals') || input.caller.scopes.includes('operator.admin');
  return scoped && input.approved && input.requestedDecision === 'allow-once' ? 'allow-once' : null;
}

function invalid(message: string, code: string, extra: Record<string, unknown> = {}): GatewayProtocolError {
  return new GatewayProtocolError(ErrorCode.INVALID_REQUEST, message, { details: { code, ...extra } });
}

/** Upstream's exec.approval.get fields: the command text escaped as every display shows it, and where it runs. */
function approvalView(request: Record<string, unknown>): Record<string, unknown> {
  const plan = isRecord(request.systemRunPlan) ? request.systemRunPlan : undefined;
  const text = typeof request.command === 'string' && request.command ? request.command : plan?.commandText;
  const commandText = displayString(typeof text === 'string' ? text : '');
  const rawPreview = request.commandPreview ?? plan?.commandPreview;
  const preview = typeof rawPreview === 'string' && rawPreview.trim() ? displayString(rawPreview.trim()) : null;
  return {
    commandText,
    commandPreview: preview === commandText ? null : preview,
    host: typeof request.host === 'string' ? request.host : null,
    nodeId: typeof request.nodeId === 'string' ? request.nodeId : null,
    agentId: typeof request.agentId === 'string' ? request.agentId : null,
  };
}
