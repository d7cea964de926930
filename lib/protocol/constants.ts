// Wire constants of the OpenClaw Gateway protocol (spec: gateway-protocol.md). Pure values, no I/O.

/** The protocol version we speak (openclaw 2026.9.6). */
export const PROTOCOL_VERSION = 4;
/** The oldest protocol our gateway still answers (older peers negotiate down to it). */
export const MIN_SUPPORTED_PROTOCOL = 3;

export const DEFAULT_GATEWAY_PORT = 18789;
export const DEFAULT_GATEWAY_HOST = '127.0.0.1';

/** Longest timeout any request or command accepts (a run, a wait): a day. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** `ws://host:port/` for a Gateway address; an IPv6 literal is bracketed. */
export function gatewayWsUrl(
  host: string = DEFAULT_GATEWAY_HOST,
  port: number = DEFAULT_GATEWAY_PORT,
  tls = false,
): string {
  const literal = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${tls ? 'wss' : 'ws'}://${literal}:${port}/`;
}

/** Unauthenticated frames above this size close the socket with 1009 (spec §3.4). */
export const PREAUTH_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Advertised post-auth `policy.maxPayload`. */
export const MAX_PAYLOAD_BYTES = 26_214_400;
/** Advertised `policy.maxBufferedBytes`; a client whose send buffer exceeds it is closed ("slow consumer"). */
export const MAX_BUFFERED_BYTES = 52_428_800;
export const TICK_INTERVAL_MS = 30_000;
/** Server closes a socket without a successful connect after this long (close 1000). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Allowed |now − device.signedAt|. */
export const DEVICE_SIGNATURE_SKEW_MS = 120_000;
export const DEFAULT_INVOKE_TIMEOUT_MS = 30_000;
/** Gateway-held exec approvals expire after 30 min. */
export const EXEC_APPROVAL_TTL_MS = 30 * 60_000;
/** Pending device / node pairing requests live 5 min. */
export const PAIRING_REQUEST_TTL_MS = 5 * 60_000;
/** Voice-wake triggers 2026.9.6 announces to a node after connect (`voicewake.changed`), its defaults. */
export const DEFAULT_VOICEWAKE_TRIGGERS: readonly string[] = ['openclaw', 'claude', 'computer'];
/** Ten consecutive `unauthorized role:` errors close the socket. */
export const UNAUTHORIZED_FLOOD_LIMIT = 10;
/**
 * Deepest JSON nesting the Gateway accepts in a frame, and in a payloadJSON/paramsJSON string (each counted
 * from its own root). Far above any real frame (an approvals file in exec.approvals.node.set is ~7), far
 * below the depth where re-serialising a value overflows the stack (~10 000).
 */
export const MAX_FRAME_JSON_DEPTH = 64;
/** What clients accept from a Gateway: a response wraps a node payload that may itself be that deep. */
export const MAX_CLIENT_FRAME_JSON_DEPTH = 2 * MAX_FRAME_JSON_DEPTH;
/** Reasons in close frames are cut to this many bytes. */
export const CLOSE_REASON_MAX_BYTES = 120;

/** WebSocket close codes the gateway and clients use (spec §9). */
export const CloseCode = {
  normal: 1000,
  protocolMismatch: 1002,
  policyViolation: 1008,
  tooLarge: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  /** An unauthenticated socket displaced by a newer one from the same address (pre-auth budget). */
  tryAgainLater: 1013,
  tickTimeout: 4000,
  authChanged: 4001,
} as const;

/** Closed enum of `connect.client.id` values (OpenClaw's client ids). */
export const CLIENT_IDS = [
  'webchat-ui',
  'openclaw-control-ui',
  'openclaw-tui',
  'webchat',
  'cli',
  'gateway-client',
  'openclaw-macos',
  'openclaw-ios',
  'openclaw-android',
  'node-host',
  'test',
  'fingerprint',
  'openclaw-probe',
] as const;
export type ClientId = (typeof CLIENT_IDS)[number];

export const CLIENT_MODES = ['webchat', 'cli', 'ui', 'backend', 'node', 'probe', 'test'] as const;
export type ClientMode = (typeof CLIENT_MODES)[number];

export const ROLES = ['operator', 'node'] as const;
export type Role = (typeof ROLES)[number];

export const OPERATOR_SCOPES = [
  'operator.admin',
  'operator.read',
  'operator.write',
  'operator.approvals',
  'operator.pairing',
  'operator.talk.secrets',
] as const;
export type OperatorScope = (typeof OPERATOR_SCOPES)[number];

/** Methods a `role:"node"` connection may call (OpenClaw's list, including the three added by 2026.9.6). */
export const NODE_ROLE_METHODS = [
  'node.invoke.result',
  'node.event',
  'node.pending.drain',
  'node.pending.pull',
  'node.pending.ack',
  'node.canvas.capability.refresh',
  'skills.bins',
  'node.runnerInventory.update',
  'node.skills.update',
  'node.pluginTools.update',
] as const;

/** Commands the headless node host serves (OpenClaw's core set). */
export const NODE_HOST_CORE_COMMANDS = [
  'system.run.prepare',
  'system.run',
  'system.which',
  'system.execApprovals.get',
  'system.execApprovals.set',
] as const;

/** `connect.challenge.capabilities` as 2026.9.6 sends it. */
export const CHALLENGE_CAPABILITIES = ['model-catalog-snapshot'] as const;

export const APPROVAL_DECISION_VALUES = ['allow-once', 'allow-always', 'deny'] as const;
