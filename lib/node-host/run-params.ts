// system.run params as the node host receives them (node.invoke.request paramsJSON), through one TypeBox
// schema compiled once (on first use). The frame was parsed depth-bounded (64) before it got here; the
// schema bounds sizes. Messages are the node host's stable INVALID_REQUEST texts, one per field.
import crypto from 'node:crypto';

import type { ApprovalDecision } from '../common/approval-queue.js';
import { Type, type Static } from '../protocol/typebox.js';
import { compileValidator } from '../protocol/validator.js';
import { NodeCommandError } from './invoke-error.js';

/** Far above any real command line (Linux ARG_MAX is 2 MiB in all). */
const MAX_ARGS = 16 * 1024;
const MAX_ARG_LENGTH = 128 * 1024;
const MAX_ENV_ENTRIES = 4096;
const Text = Type.String({ maxLength: MAX_ARG_LENGTH });
/** Swift's and OpenClaw's `String?`: null is "absent". */
const OptionalText = Type.Optional(Type.Union([Text, Type.Null()]));

// Property order is the order a problem is reported in (the order the fields were checked by hand before).
export const RunParamsSchema = Type.Object({
  command: Type.Array(Text, { minItems: 1, maxItems: MAX_ARGS }),
  timeoutMs: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()])),
  rawCommand: OptionalText,
  cwd: OptionalText,
  agentId: OptionalText,
  sessionKey: OptionalText,
  runId: OptionalText,
  env: Type.Optional(Type.Union([Type.Record(Type.String(), Text, { maxProperties: MAX_ENV_ENTRIES }), Type.Null()])),
});
type RunParamsWire = Static<typeof RunParamsSchema> & {
  needsScreenRecording?: unknown;
  approved?: unknown;
  approvalDecision?: unknown;
  systemRunPlan?: unknown;
  suppressNotifyOnExit?: unknown;
};
const runParams = compileValidator(RunParamsSchema);
const planObject = compileValidator(Type.Object({}));

export interface RunParams {
  command: string[];
  rawCommand?: string;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  needsScreenRecording?: boolean;
  agentId?: string;
  sessionKey?: string;
  runId: string;
  approved: boolean;
  approvalDecision?: ApprovalDecision;
  systemRunPlan?: Record<string, unknown>;
  suppressNotifyOnExit: boolean;
}

function invalid(message: string): NodeCommandError {
  return new NodeCommandError('INVALID_REQUEST', `INVALID_REQUEST: ${message}`);
}

/** The stable message for the first field that fails the schema. */
function problemMessage(path: string): string {
  const field = path.split('/')[1];
  if (field === undefined) return 'paramsJSON required';
  if (field === 'command') return 'command required';
  if (field === 'timeoutMs') return 'timeoutMs must be a positive integer';
  if (field === 'env') return 'env must be an object of strings';
  return `${field} must be a string`;
}

/** Checks and normalises system.run params; a bad field throws INVALID_REQUEST naming it. */
export function parseRunParams(params: unknown): RunParams {
  const problem = runParams.firstError(params);
  if (problem) throw invalid(problemMessage(problem.path));
  const p = params as RunParamsWire;
  if (p.command[0].trim() === '') throw invalid('command required');
  const decision = p.approvalDecision;
  return {
    command: p.command,
    rawCommand: p.rawCommand ?? undefined,
    cwd: p.cwd ?? undefined,
    env: p.env ?? undefined,
    timeoutMs: p.timeoutMs ?? undefined,
    needsScreenRecording: p.needsScreenRecording === true,
    agentId: p.agentId ?? undefined,
    sessionKey: p.sessionKey ?? undefined,
    runId: p.runId ?? crypto.randomUUID(),
    approved: p.approved === true,
    approvalDecision: decision === 'allow-once' || decision === 'allow-always' ? decision : undefined,
    systemRunPlan: planObject.check(p.systemRunPlan) ? (p.systemRunPlan as Record<string, unknown>) : undefined,
    suppressNotifyOnExit: p.suppressNotifyOnExit === true,
  };
}

// system.run.prepare takes the command and the fields its plan binds; anything else is ignored.
export const PrepareParamsSchema = Type.Object({
  command: RunParamsSchema.properties.command,
  rawCommand: OptionalText,
  cwd: OptionalText,
  agentId: OptionalText,
  sessionKey: OptionalText,
});
type PrepareParamsWire = Static<typeof PrepareParamsSchema>;
const prepareParams = compileValidator(PrepareParamsSchema);

export interface PrepareParams {
  command: string[];
  rawCommand?: string;
  cwd?: string;
  agentId?: string;
  sessionKey?: string;
}

/** Checks system.run.prepare params; a missing or bad command is `command required`, as for a run. */
export function parsePrepareParams(params: unknown): PrepareParams {
  const problem = prepareParams.firstError(params ?? {});
  if (problem) throw invalid(problem.path === '' ? 'command required' : problemMessage(problem.path));
  const p = (params ?? {}) as PrepareParamsWire;
  if (p.command[0].trim() === '') throw invalid('command required');
  return {
    command: p.command,
    rawCommand: p.rawCommand ?? undefined,
    cwd: p.cwd ?? undefined,
    agentId: p.agentId ?? undefined,
    sessionKey: p.sessionKey ?? undefined,
  };
}
