// Frame envelopes and method parameter schemas (TypeBox), with validators compiled once on first use.
// Shapes follow gateway-protocol.md §2, §3.2, §7, §10, §11. Every object is strict unless noted.
import { Type, type Static } from './typebox.js';
import { compileValidator, type Validator } from './validator.js';

export { compileValidator, type Validator } from './validator.js';

import { APPROVAL_DECISION_VALUES, CLIENT_IDS, CLIENT_MODES } from './constants.js';

const strict = { additionalProperties: false } as const;
/** Bounded strings: no frame field needs more, and the caps keep hostile frames cheap to reject. */
const Id = Type.String({ minLength: 1, maxLength: 512 });
const Name = Type.String({ minLength: 1, maxLength: 256 });
const ShortText = Type.String({ maxLength: 1024 });
const NameList = Type.Array(Type.String({ maxLength: 256 }), { maxItems: 1024 });

// ---------------------------------------------------------------- envelopes

export const ErrorShapeSchema = Type.Object(
  {
    code: Type.String({ maxLength: 256 }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
    retryable: Type.Optional(Type.Boolean()),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  strict,
);

export const RequestFrameSchema = Type.Object(
  { type: Type.Literal('req'), id: Id, method: Name, params: Type.Optional(Type.Unknown()) },
  strict,
);
export type RequestFrame = Static<typeof RequestFrameSchema>;

export const ResponseFrameSchema = Type.Object(
  {
    type: Type.Literal('res'),
    id: Id,
    ok: Type.Boolean(),
    payload: Type.Optional(Type.Unknown()),
    error: Type.Optional(ErrorShapeSchema),
  },
  strict,
);
export type ResponseFrame = Static<typeof ResponseFrameSchema>;

export const StateVersionSchema = Type.Object(
  { presence: Type.Integer({ minimum: 0 }), health: Type.Integer({ minimum: 0 }) },
  strict,
);

export const EventFrameSchema = Type.Object(
  {
    type: Type.Literal('event'),
    event: Name,
    payload: Type.Optional(Type.Unknown()),
    seq: Type.Optional(Type.Integer({ minimum: 0 })),
    stateVersion: Type.Optional(StateVersionSchema),
  },
  strict,
);
export type EventFrame = Static<typeof EventFrameSchema>;

export type Frame = RequestFrame | ResponseFrame | EventFrame;

// ---------------------------------------------------------------- handshake

export const ChallengePayloadSchema = Type.Object(
  { nonce: Id, ts: Type.Integer(), capabilities: Type.Optional(NameList) },
  { additionalProperties: true },
);
export type ChallengePayload = Static<typeof ChallengePayloadSchema>;

export const ClientInfoSchema = Type.Object(
  {
    id: Type.Union(CLIENT_IDS.map((id) => Type.Literal(id))),
    displayName: Type.Optional(ShortText),
    version: ShortText,
    platform: ShortText,
    deviceFamily: Type.Optional(ShortText),
    modelIdentifier: Type.Optional(ShortText),
    instanceId: Type.Optional(ShortText),
    mode: Type.Union(CLIENT_MODES.map((mode) => Type.Literal(mode))),
  },
  strict,
);
export type ClientInfo = Static<typeof ClientInfoSchema>;

export const ConnectDeviceSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 256 }),
    publicKey: Type.String({ minLength: 1, maxLength: 4096 }),
    signature: Type.String({ minLength: 1, maxLength: 1024 }),
    signedAt: Type.Integer({ minimum: 0 }),
    nonce: Type.String({ maxLength: 512 }),
  },
  strict,
);

export const ConnectAuthSchema = Type.Object(
  {
    token: Type.Optional(ShortText),
    bootstrapToken: Type.Optional(ShortText),
    deviceToken: Type.Optional(ShortText),
    password: Type.Optional(ShortText),
  },
  strict,
);
export type ConnectAuth = Static<typeof ConnectAuthSchema>;

/**
 * `connect` params. `role` is a plain string here so that an unknown role can be answered with the
 * spec's own close reason ("invalid role") rather than a generic schema error.
 */
export const ConnectParamsSchema = Type.Object(
  {
    minProtocol: Type.Integer({ minimum: 1 }),
    maxProtocol: Type.Integer({ minimum: 1 }),
    client: ClientInfoSchema,
    role: Type.Optional(Type.String({ maxLength: 64 })),
    scopes: Type.Optional(NameList),
    caps: Type.Optional(NameList),
    commands: Type.Optional(NameList),
    permissions: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.Boolean())),
    pathEnv: Type.Optional(Type.String({ maxLength: 32_768 })),
    locale: Type.Optional(ShortText),
    userAgent: Type.Optional(ShortText),
    device: Type.Optional(ConnectDeviceSchema),
    auth: Type.Optional(ConnectAuthSchema),
  },
  strict,
);
export type ConnectParams = Static<typeof ConnectParamsSchema>;

/** `hello-ok` (the payload of a successful connect response). Extra fields are tolerated when reading. */
export interface HelloOk {
  type: 'hello-ok';
  protocol: number;
  server: { version: string; connId: string; buildId?: string; bootId?: string; controlUiBuildSource?: string };
  features: { methods: string[]; events: string[]; capabilities?: string[] };
  snapshot: Record<string, unknown>;
  canvasHostUrl?: string;
  auth?: { method?: string; role: string; scopes: string[]; deviceToken: string; issuedAtMs: number };
  policy: { maxPayload: number; maxBufferedBytes: number; tickIntervalMs: number; [key: string]: unknown };
}

export const HelloOkSchema = Type.Object(
  {
    type: Type.Literal('hello-ok'),
    protocol: Type.Integer({ minimum: 1 }),
    server: Type.Object({ version: Type.String(), connId: Type.String() }),
    features: Type.Object({ methods: Type.Array(Type.String()), events: Type.Array(Type.String()) }),
    snapshot: Type.Object({}),
    canvasHostUrl: Type.Optional(Type.String()),
    auth: Type.Optional(
      Type.Object({
        method: Type.Optional(Type.String()),
        role: Type.String(),
        scopes: Type.Array(Type.String()),
        // Upstream leaves both out for a client without a device identity (token-only operators).
        deviceToken: Type.Optional(Type.String()),
        issuedAtMs: Type.Optional(Type.Integer()),
      }),
    ),
    policy: Type.Object({
      maxPayload: Type.Integer({ minimum: 1 }),
      maxBufferedBytes: Type.Integer({ minimum: 1 }),
      tickIntervalMs: Type.Integer({ minimum: 1 }),
    }),
  },
  { additionalProperties: true },
);

// ---------------------------------------------------------------- nodes

export const NodeInvokeParamsSchema = Type.Object(
  {
    nodeId: Name,
    command: Name,
    params: Type.Optional(Type.Unknown()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    idempotencyKey: Type.String({ minLength: 1, maxLength: 512 }),
  },
  strict,
);
export type NodeInvokeParams = Static<typeof NodeInvokeParamsSchema>;

/** Event payload `node.invoke.request` (gateway → node). */
export const NodeInvokeRequestPayloadSchema = Type.Object(
  {
    id: Id,
    nodeId: Name,
    command: Name,
    paramsJSON: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    params: Type.Optional(Type.Unknown()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    idempotencyKey: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type NodeInvokeRequestPayload = Static<typeof NodeInvokeRequestPayloadSchema>;

export const NodeErrorSchema = Type.Object(
  { code: Type.Optional(Type.String({ maxLength: 256 })), message: Type.Optional(Type.String()) },
  strict,
);

/** `node.invoke.result` params (node → gateway), after null payloadJSON / error are dropped. */
export const NodeInvokeResultParamsSchema = Type.Object(
  {
    id: Id,
    nodeId: Name,
    ok: Type.Boolean(),
    payload: Type.Optional(Type.Unknown()),
    payloadJSON: Type.Optional(Type.String()),
    error: Type.Optional(NodeErrorSchema),
  },
  strict,
);
export type NodeInvokeResultParams = Static<typeof NodeInvokeResultParamsSchema>;

export const NodeEventParamsSchema = Type.Object(
  { event: Name, payload: Type.Optional(Type.Unknown()), payloadJSON: Type.Optional(Type.String()) },
  strict,
);
export type NodeEventParams = Static<typeof NodeEventParamsSchema>;

export const EmptyParamsSchema = Type.Object({}, strict);
export const NodeIdParamsSchema = Type.Object({ nodeId: Name }, strict);
export const RequestIdParamsSchema = Type.Object({ requestId: Name }, strict);
export const NodeRenameParamsSchema = Type.Object(
  { nodeId: Name, displayName: Type.String({ minLength: 1, maxLength: 256 }) },
  strict,
);

export const RunnerInventoryParamsSchema = Type.Object(
  { protocolFeatures: Type.Optional(NameList), workerHost: Type.Optional(Type.Unknown()) },
  { additionalProperties: true },
);
export const SkillsUpdateParamsSchema = Type.Object(
  { skills: Type.Array(Type.Unknown(), { maxItems: 4096 }) },
  { additionalProperties: true },
);
export const PluginToolsUpdateParamsSchema = Type.Object(
  { tools: Type.Array(Type.Unknown(), { maxItems: 4096 }) },
  { additionalProperties: true },
);

// ---------------------------------------------------------------- exec approvals

export const ApprovalDecisionSchema = Type.Union(APPROVAL_DECISION_VALUES.map((d) => Type.Literal(d)));

/** The plan `system.run.prepare` returns; extra v4 fields (policySnapshot, mutableFileOperand …) ride along. */
export const SystemRunPlanSchema = Type.Object(
  {
    argv: Type.Array(Type.String(), { minItems: 1, maxItems: 4096 }),
    cwd: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    commandText: Type.Optional(Type.String()),
    commandPreview: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    agentId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    sessionKey: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: true },
);
export type SystemRunPlan = Static<typeof SystemRunPlanSchema>;

const NullableString = Type.Union([Type.String({ maxLength: 32_768 }), Type.Null()]);

export const ExecApprovalRequestParamsSchema = Type.Object(
  {
    id: Type.Optional(Name),
    host: Type.Optional(Type.String({ maxLength: 64 })),
    nodeId: Type.Optional(NullableString),
    systemRunPlan: Type.Optional(SystemRunPlanSchema),
    command: Type.Optional(NullableString),
    commandArgv: Type.Optional(Type.Array(Type.String(), { maxItems: 4096 })),
    cwd: Type.Optional(NullableString),
    agentId: Type.Optional(NullableString),
    sessionKey: Type.Optional(NullableString),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    security: Type.Optional(NullableString),
    ask: Type.Optional(NullableString),
    resolvedPath: Type.Optional(NullableString),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    twoPhase: Type.Optional(Type.Boolean()),
    requireDeliveryRoute: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type ExecApprovalRequestParams = Static<typeof ExecApprovalRequestParamsSchema>;

export const ExecApprovalResolveParamsSchema = Type.Object({ id: Name, decision: ApprovalDecisionSchema }, strict);
export const ExecApprovalIdParamsSchema = Type.Object({ id: Name }, strict);
export const ExecApprovalWaitParamsSchema = Type.Object(
  { id: Name, timeoutMs: Type.Optional(Type.Integer({ minimum: 0 })) },
  strict,
);

// ---------------------------------------------------------------- validators

export const validateRequestFrame = compileValidator(RequestFrameSchema);
export const validateResponseFrame = compileValidator(ResponseFrameSchema);
export const validateEventFrame = compileValidator(EventFrameSchema);
export const validateConnectParams = compileValidator(ConnectParamsSchema);
export const validateChallengePayload = compileValidator(ChallengePayloadSchema);
/** The schema checks every field HelloOk declares (extra keys pass, as upstream adds them). */
export const validateHelloOk: Validator<HelloOk> = compileValidator(HelloOkSchema) as Validator<HelloOk>;
export const validateNodeInvokeParams = compileValidator(NodeInvokeParamsSchema);
export const validateNodeInvokeRequestPayload = compileValidator(NodeInvokeRequestPayloadSchema);
export const validateNodeInvokeResultParams = compileValidator(NodeInvokeResultParamsSchema);
export const validateNodeEventParams = compileValidator(NodeEventParamsSchema);
export const validateExecApprovalRequestParams = compileValidator(ExecApprovalRequestParamsSchema);
export const validateExecApprovalResolveParams = compileValidator(ExecApprovalResolveParamsSchema);
