// Methods over the Gateway host's own state files: `exec.approvals.get|set` (the host's
// exec-approvals.json, upstream names and messages, socket token never sent) and
// `audit.activity.list` (the exec host's audit log). Scopes: get needs operator.read, set and the
// audit (argv can hold secrets) need operator.admin (protocol/scopes.ts).
import { Type } from '../protocol/typebox.js';

import {
  APPROVALS_INVALID,
  BASE_HASH_CHANGED,
  BASE_HASH_REQUIRED,
  readApprovalsSnapshot,
  writeApprovalsSnapshot,
} from '../exec-host/exec-approvals-edit.js';
import { ErrorCode, GatewayProtocolError } from '../protocol/errors.js';
import { EmptyParamsSchema, compileValidator, type Validator } from '../protocol/frames.js';
import { MAX_ACTIVITY_LIMIT, readExecActivity } from './audit-activity.js';
import type { HandlerContext } from './handler-context.js';

const validateEmpty = compileValidator(EmptyParamsSchema);
const validateApprovalsSet = compileValidator(
  Type.Object(
    { file: Type.Unknown(), baseHash: Type.Optional(Type.String({ maxLength: 256 })) },
    { additionalProperties: false },
  ),
);
const validateActivityList = compileValidator(
  Type.Object(
    {
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ACTIVITY_LIMIT })),
      after: Type.Optional(Type.Integer({ minimum: 0 })),
      before: Type.Optional(Type.Integer({ minimum: 0 })),
      status: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
);

function parse<T>(validator: Validator<T>, ctx: HandlerContext): T {
  const params = ctx.frame.params ?? {};
  if (!validator.check(params))
    throw new GatewayProtocolError(
      ErrorCode.INVALID_REQUEST,
      `invalid ${ctx.frame.method} params: ${validator.describe(params)}`,
    );
  return params;
}

const unavailable = (err: unknown): GatewayProtocolError =>
  new GatewayProtocolError(ErrorCode.UNAVAILABLE, `exec approvals unavailable: ${(err as Error).message}`, {
    details: { code: (err as { code?: string }).code },
  });

function approvalsGet(ctx: HandlerContext): unknown {
  parse(validateEmpty, ctx);
  try {
    return readApprovalsSnapshot(ctx.core.options.stateDir);
  } catch (err) {
    throw unavailable(err);
  }
}

/** Upstream's wording for the baseHash rule; `details.code` lets a page say it plainly. */
const CONFLICT_MESSAGES: Record<string, string> = {
  [BASE_HASH_REQUIRED]: 'exec approvals base hash required; re-run exec.approvals.get and retry',
  [BASE_HASH_CHANGED]: 'exec approvals changed since last load; re-run exec.approvals.get and retry',
};

function approvalsSet(ctx: HandlerContext): unknown {
  const params = parse(validateApprovalsSet, ctx);
  try {
    return writeApprovalsSnapshot(ctx.core.options.stateDir, params);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const conflict = CONFLICT_MESSAGES[code];
    if (conflict)
      throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, conflict, {
        details: { code: code.replace(/^ERR_APPROVALS_/, '') },
      });
    if (code === APPROVALS_INVALID)
      throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, `invalid exec approvals ${(err as Error).message}`);
    throw unavailable(err);
  }
}

async function activityList(ctx: HandlerContext): Promise<unknown> {
  const { kind, ...query } = parse(validateActivityList, ctx);
  if (query.after !== undefined && query.before !== undefined && query.after > query.before)
    throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, 'invalid audit.activity.list range or cursor');
  // Only exec records live here: another kind matches nothing.
  if (kind !== undefined && kind !== 'exec') return { events: [] };
  const { events, truncated } = await readExecActivity(ctx.core.options.stateDir, query);
  return truncated ? { events, truncated } : { events };
}

export const HOST_STATE_HANDLERS: Record<string, (ctx: HandlerContext) => unknown> = {
  'exec.approvals.get': approvalsGet,
  'exec.approvals.set': approvalsSet,
  'audit.activity.list': activityList,
};
