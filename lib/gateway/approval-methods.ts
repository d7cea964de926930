// Upstream's kind-generic approval methods, which `openclaw approvals resolve` calls: `approval.get {id}`
// → `{approval}` and `approval.resolve {id, kind, decision}` → `{applied, approval}`. Only exec approvals
// exist here, so `kind` must be "exec". The snapshot carries what the real CLI reads (id, status,
// presentation.kind and .allowedDecisions; decision and resolver once decided) beside our exec.approval.get
// fields. Lookups take the exact id (no prefix), as upstream's do; unknown → "approval not found".
import { APPROVAL_DECISIONS, type ApprovalDecision } from '../common/approval-queue.js';
import { DetailCode, ErrorCode, GatewayProtocolError } from '../protocol/errors.js';
import type { HandlerContext } from './handler-context.js';

const MAX_ID_CHARS = 512;

function notFound(id: unknown): GatewayProtocolError {
  return new GatewayProtocolError(ErrorCode.INVALID_REQUEST, 'approval not found', {
    details: { reason: ErrorCode.APPROVAL_NOT_FOUND, code: DetailCode.UNKNOWN_APPROVAL_ID, id },
  });
}

function invalidParams(method: string): GatewayProtocolError {
  return new GatewayProtocolError(ErrorCode.INVALID_REQUEST, `invalid ${method} params`);
}

function readId(params: Record<string, unknown>, method: string): string {
  const id = params.id;
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_CHARS) throw invalidParams(method);
  return id;
}

function paramsOf(ctx: HandlerContext, method: string, allowed: readonly string[]): Record<string, unknown> {
  const params = ctx.frame.params;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw invalidParams(method);
  if (Object.keys(params).some((key) => !allowed.includes(key))) throw invalidParams(method);
  return params as Record<string, unknown>;
}

/** Upstream's operator snapshot of one exec approval (ours under it). */
function snapshot(ctx: HandlerContext, id: string): Record<string, unknown> | undefined {
  const entry = ctx.core.approvals.get(id);
  if (!entry) return undefined;
  const pending = entry.status === 'pending';
  const decision = entry.decision as ApprovalDecision | null | undefined;
  const resolvedBy = (entry as { resolvedBy?: unknown }).resolvedBy;
  return {
    ...entry,
    id,
    kind: 'exec',
    status: pending ? 'pending' : decision ? 'resolved' : 'expired',
    presentation: { kind: 'exec', allowedDecisions: pending ? entry.allowedDecisions : [] },
    ...(decision ? { decision } : {}),
    ...(!pending && typeof resolvedBy === 'string' ? { resolver: { kind: 'device', id: resolvedBy } } : {}),
  };
}

function approvalGet(ctx: HandlerContext): unknown {
  const id = readId(paramsOf(ctx, 'approval.get', ['id']), 'approval.get');
  const approval = snapshot(ctx, id);
  if (!approval) throw notFound(id);
  return { approval };
}

function approvalResolve(ctx: HandlerContext): unknown {
  const params = paramsOf(ctx, 'approval.resolve', ['id', 'kind', 'decision', 'grantExpiresInDays', 'reviewer']);
  const id = readId(params, 'approval.resolve');
  if (params.reviewer !== undefined) throw notFound(id); // channel custody does not exist here
  if (params.kind !== 'exec') throw notFound(id);
  const decision = params.decision;
  if (typeof decision !== 'string' || !(APPROVAL_DECISIONS as readonly string[]).includes(decision))
    throw invalidParams('approval.resolve');
  const by = ctx.conn.deviceId ?? ctx.conn.connect?.client.displayName ?? ctx.conn.connId;
  const before = snapshot(ctx, id);
  const result = ctx.core.approvals.resolve(id, decision as ApprovalDecision, by);
  if (result === 'unknown') throw notFound(id);
  if (result === 'decision-not-allowed')
    throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, `decision not allowed: ${decision}`, {
      details: { id },
    });
  // Approvals the local exec host raised keep no record after their decision: the snapshot is built from it.
  const approval = snapshot(ctx, id) ?? {
    ...before,
    status: 'resolved',
    presentation: { kind: 'exec', allowedDecisions: [] },
    decision,
    resolver: { kind: 'device', id: by },
  };
  return { applied: result === 'ok', approval };
}

export const APPROVAL_HANDLERS = {
  'approval.get': approvalGet,
  'approval.resolve': approvalResolve,
};
