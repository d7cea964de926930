// Request handlers after the handshake, the role/scope gate in front of them, and the method and
// event lists advertised in hello-ok.
import crypto from 'node:crypto';

import { Type } from '../protocol/typebox.js';

import { parseBoundedJson } from '../common/bounded-json.js';
import { isRecord } from '../common/records.js';
import { TRACE, traceMark } from '../common/trace.js';
import {
  CloseCode,
  DEFAULT_INVOKE_TIMEOUT_MS,
  MAX_FRAME_JSON_DEPTH,
  UNAUTHORIZED_FLOOD_LIMIT,
} from '../protocol/constants.js';
import { DetailCode, ErrorCode, GatewayProtocolError, errorShape } from '../protocol/errors.js';
import {
  EmptyParamsSchema,
  ExecApprovalIdParamsSchema,
  ExecApprovalWaitParamsSchema,
  NodeIdParamsSchema,
  NodeRenameParamsSchema,
  PluginToolsUpdateParamsSchema,
  RequestIdParamsSchema,
  RunnerInventoryParamsSchema,
  SkillsUpdateParamsSchema,
  compileValidator,
  validateExecApprovalRequestParams,
  validateExecApprovalResolveParams,
  validateNodeEventParams,
  validateNodeInvokeParams,
  validateNodeInvokeResultParams,
  type RequestFrame,
  type Validator,
} from '../protocol/frames.js';
import { firstUncoveredScope, hasScopeFor, requiredScope, roleViolation } from '../protocol/scopes.js';
import { EXEC_APPROVALS_NODE_COMMANDS } from './command-policy.js';
import type { GatewayConnection } from './connection.js';
import type { GatewayCore } from './core.js';
import {
  cachedInvokeBytes,
  outcomeToResult,
  toCachedInvoke,
  type CachedInvoke,
  type InvokeResultPayload,
} from './invoke-result.js';
import type { InvokeOutcome, NodeSession } from './node-registry.js';
import { approveNodeRequest, reconcileNodePairing, rejectNodeRequest } from './node-pairing.js';
import type { PairedDevice } from './pairing-store.js';
import { HOST_STATE_HANDLERS } from './host-state-methods.js';
import { APPROVAL_HANDLERS } from './approval-methods.js';

/** Upper bound for a caller-chosen invoke timeout. */
const MAX_INVOKE_TIMEOUT_MS = 10 * 60_000;
/** Keys of `system.run` params the gateway forwards (spec §11); everything else is dropped. */
const SYSTEM_RUN_FORWARD_KEYS = [
  'command',
  'rawCommand',
  'systemRunPlan',
  'cwd',
  'env',
  'timeoutMs',
  'needsScreenRecording',
  'agentId',
  'sessionKey',
  'runId',
  'suppressNotifyOnExit',
];

import type { HandlerContext } from './handler-context.js';
export type { HandlerContext };

type Handler = (ctx: HandlerContext) => unknown;

const invalid = (message: string, details?: unknown): GatewayProtocolError =>
  new GatewayProtocolError(ErrorCode.INVALID_REQUEST, message, { details });

function parse<T>(validator: Validator<T>, ctx: HandlerContext): T {
  const params = ctx.frame.params ?? {};
  if (!validator.check(params)) throw invalid(`invalid ${ctx.frame.method} params: ${validator.describe(params)}`);
  return params;
}

const validateEmpty = compileValidator(EmptyParamsSchema);
const validateNodeId = compileValidator(NodeIdParamsSchema);
const validateRequestId = compileValidator(RequestIdParamsSchema);
const validateNodeRename = compileValidator(NodeRenameParamsSchema);
const validateRunnerInventory = compileValidator(RunnerInventoryParamsSchema);
const validateSkillsUpdate = compileValidator(SkillsUpdateParamsSchema);
const validatePluginTools = compileValidator(PluginToolsUpdateParamsSchema);
const validateApprovalId = compileValidator(ExecApprovalIdParamsSchema);
const validateApprovalWait = compileValidator(ExecApprovalWaitParamsSchema);
const validateDeviceId = compileValidator(
  Type.Object({ deviceId: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
);
const validateDeviceRole = compileValidator(
  Type.Object(
    {
      deviceId: Type.String({ minLength: 1, maxLength: 256 }),
      role: Type.Union([Type.Literal('operator'), Type.Literal('node')]),
    },
    { additionalProperties: false },
  ),
);
const validatePendingAck = compileValidator(
  Type.Object(
    { ids: Type.Array(Type.String({ maxLength: 512 }), { minItems: 1, maxItems: 1024 }) },
    { additionalProperties: false },
  ),
);
const validatePendingDrain = compileValidator(
  Type.Object({ maxItems: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })) }, { additionalProperties: false }),
);
const validateGrantsList = compileValidator(
  Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false }),
);
const validateGrantsRevoke = compileValidator(
  Type.Object({ grantId: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
);
const validateNodeApprovalsSet = compileValidator(
  Type.Object(
    {
      nodeId: Type.String({ minLength: 1, maxLength: 256 }),
      file: Type.Unknown(),
      baseHash: Type.Optional(Type.String({ maxLength: 256 })),
    },
    { additionalProperties: false },
  ),
);

// ------------------------------------------------------------------ nodes

function describeNode(core: GatewayCore, nodeId: string): Record<string, unknown> | undefined {
  const session = core.registry.get(nodeId);
  const paired = core.pairing.getNode(nodeId);
  if (!session && !paired) return undefined;
  const node: Record<string, unknown> = {
    nodeId,
    displayName: paired?.displayName ?? session?.displayName,
    platform: session?.platform ?? paired?.platform,
    version: session?.version,
    clientId: session?.clientId,
    clientMode: session?.clientMode,
    deviceFamily: session?.deviceFamily,
    modelIdentifier: session?.modelIdentifier,
    remoteIp: session?.remoteIp,
    caps: session?.caps ?? paired?.caps ?? [],
    commands: session
      ? session.commands.filter((command) => paired?.commands.includes(command))
      : (paired?.commands ?? []),
    pathEnv: session?.pathEnv,
    permissions: session?.permissions,
    connectedAtMs: session?.connectedAtMs,
    // Not upstream (additive): when an offline node was last connected, if it was during this run.
    lastSeenAtMs: session ? undefined : core.nodeLastSeen.get(nodeId),
    approvedAtMs: paired?.approvedAtMs,
    paired: paired !== undefined,
    connected: session !== undefined,
  };
  for (const key of Object.keys(node)) if (node[key] === undefined) delete node[key];
  return node;
}

function listNodes(core: GatewayCore): Record<string, unknown>[] {
  const ids = new Set([...core.registry.list().map((s) => s.nodeId), ...core.pairing.listNodes().map((n) => n.nodeId)]);
  const nodes = [...ids].map((id) => describeNode(core, id)!);
  const name = (node: Record<string, unknown>): string => String(node.displayName ?? node.nodeId).toLowerCase();
  return nodes.sort((a, b) => Number(b.connected) - Number(a.connected) || name(a).localeCompare(name(b)));
}

/** Command gating (spec §10.5): declared by the node, allowed for its platform, approved by pairing. */
function gateCommand(core: GatewayCore, session: NodeSession, command: string): void {
  const platform = session.platform ?? 'unknown';
  if (session.commands.length === 0) {
    throw invalid(`node command not allowed: the node (platform: ${platform}) did not declare commands`, {
      reason: 'node did not declare commands',
      command,
    });
  }
  if (!session.commands.includes(command)) {
    throw invalid(`node command not allowed: the node (platform: ${platform}) does not support "${command}"`, {
      reason: 'command not declared by node',
      command,
    });
  }
  const isApprovalsCommand = EXEC_APPROVALS_NODE_COMMANDS.includes(command);
  if (!isApprovalsCommand && !core.policy.platformAllows(session.normalizedPlatform, command)) {
    throw invalid(
      `node command not allowed: "${command}" is not allowlisted for platform ${session.normalizedPlatform}`,
      { reason: 'command not allowlisted', command },
    );
  }
  const paired = core.pairing.getNode(session.nodeId);
  if (!paired || !paired.commands.includes(command)) {
    const pendingId = core.pairing.pendingNodeRequestFor(session.nodeId)?.requestId;
    throw invalid(`node command not allowed: "${command}" is awaiting node pairing approval`, {
      reason: 'command not approved',
      command,
      requestId: pendingId,
    });
  }
}

function connectedNode(core: GatewayCore, nodeId: string): NodeSession {
  const session = core.registry.get(nodeId);
  if (!session)
    throw new GatewayProtocolError(ErrorCode.UNAVAILABLE, 'node not connected', {
      details: { code: DetailCode.NOT_CONNECTED, nodeId },
    });
  return session;
}

/** Filters `system.run` params and applies the approval checks of spec §11 step 4. */
function prepareSystemRun(ctx: HandlerContext, nodeId: string, params: unknown): Record<string, unknown> {
  if (!isRecord(params)) throw invalid('system.run params must be an object');
  const forward: Record<string, unknown> = {};
  for (const key of SYSTEM_RUN_FORWARD_KEYS) if (params[key] !== undefined) forward[key] = params[key];
  const wantsApproval = params.approved === true || params.approvalDecision !== undefined;
  if (!wantsApproval) {
    // Only a real approval record may set these; a caller-supplied plan is dropped too.
    delete forward.systemRunPlan;
    if (typeof forward.runId !== 'string' || forward.runId === '') forward.runId = crypto.randomUUID();
    return forward;
  }
  const argv =
    Array.isArray(params.command) && params.command.every((arg) => typeof arg === 'string')
      ? (params.command as string[])
      : undefined;
  const { record, decision } = ctx.core.approvals.authorizeRun({
    runId: params.runId,
    nodeId,
    caller: { connId: ctx.conn.connId, deviceId: ctx.conn.deviceId, scopes: ctx.conn.scopes },
    approved: params.approved === true,
    requestedDecision: params.approvalDecision,
    argv,
    cwd: params.cwd,
    agentId: params.agentId,
    sessionKey: params.sessionKey,
    env: params.env,
  });
  // Exactly what was approved runs: the bound argv, cwd, agent and session (the env matched its hash).
  const binding = record.binding!;
  forward.command = binding.argv;
  forward.rawCommand = binding.commandText;
  for (const [key, value] of [
    ['cwd', binding.cwd],
    ['agentId', binding.agentId],
    ['sessionKey', binding.sessionKey],
  ] as const) {
    if (value === null) delete forward[key];
    else forward[key] = value;
  }
  if (record.plan) forward.systemRunPlan = record.plan;
  else delete forward.systemRunPlan;
  forward.runId = record.id;
  forward.approved = true;
  forward.approvalDecision = decision;
  return forward;
}

async function nodeInvoke(ctx: HandlerContext): Promise<InvokeResultPayload> {
  if (TRACE) traceMark('gw.invoke');
  const { core } = ctx;
  const p = parse(validateNodeInvokeParams, ctx);
  if (p.command.startsWith('system.execApprovals.')) {
    throw invalid(`node.invoke does not allow ${p.command}; use exec.approvals.node.*`);
  }
  const key = `${idempotencyNamespace(ctx.conn, p.params)}\u0000${p.nodeId}\u0000${p.idempotencyKey}`;
  const fingerprint = JSON.stringify([p.command, p.params ?? null]);
  const cached = core.idempotency.get(key);
  if (cached) {
    if (cached.fingerprint !== fingerprint)
      throw invalid('idempotencyKey was already used with different parameters', { idempotencyKey: p.idempotencyKey });
    // Served only while the command is still approved for that node (the caller's scopes and identity are in the key).
    if (!core.pairing.getNode(p.nodeId)?.commands.includes(p.command))
      throw invalid(`node command not allowed: "${p.command}" is not approved for this node`, {
        reason: 'command not approved',
        command: p.command,
      });
    // A second caller of the same invoke: it is cancelled only when every caller is gone.
    const inflight = cached.inflight?.invokeId;
    if (inflight && core.registry.isPending(inflight)) core.requesters.add(inflight, ctx.conn.connId);
    return unwrap(await cached.result);
  }
  const session = connectedNode(core, p.nodeId);
  gateCommand(core, session, p.command);
  const forward = p.command === 'system.run' ? prepareSystemRun(ctx, p.nodeId, p.params) : p.params;
  const timeoutMs = Math.min(p.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS, MAX_INVOKE_TIMEOUT_MS);
  const invokeId = crypto.randomUUID();
  core.requesters.add(invokeId, ctx.conn.connId);
  const run = core.registry
    .invoke({
      id: invokeId,
      nodeId: p.nodeId,
      command: p.command,
      paramsJSON: forward === undefined ? null : JSON.stringify(forward),
      timeoutMs,
      idempotencyKey: p.idempotencyKey,
    })
    .then((outcome): CachedInvoke => {
      core.requesters.done(invokeId);
      const cached = toCachedInvoke(p.nodeId, p.command, outcome);
      // A cancelled invoke is remembered like a node error: a retry with the key learns it was cancelled
      // (the command may have been part-way through) instead of running it a second time unasked.
      if (outcome.ok || outcome.kind === 'node' || outcome.kind === 'cancelled') {
        core.idempotency.account(key, run, cachedInvokeBytes(outcome), cached);
      } else if (!(core.closing && outcome.kind === 'disconnected')) {
        // Transport failures are forgotten so that a retry with the same key can run. An invoke cut
        // by the Gateway's shutdown stays persisted as in flight: the node may still run it and
        // re-deliver the result to the next run, which a retry then waits for.
        core.idempotency.delete(key, run);
      }
      return cached;
    });
  // Observed here so that a failure before the await below is never an unhandled rejection.
  run.catch(() => undefined);
  core.idempotency.set(key, fingerprint, run);
  core.idempotency.markInflight(key, run, {
    nodeId: p.nodeId,
    invokeId,
    command: p.command,
    deadlineMs: core.now() + timeoutMs,
  });
  const settled = await run;
  if (TRACE) traceMark('gw.respond');
  return unwrap(settled);
}

/**
 * Who may see a remembered node.invoke result (issue 7 item 15): the same device, or for device-less callers
 * the same shared secret, with the same scopes; an approved system.run of a device-less caller also the
 * same connection, as its approval is bound to it. Anyone else makes a call of their own, which is checked.
 */
function idempotencyNamespace(conn: GatewayConnection, params: unknown): string {
  const scopes = [...new Set(conn.scopes)].sort().join(',');
  if (conn.deviceId !== undefined) return `device:${conn.deviceId}|${scopes}`;
  const claimsApproval = isRecord(params) && (params.approved === true || params.approvalDecision !== undefined);
  const who = claimsApproval ? `conn:${conn.connId}` : `shared:${conn.authMethod ?? 'none'}`;
  return `${who}|${scopes}`;
}

function unwrap(result: CachedInvoke): InvokeResultPayload {
  if (result.ok) return result.value;
  throw result.error;
}

function nodeInvokeResult(ctx: HandlerContext): unknown {
  if (TRACE) traceMark('gw.result');
  const raw = ctx.frame.params;
  // Upstream normalisation: null payloadJSON / error are dropped, a non-string payloadJSON is payload.
  const params: Record<string, unknown> = isRecord(raw) ? { ...raw } : {};
  if (params.payloadJSON === null) delete params.payloadJSON;
  if (params.error === null) delete params.error;
  if (params.payloadJSON !== undefined && typeof params.payloadJSON !== 'string') {
    params.payload = params.payloadJSON;
    delete params.payloadJSON;
  }
  if (!validateNodeInvokeResultParams.check(params))
    throw invalid(`invalid node.invoke.result params: ${validateNodeInvokeResultParams.describe(params)}`);
  if (params.nodeId !== ctx.conn.deviceId) throw invalid('nodeId mismatch');
  const outcome: InvokeOutcome = params.ok
    ? { ok: true, payload: params.payload, payloadJSON: params.payloadJSON }
    : {
        ok: false,
        kind: 'node',
        error: { code: params.error?.code ?? 'UNAVAILABLE', message: params.error?.message ?? 'node error' },
      };
  const applied =
    ctx.core.registry.complete(params.nodeId, params.id, outcome) ||
    ctx.core.resumed.complete(params.nodeId, params.id, outcome);
  return applied ? { ok: true } : { ok: true, ignored: true };
}

function nodeEvent(ctx: HandlerContext): unknown {
  const p = parse(validateNodeEventParams, ctx);
  let payload = p.payload;
  if (payload === undefined && p.payloadJSON !== undefined) {
    try {
      payload = parseBoundedJson(p.payloadJSON, { maxDepth: MAX_FRAME_JSON_DEPTH });
    } catch (err) {
      throw invalid(`node.event payloadJSON rejected: ${(err as Error).message}`, {
        code: (err as { code?: string }).code,
      });
    }
  }
  ctx.core.events.emit('node.event', ctx.conn.deviceId ?? '', p.event, payload);
  return { ok: true };
}

function nodeRunnerInventory(ctx: HandlerContext): unknown {
  parse(validateRunnerInventory, ctx);
  const nodeId = ctx.conn.deviceId!;
  if (ctx.core.pairing.getNode(nodeId)) return { nodeId };
  const session = ctx.core.registry.get(nodeId);
  const request =
    ctx.core.pairing.pendingNodeRequestFor(nodeId) ?? (session ? reconcileNodePairing(ctx.core, session) : undefined);
  if (!request) return { nodeId };
  throw new GatewayProtocolError(
    ErrorCode.UNAVAILABLE,
    `node capability surface is awaiting operator approval; ` +
      `run \`openclaw nodes approve ${request.requestId}\` (see \`openclaw nodes pending\`), then this node retries automatically`,
  );
}

// ------------------------------------------------------------------ pairing

function nodePairApprove(ctx: HandlerContext): unknown {
  const { requestId } = parse(validateRequestId, ctx);
  const request = ctx.core.pairing.listNodeRequests().find((r) => r.requestId === requestId);
  if (!request) throw invalid('unknown requestId', { requestId });
  refuseSelfApproval(ctx, request.nodeId, requestId);
  const scopes = ctx.conn.scopes;
  const platform = ctx.core.registry.get(request.nodeId)?.normalizedPlatform ?? 'unknown';
  const commands = ctx.core.policy.approvableCommands(platform, request.commands);
  const execCommands = ['system.run', 'system.run.prepare', 'system.which'];
  if (commands.some((c) => execCommands.includes(c)) && !scopes.includes('operator.admin'))
    throw invalid('missing scope: operator.admin');
  if (
    commands.some((c) => !execCommands.includes(c)) &&
    !scopes.includes('operator.admin') &&
    !scopes.includes('operator.write')
  ) {
    throw invalid('missing scope: operator.write');
  }
  const result = approveNodeRequest(ctx.core, requestId);
  if (!result) throw invalid('unknown requestId', { requestId });
  return { ...result, decision: 'approved' };
}

/** A device never approves its own pairing request: that would let it grant itself what it asked for. */
function refuseSelfApproval(ctx: HandlerContext, requesterId: string, requestId: string): void {
  if (ctx.conn.deviceId !== undefined && ctx.conn.deviceId === requesterId) {
    throw invalid('pairing approval denied: a device cannot approve its own request', {
      code: 'PAIRING_SELF_APPROVAL',
      requestId,
    });
  }
}

/**
 * Device pairing approval (upstream devices.ts + device-pairing-approval.ts): the approver is not the
 * requesting device, a node role needs operator.admin, and every requested scope must be one the approver
 * holds (admin covers all, write covers read). Checked before the request is taken, so a refused approval
 * leaves it pending for someone who may approve it.
 */
function devicePairApprove(ctx: HandlerContext): unknown {
  const { requestId } = parse(validateRequestId, ctx);
  const pending = ctx.core.pairing.listDeviceRequests().find((r) => r.requestId === requestId);
  if (!pending) throw invalid('unknown requestId', { requestId });
  refuseSelfApproval(ctx, pending.deviceId, requestId);
  const callerScopes = ctx.conn.scopes;
  if (pending.role !== 'operator' && !callerScopes.includes('operator.admin')) {
    throw invalid('missing scope: operator.admin', { code: 'PAIRING_ROLE_REQUIRES_ADMIN', requestId });
  }
  const uncovered = firstUncoveredScope(pending.scopes, callerScopes);
  if (uncovered !== undefined)
    throw invalid(`missing scope: ${uncovered}`, { code: 'PAIRING_SCOPE_NOT_HELD', requestId });
  const request = ctx.core.pairing.takeDeviceRequest(requestId);
  if (!request) throw invalid('unknown requestId', { requestId });
  const device = ctx.core.pairing.approveDevice(request);
  const resolved = { requestId, deviceId: device.deviceId, decision: 'approved', ts: ctx.core.now() };
  ctx.core.broadcast('device.pair.resolved', resolved, ctx.core.operatorsWith('device.pair.approve'));
  return { requestId, device: publicDevice(device) };
}

function devicePairReject(ctx: HandlerContext): unknown {
  const { requestId } = parse(validateRequestId, ctx);
  const request = ctx.core.pairing.takeDeviceRequest(requestId);
  if (!request) throw invalid('unknown requestId', { requestId });
  const resolved = { requestId, deviceId: request.deviceId, decision: 'rejected', ts: ctx.core.now() };
  ctx.core.broadcast('device.pair.resolved', resolved, ctx.core.operatorsWith('device.pair.approve'));
  return { requestId, deviceId: request.deviceId };
}

/**
 * Removing a device or rotating/revoking its tokens: a non-admin device manages only itself (upstream
 * deniesCrossDeviceManagement). Device-less callers proved the shared secret and are not restricted here.
 */
function assertMayManageDevice(ctx: HandlerContext, deviceId: string): void {
  const caller = ctx.conn.deviceId;
  if (caller !== undefined && caller !== deviceId && !ctx.conn.scopes.includes('operator.admin')) {
    throw invalid('device management denied: another device needs operator.admin', {
      code: 'DEVICE_OWNERSHIP_MISMATCH',
      deviceId,
    });
  }
}

/** A paired device without its tokens. */
function publicDevice(device: PairedDevice): Record<string, unknown> {
  const { tokens, ...rest } = device;
  return { ...rest, tokenRoles: Object.keys(tokens) };
}

/** Closes the live connections of a device (all roles, or one). */
function disconnectDevice(core: GatewayCore, deviceId: string, role: string | undefined, reason: string): void {
  for (const conn of core.connections) {
    if (conn.deviceId === deviceId && (role === undefined || conn.role === role))
      conn.close(CloseCode.policyViolation, reason);
  }
}

// ------------------------------------------------------------------ exec approvals

function hasApprovalRoute(ctx: HandlerContext): boolean {
  if (ctx.core.options.localApprovalRoute) return true;
  for (const conn of ctx.core.connections) {
    if (
      conn !== ctx.conn &&
      conn.state === 'ready' &&
      conn.role === 'operator' &&
      hasScopeFor('exec.approval.resolve', conn.scopes)
    )
      return true;
  }
  return false;
}

async function execApprovalRequest(ctx: HandlerContext): Promise<unknown> {
  const p = parse(validateExecApprovalRequestParams, ctx);
  const route = hasApprovalRoute(ctx);
  // A one-phase request answers only on this connection: if it closes first, nobody can use the decision,
  // so the approval is withdrawn with it (a human must not approve for a requester who is gone).
  const { record, outcome } = ctx.core.approvals.request(p, {
    connId: ctx.conn.connId,
    deviceId: ctx.conn.deviceId,
    boundToConnection: p.twoPhase !== true,
  });
  const times = { createdAtMs: record.createdAtMs, expiresAtMs: record.expiresAtMs };
  if (p.twoPhase)
    ctx.respondEarly({ status: 'accepted', id: record.id, deliveryRoute: route ? 'operators' : 'none', ...times });
  // Nobody could ever answer: expire at once (OpenClaw 2026.9.6 answers "no-approval-route" too) unless the caller opted out.
  if (!route && p.requireDeliveryRoute !== false) ctx.core.approvals.pending.cancel(record.id);
  const final = await outcome;
  return { id: record.id, decision: final.decision, ...times };
}

function execApprovalResolve(ctx: HandlerContext): unknown {
  const p = parse(validateExecApprovalResolveParams, ctx);
  const by = ctx.conn.deviceId ?? ctx.conn.connect?.client.displayName ?? ctx.conn.connId;
  const result = ctx.core.approvals.resolve(p.id, p.decision, by);
  if (result === 'ok') return { ok: true };
  if (result === 'already-resolved') throw invalid('approval already resolved', { id: p.id });
  if (result === 'decision-not-allowed') throw invalid(`decision not allowed: ${p.decision}`, { id: p.id });
  throw new GatewayProtocolError(ErrorCode.APPROVAL_NOT_FOUND, 'unknown or expired approval id', {
    details: { code: DetailCode.UNKNOWN_APPROVAL_ID, id: p.id },
  });
}

function execApprovalGet(ctx: HandlerContext): unknown {
  const { id: input } = parse(validateApprovalId, ctx);
  const found = ctx.core.approvals.lookupId(input);
  if (found.kind === 'ambiguous')
    throw new GatewayProtocolError(ErrorCode.INVALID_REQUEST, 'ambiguous approval id prefix; use the full id');
  const id = 'id' in found ? found.id : input;
  const entry = 'id' in found ? ctx.core.approvals.get(found.id) : undefined;
  if (!entry)
    throw new GatewayProtocolError(ErrorCode.APPROVAL_NOT_FOUND, 'unknown or expired approval id', {
      details: { code: DetailCode.UNKNOWN_APPROVAL_ID, id },
    });
  return entry;
}

function execApprovalWait(ctx: HandlerContext): Promise<unknown> {
  const { id, timeoutMs } = parse(validateApprovalWait, ctx);
  return ctx.core.approvals.waitDecision(id, Math.min(timeoutMs ?? MAX_INVOKE_TIMEOUT_MS, MAX_INVOKE_TIMEOUT_MS));
}

/** exec.approvals.node.get|set: forwarded as system.execApprovals.* (bypasses the platform allowlist). */
async function nodeApprovalsForward(
  ctx: HandlerContext,
  command: string,
  params: Record<string, unknown>,
  nodeId: string,
): Promise<unknown> {
  const session = connectedNode(ctx.core, nodeId);
  gateCommand(ctx.core, session, command);
  const outcome = await ctx.core.registry.invoke({
    nodeId,
    command,
    paramsJSON: JSON.stringify(params),
    timeoutMs: DEFAULT_INVOKE_TIMEOUT_MS,
  });
  return outcomeToResult(nodeId, command, outcome).payload;
}

// ------------------------------------------------------------------ table

const HANDLERS: Record<string, Handler> = {
  health: (ctx) => ctx.core.health(),
  'node.list': (ctx) => {
    parse(validateEmpty, ctx);
    return { ts: ctx.core.now(), nodes: listNodes(ctx.core) };
  },
  'node.describe': (ctx) => {
    const { nodeId } = parse(validateNodeId, ctx);
    const node = describeNode(ctx.core, nodeId);
    if (!node) throw invalid('unknown nodeId', { nodeId });
    return { ts: ctx.core.now(), ...node };
  },
  'node.rename': (ctx) => {
    const { nodeId, displayName } = parse(validateNodeRename, ctx);
    if (!ctx.core.pairing.renameNode(nodeId, displayName)) throw invalid('unknown nodeId', { nodeId });
    return { nodeId, displayName };
  },
  'node.invoke': nodeInvoke,
  'node.invoke.result': nodeInvokeResult,
  'node.event': nodeEvent,
  'node.runnerInventory.update': nodeRunnerInventory,
  'node.skills.update': (ctx) => ({ nodeId: ctx.conn.deviceId, skills: parse(validateSkillsUpdate, ctx).skills }),
  'node.pluginTools.update': (ctx) => ({ nodeId: ctx.conn.deviceId, tools: parse(validatePluginTools, ctx).tools }),
  // This gateway queues no actions for nodes (the queue serves iOS wake-ups upstream): always empty.
  'node.pending.pull': (ctx) => {
    parse(validateEmpty, ctx);
    return { nodeId: ctx.conn.deviceId, actions: [] };
  },
  'node.pending.drain': (ctx) => {
    parse(validatePendingDrain, ctx);
    return { nodeId: ctx.conn.deviceId, actions: [] };
  },
  'node.pending.ack': (ctx) => {
    parse(validatePendingAck, ctx);
    return { nodeId: ctx.conn.deviceId, ackedIds: [], remainingCount: 0 };
  },
  // No skills are installed in this gateway, so no skill binaries are auto-allowed.
  'skills.bins': () => ({ bins: [] }),
  'node.pair.list': (ctx) => {
    parse(validateEmpty, ctx);
    return {
      pending: ctx.core.pairing.listNodeRequests(),
      paired: ctx.core.pairing.listNodes().map(({ token: _token, ...node }) => node),
    };
  },
  'node.pair.approve': nodePairApprove,
  'node.pair.reject': (ctx) => {
    const { requestId } = parse(validateRequestId, ctx);
    const result = rejectNodeRequest(ctx.core, requestId);
    if (!result) throw invalid('unknown requestId', { requestId });
    return { ...result, decision: 'rejected' };
  },
  // Upstream: forget a paired node (the node role of its device) and drop its node connections.
  'node.pair.remove': (ctx) => {
    const { nodeId } = parse(validateNodeId, ctx);
    if (!ctx.core.pairing.removeNode(nodeId)) throw invalid('unknown nodeId', { nodeId });
    disconnectDevice(ctx.core, nodeId, 'node', 'node pairing removed');
    return { nodeId };
  },
  'device.pair.list': (ctx) => {
    parse(validateEmpty, ctx);
    return { pending: ctx.core.pairing.listDeviceRequests(), paired: ctx.core.pairing.listDevices().map(publicDevice) };
  },
  'device.pair.approve': devicePairApprove,
  'device.pair.reject': devicePairReject,
  'device.pair.remove': (ctx) => {
    const { deviceId } = parse(validateDeviceId, ctx);
    assertMayManageDevice(ctx, deviceId);
    if (!ctx.core.pairing.removeDevice(deviceId)) throw invalid('unknown deviceId', { deviceId });
    disconnectDevice(ctx.core, deviceId, undefined, 'device removed');
    return { deviceId, removed: true };
  },
  'device.token.rotate': (ctx) => {
    const { deviceId, role } = parse(validateDeviceRole, ctx);
    assertMayManageDevice(ctx, deviceId);
    const record = ctx.core.pairing.rotateDeviceToken(deviceId, role);
    if (!record) throw invalid('unknown device token', { deviceId, role });
    return { deviceId, role, token: record.token, scopes: record.scopes, rotatedAtMs: record.issuedAtMs };
  },
  'device.token.revoke': (ctx) => {
    const { deviceId, role } = parse(validateDeviceRole, ctx);
    assertMayManageDevice(ctx, deviceId);
    if (!ctx.core.pairing.revokeDeviceToken(deviceId, role)) throw invalid('unknown device token', { deviceId, role });
    disconnectDevice(ctx.core, deviceId, role, 'device token revoked');
    return { deviceId, role, revokedAtMs: ctx.core.now() };
  },
  'exec.approval.request': execApprovalRequest,
  'exec.approval.resolve': execApprovalResolve,
  // Upstream's shape: a bare array of {id, request, createdAtMs, expiresAtMs, approvalKind}.
  'exec.approval.list': (ctx) => {
    parse(validateEmpty, ctx);
    return ctx.core.approvals.list().map((entry) => ({
      id: entry.id,
      request: entry.request,
      createdAtMs: entry.createdAtMs,
      expiresAtMs: entry.expiresAtMs,
      approvalKind: 'exec',
    }));
  },
  // Plugin and system-agent approvals do not exist here; `openclaw approvals pending` asks for all three.
  'plugin.approval.list': (ctx) => {
    parse(validateEmpty, ctx);
    return [];
  },
  'openclaw.approval.list': (ctx) => {
    parse(validateEmpty, ctx);
    return [];
  },
  'exec.approval.get': execApprovalGet,
  'exec.approval.waitDecision': execApprovalWait,
  'exec.approval.grants.list': (ctx) => ({
    grants: ctx.core.approvals.listGrants(parse(validateGrantsList, ctx).limit),
  }),
  'exec.approval.grants.revoke': (ctx) => {
    const { grantId } = parse(validateGrantsRevoke, ctx);
    const by = ctx.conn.connect?.client.displayName ?? ctx.conn.connect?.client.id ?? 'operator';
    return { outcome: ctx.core.approvals.revokeGrant(grantId, by) };
  },
  ...HOST_STATE_HANDLERS,
  ...APPROVAL_HANDLERS,
  'exec.approvals.node.get': (ctx) =>
    nodeApprovalsForward(ctx, 'system.execApprovals.get', {}, parse(validateNodeId, ctx).nodeId),
  'exec.approvals.node.set': (ctx) => {
    const { nodeId, file, baseHash } = parse(validateNodeApprovalsSet, ctx);
    return nodeApprovalsForward(
      ctx,
      'system.execApprovals.set',
      baseHash === undefined ? { file } : { file, baseHash },
      nodeId,
    );
  },
};

export const GATEWAY_METHODS: string[] = Object.keys(HANDLERS);
export const GATEWAY_EVENTS: string[] = [
  'connect.challenge',
  'tick',
  'shutdown',
  'health',
  'voicewake.changed',
  'voicewake.routing.changed',
  'node.invoke.request',
  'node.invoke.cancel',
  'node.pair.requested',
  'node.pair.resolved',
  'device.pair.requested',
  'device.pair.resolved',
  'exec.approval.requested',
  'exec.approval.resolved',
];

/** Role gate, scope gate, lookup, run; always answers (unknown method included), never throws. */
export function dispatchRequest(core: GatewayCore, conn: GatewayConnection, frame: RequestFrame): void {
  const violation = roleViolation(conn.role, frame.method);
  if (violation) {
    conn.respondError(frame.id, errorShape(ErrorCode.INVALID_REQUEST, violation));
    if (++conn.unauthorizedStreak >= UNAUTHORIZED_FLOOD_LIMIT)
      conn.close(CloseCode.policyViolation, 'repeated unauthorized calls');
    return;
  }
  conn.unauthorizedStreak = 0;
  const handler = Object.hasOwn(HANDLERS, frame.method) ? HANDLERS[frame.method] : undefined;
  if (!handler) {
    conn.respondError(frame.id, errorShape(ErrorCode.INVALID_REQUEST, `unknown method: ${frame.method}`));
    return;
  }
  if (conn.role === 'operator' && !hasScopeFor(frame.method, conn.scopes)) {
    conn.respondError(frame.id, errorShape(ErrorCode.INVALID_REQUEST, `missing scope: ${requiredScope(frame.method)}`));
    return;
  }
  const ctx: HandlerContext = { core, conn, frame, respondEarly: (payload) => conn.respondOk(frame.id, payload) };
  let result: unknown;
  try {
    result = handler(ctx);
  } catch (err) {
    conn.respondError(frame.id, toErrorShape(err));
    return;
  }
  if (result instanceof Promise) {
    // Answering can throw too (a closed socket, a value that does not serialise): that must end this
    // request, never the process as an unhandled rejection.
    result
      .then(
        (value) => conn.respondOk(frame.id, value),
        (err) => conn.respondError(frame.id, toErrorShape(err)),
      )
      .catch(() => conn.close(CloseCode.internalError, 'internal error'));
  } else {
    conn.respondOk(frame.id, result);
  }
}

function toErrorShape(err: unknown): ReturnType<typeof errorShape> {
  if (err instanceof GatewayProtocolError) return err.toErrorShape();
  return errorShape(ErrorCode.UNAVAILABLE, `internal error: ${(err as Error)?.message ?? String(err)}`, {
    retryable: false,
  });
}
