// The `connect` request: protocol, role, auth, device signature, pairing — in that order (spec §3–§6).
// Every failure answers with the spec's error and closes; success sends hello-ok and readies the connection.
import {
  CloseCode,
  DEFAULT_VOICEWAKE_TRIGGERS,
  MIN_SUPPORTED_PROTOCOL,
  PROTOCOL_VERSION,
  ROLES,
  type Role,
} from '../protocol/constants.js';
import { timingSafeEqualString } from '../common/constant-time.js';
import { selectSignedToken, verifyConnectDevice } from '../protocol/device-auth.js';
import { DetailCode, ErrorCode, errorShape, type ErrorShape } from '../protocol/errors.js';
import { validateConnectParams, type ConnectParams, type RequestFrame } from '../protocol/frames.js';
import { detectPlatform } from './command-policy.js';
import type { GatewayConnection } from './connection.js';
import type { GatewayCore } from './core.js';
import { GATEWAY_EVENTS, GATEWAY_METHODS } from './methods.js';
import { reconcileNodePairing } from './node-pairing.js';

/** Client ids of browser pages (upstream's Control UI and WebChat), the ones `localControlPage` applies to. */
const CONTROL_UI_CLIENT_IDS: readonly string[] = ['openclaw-control-ui', 'webchat-ui', 'webchat'];

class HandshakeFailure extends Error {
  constructor(
    readonly error: ErrorShape | undefined,
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super(closeReason);
  }
}

function fail(code: string, message: string, details?: unknown, closeCode: number = CloseCode.policyViolation): never {
  throw new HandshakeFailure(errorShape(code, message, { details }), closeCode, message);
}

/** Handles the first frame of a connection, which must be a valid `connect` request. */
export function handleHandshakeFrame(core: GatewayCore, conn: GatewayConnection, frame: RequestFrame): boolean {
  try {
    if (frame.method !== 'connect') fail(ErrorCode.INVALID_REQUEST, 'invalid handshake: first request must be connect');
    if (!validateConnectParams.check(frame.params)) {
      fail(ErrorCode.INVALID_REQUEST, `invalid connect params: ${validateConnectParams.describe(frame.params)}`);
    }
    const hello = connect(core, conn, frame.params);
    conn.markReady();
    conn.respondOk(frame.id, hello);
    afterHello(core, conn);
    return true;
  } catch (err) {
    if (err instanceof HandshakeFailure) {
      if (err.error) conn.respondError(frame.id, err.error);
      conn.close(err.closeCode, err.closeReason);
      return false;
    }
    // A local failure (e.g. the pairing store cannot be written): fail this connect, keep the daemon.
    conn.respondError(
      frame.id,
      errorShape(ErrorCode.UNAVAILABLE, `gateway error during connect: ${(err as Error)?.message ?? String(err)}`, {
        retryable: true,
        retryAfterMs: 1000,
      }),
    );
    conn.close(CloseCode.internalError, 'internal error');
    return false;
  }
}

function negotiateProtocol(params: ConnectParams): number {
  if (params.minProtocol <= PROTOCOL_VERSION && params.maxProtocol >= PROTOCOL_VERSION) return PROTOCOL_VERSION;
  if (params.minProtocol <= MIN_SUPPORTED_PROTOCOL && params.maxProtocol >= MIN_SUPPORTED_PROTOCOL)
    return MIN_SUPPORTED_PROTOCOL;
  fail(
    ErrorCode.INVALID_REQUEST,
    'protocol mismatch',
    { expectedProtocol: PROTOCOL_VERSION },
    CloseCode.protocolMismatch,
  );
}

function authFailure(
  code: string,
  authReason: string,
  canRetryWithDeviceToken: boolean,
  next: string,
  message: string,
): never {
  fail(ErrorCode.INVALID_REQUEST, message, { code, authReason, canRetryWithDeviceToken, recommendedNextStep: next });
}

function connect(core: GatewayCore, conn: GatewayConnection, params: ConnectParams): Record<string, unknown> {
  const protocol = negotiateProtocol(params);
  const role = (params.role ?? 'operator') as Role;
  if (!(ROLES as readonly string[]).includes(role))
    throw new HandshakeFailure(undefined, CloseCode.policyViolation, 'invalid role');
  let scopes = role === 'node' ? [] : [...new Set(params.scopes ?? [])];

  const authMethod = authenticate(core, conn, params, role);

  scopes = identifyDevice(core, conn, params, role, authMethod, scopes);
  const deviceAuth = pairDevice(core, conn, params, role, scopes, authMethod);

  conn.protocol = protocol;
  conn.authMethod = authMethod;
  if (authMethod === 'token' || authMethod === 'password') conn.sharedAuthGeneration = core.authGeneration;
  conn.role = role;
  conn.scopes = scopes;
  conn.connect = params;
  if (role === 'node' && conn.deviceId) registerNode(core, conn, params);

  return helloOk(core, conn, protocol, deviceAuth);
}

/**
 * Device identity: a signed device proves its key over the nonce; without one, only the local backend
 * (and a local CLI with the shared secret) may connect, and scopes are dropped for anyone else.
 * Returns the scopes that survive.
 */
function identifyDevice(
  core: GatewayCore,
  conn: GatewayConnection,
  params: ConnectParams,
  role: Role,
  authMethod: AuthMethod,
  scopes: string[],
): string[] {
  const device = params.device;
  if (!device) {
    const localBackend = conn.isLocal && params.client.id === 'gateway-client';
    // Without a shared secret (mode none) only the direct-loopback backend client may go device-less.
    if (role === 'node' || (authMethod === 'none' && !localBackend)) {
      fail(ErrorCode.NOT_PAIRED, 'device identity required', { code: DetailCode.DEVICE_IDENTITY_REQUIRED });
    }
    // Without a device identity, scopes survive only for the direct-loopback backend client and for the
    // direct-loopback `cli`/`cli` client that proved the shared token or password (upstream's
    // shouldPreserveLocalCliSharedAuthScopes: this is how the real `openclaw` CLI talks to a local Gateway).
    const localCli =
      conn.isLocal &&
      params.client.id === 'cli' &&
      params.client.mode === 'cli' &&
      (authMethod === 'token' || authMethod === 'password');
    if (!localBackend && !localCli) return [];
  } else {
    const verdict = verifyConnectDevice({
      device,
      expectedNonce: conn.nonce,
      clientId: params.client.id,
      clientMode: params.client.mode,
      role,
      scopes: params.scopes ?? [],
      token: selectSignedToken(params.auth),
      platform: params.client.platform,
      deviceFamily: params.client.deviceFamily,
      nowMs: core.now(),
    });
    if (!verdict.ok) fail(ErrorCode.INVALID_REQUEST, verdict.message, { code: verdict.code, reason: verdict.reason });
    conn.deviceId = verdict.deviceId;
  }

  return scopes;
}

/**
 * Device pairing: a known device with these scopes gets its token; otherwise it is approved on the spot
 * (local) or a pairing request goes to operators and the connect fails NOT_PAIRED.
 */
function pairDevice(
  core: GatewayCore,
  conn: GatewayConnection,
  params: ConnectParams,
  role: Role,
  scopes: string[],
  authMethod: AuthMethod,
): Record<string, unknown> | undefined {
  const device = params.device;
  if (!device || !conn.deviceId) return undefined;
  const meta = { platform: params.client.platform, deviceFamily: params.client.deviceFamily };
  const reason = core.pairing.pairingReason(conn.deviceId, role, scopes, meta);
  if (reason) {
    const localBackend = conn.isLocal && params.client.id === 'gateway-client';
    // A scope upgrade is silent only for the local backend that proved the shared secret (or runs without
    // one, mode none): a device token alone must not widen its own scopes (upstream
    // shouldAllowSilentLocalPairing; issue 7 item 10).
    const sharedProof = authMethod === 'token' || authMethod === 'password' || authMethod === 'none';
    // Upstream's one exception to "no browser Origin": the Control UI served by this Gateway, opened on
    // this machine's loopback (spec §6.1). Scope upgrades still need an operator.
    const localPage = conn.localControlPage && CONTROL_UI_CLIENT_IDS.includes(params.client.id);
    const autoApprove = (conn.isLocal || localPage) && (reason !== 'scope-upgrade' || (localBackend && sharedProof));
    const pairInput = {
      deviceId: conn.deviceId,
      publicKey: device.publicKey,
      displayName: params.client.displayName,
      platform: params.client.platform,
      deviceFamily: params.client.deviceFamily,
      clientId: params.client.id,
      clientMode: params.client.mode,
      role,
      scopes,
    };
    if (autoApprove) {
      core.pairing.approveDevice(pairInput);
    } else {
      const request = core.pairing.addDeviceRequest({
        ...pairInput,
        remoteIp: conn.remoteAddress,
        reason,
        isRepair: reason !== 'not-paired',
      });
      core.broadcast(
        'device.pair.requested',
        { ...request, roles: [role], silent: false },
        core.operatorsWith('device.pair.approve'),
      );
      fail(ErrorCode.NOT_PAIRED, 'pairing required', {
        code: DetailCode.PAIRING_REQUIRED,
        requestId: request.requestId,
        reason,
      });
    }
  }
  const record = core.pairing.deviceToken(conn.deviceId, role, scopes);
  return { method: authMethod, role, scopes, deviceToken: record.token, issuedAtMs: record.issuedAtMs };
}

/** A node's connection joins the registry under its device id. */
function registerNode(core: GatewayCore, conn: GatewayConnection, params: ConnectParams): void {
  core.registry.register({
    nodeId: conn.deviceId!,
    conn,
    clientId: params.client.id,
    clientMode: params.client.mode,
    displayName: params.client.displayName,
    version: params.client.version,
    platform: params.client.platform,
    deviceFamily: params.client.deviceFamily,
    modelIdentifier: params.client.modelIdentifier,
    instanceId: params.client.instanceId,
    normalizedPlatform: detectPlatform(params.client.platform, params.client.deviceFamily),
    caps: [...new Set(params.caps ?? [])].sort(),
    commands: [...new Set(params.commands ?? [])].sort(),
    pathEnv: params.pathEnv,
    permissions: params.permissions,
    remoteIp: conn.remoteAddress,
    connectedAtMs: core.now(),
  });
  core.bumpPresence();
}

/** The hello-ok payload (upstream's shape); `auth` only when a device token was issued. */
function helloOk(
  core: GatewayCore,
  conn: GatewayConnection,
  protocol: number,
  deviceAuth: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const hello: Record<string, unknown> = {
    type: 'hello-ok',
    protocol,
    server: { version: core.options.version, connId: conn.connId, bootId: core.bootId },
    features: { methods: GATEWAY_METHODS, events: GATEWAY_EVENTS, capabilities: [] },
    snapshot: {
      suspension: { phase: 'accepting' },
      presence: [],
      health: core.health(),
      stateVersion: core.stateVersion(),
      uptimeMs: core.now() - core.startedAtMs,
      sessionDefaults: {
        defaultAgentId: 'main',
        mainKey: 'main',
        mainSessionKey: 'agent:main:main',
        scope: 'per-sender',
      },
    },
    policy: {
      maxPayload: core.options.maxPayload,
      maxBufferedBytes: core.options.maxBufferedBytes,
      tickIntervalMs: core.options.tickIntervalMs,
    },
  };
  if (deviceAuth) hello.auth = deviceAuth;
  return hello;
}

type AuthMethod = 'none' | 'token' | 'password' | 'device-token';

/** The hint upstream appends to a password failure: CLI clients configure gateway.remote.password. */
function passwordHint(params: ConnectParams): string {
  return params.client.mode === 'cli'
    ? 'set gateway.remote.password to match gateway.auth.password'
    : 'provide gateway auth password';
}

/** What one connect's credential checks need: who is connecting, with what, for which role. */
interface AuthAttempt {
  readonly core: GatewayCore;
  readonly conn: GatewayConnection;
  readonly params: ConnectParams;
  readonly role: Role;
  /** The claimed device already holds a token for this role (upstream's canRetryWithDeviceToken). */
  readonly pairedForRole: boolean;
}

/**
 * Checks the connect's credentials against the gateway's mode (spec §5; upstream auth.ts and
 * auth-context.ts). The mode's shared secret wins: when it is sent it must match, and a device token is
 * not tried instead. Without it, an explicit device token (in password mode also `auth.token`, which
 * upstream treats as a device-token candidate there) is checked against the claimed device, whose
 * signature is verified afterwards. Mode none admits without a secret.
 */
function authenticate(core: GatewayCore, conn: GatewayConnection, params: ConnectParams, role: Role): AuthMethod {
  if (core.auth.mode === 'none') return 'none';
  const device = params.device;
  const pairedForRole = device ? core.pairing.getDevice(device.id)?.tokens[role] !== undefined : false;
  const attempt: AuthAttempt = { core, conn, params, role, pairedForRole };
  return core.auth.mode === 'token' ? authenticateTokenMode(attempt) : authenticatePasswordMode(attempt);
}

function deviceTokenMatches(a: AuthAttempt, candidate: string): boolean {
  const device = a.params.device;
  return device !== undefined && a.core.pairing.verifyDeviceToken(device.id, a.role, candidate);
}

/** An explicit `auth.deviceToken`: it must match the claimed device's token for the role. */
function requireDeviceToken(a: AuthAttempt, deviceToken: string): 'device-token' {
  if (!deviceTokenMatches(a, deviceToken))
    authFailure(
      DetailCode.AUTH_DEVICE_TOKEN_MISMATCH,
      'device_token_mismatch',
      false,
      'update_auth_credentials',
      'unauthorized: device token mismatch',
    );
  return 'device-token';
}

/**
 * A sent shared secret is compared only while its IP is not locked out; a wrong one counts, a right one clears.
 * Browsers count in their own limiter, which never exempts loopback (upstream's browserAuthRateLimiter): a
 * page cannot guess without limit, nor lock the local CLI out.
 */
function sharedSecretMatches(a: AuthAttempt, sent: string, expected: string | undefined): boolean {
  const { conn } = a;
  const limiter = conn.browser ? a.core.browserAuthLimiter : a.core.authLimiter;
  if (limiter.retryAfterMs(conn.remoteAddress) > 0) {
    authFailure(
      DetailCode.AUTH_RATE_LIMITED,
      'rate_limited',
      false,
      'wait_then_retry',
      'unauthorized: too many failed authentication attempts (retry later)',
    );
  }
  // Both sides are hashed to equal-length digests before the constant-time compare.
  const ok = expected !== undefined && timingSafeEqualString(sent, expected);
  if (ok) limiter.reset(conn.remoteAddress);
  else limiter.recordFailure(conn.remoteAddress);
  return ok;
}

function authenticateTokenMode(a: AuthAttempt): AuthMethod {
  const auth = a.params.auth;
  if (auth?.token) {
    if (!sharedSecretMatches(a, auth.token, a.core.auth.token)) {
      authFailure(
        DetailCode.AUTH_TOKEN_MISMATCH,
        'token_mismatch',
        a.pairedForRole,
        a.pairedForRole ? 'retry_with_device_token' : 'update_auth_credentials',
        'unauthorized: gateway token mismatch',
      );
    }
    return 'token';
  }
  if (auth?.deviceToken) return requireDeviceToken(a, auth.deviceToken);
  authFailure(
    DetailCode.AUTH_TOKEN_MISSING,
    'token_missing',
    a.pairedForRole,
    'update_auth_configuration',
    'unauthorized: gateway token missing',
  );
}

function authenticatePasswordMode(a: AuthAttempt): AuthMethod {
  const auth = a.params.auth;
  // Clients trim what they send and upstream trims what it receives; so do we.
  const sent = auth?.password?.trim();
  if (sent) {
    if (!sharedSecretMatches(a, sent, a.core.auth.password)) {
      authFailure(
        DetailCode.AUTH_PASSWORD_MISMATCH,
        'password_mismatch',
        false,
        'update_auth_credentials',
        `unauthorized: gateway password mismatch (${passwordHint(a.params)})`,
      );
    }
    return 'password';
  }
  if (auth?.deviceToken) return requireDeviceToken(a, auth.deviceToken);
  if (auth?.token && deviceTokenMatches(a, auth.token)) return 'device-token';
  authFailure(
    DetailCode.AUTH_PASSWORD_MISSING,
    'password_missing',
    false,
    'update_auth_configuration',
    `unauthorized: gateway password missing (${passwordHint(a.params)})`,
  );
}

/**
 * Work after hello-ok went out. A node gets what 2026.9.6 sends it (spec §12): the voice-wake
 * configuration (targeted, no seq), then a `health` broadcast; then the node pairing reconciliation
 * (may emit node.pair.requested, or node.pair.resolved when auto-approved).
 */
function afterHello(core: GatewayCore, conn: GatewayConnection): void {
  if (conn.role === 'node' && conn.deviceId) {
    const session = core.registry.get(conn.deviceId);
    if (session) {
      conn.sendEvent('voicewake.changed', { triggers: [...DEFAULT_VOICEWAKE_TRIGGERS] });
      conn.sendEvent('voicewake.routing.changed', {
        config: { version: 1, defaultTarget: { mode: 'current' }, routes: [], updatedAtMs: 0 },
      });
      core.broadcastHealth();
      reconcileNodePairing(core, session);
      core.events.emit('node.connected', session.nodeId);
    }
  }
}
