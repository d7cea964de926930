// Host-side request routing (pb-1.7 PeekabooBridgeServer semantics): handshake checks and negotiation,
// the advertised-operation and permission gates, and mapping of handler failures to error envelopes.
import { BridgeError, type BridgeErrorEnvelope } from './errors.js';
import type { DecodedRequest, JsonValue } from './envelope.js';
import {
  compareVersions,
  formatVersion,
  operationAllowedAt,
  requiredPermissions,
  type BridgeHandshakeResponse,
  type BridgePermission,
  type BridgePermissions,
  type BridgeProtocolVersion,
} from './protocol.js';
import type { BridgeReply, BridgeServices } from './services.js';
import { bridgeClientInfo, bridgeHandshakeRequest, bridgeVersion, jsonObject } from './wire-schemas.js';

export interface DispatchContext {
  services: BridgeServices;
  minVersion: BridgeProtocolVersion;
  maxVersion: BridgeProtocolVersion;
  hostKind: string;
  build: string;
  hostUid: number;
  /** Handshake bundle allowlist (empty = any); checked against the verified identifier, else the claimed one. */
  allowedBundleIds: readonly string[];
  /** Handshake team allowlist (empty = any); checked against the verified TeamID, else the claimed one. */
  handshakeTeamIds: readonly string[];
  /** A short platform note for operationNotSupported details. */
  platform: string;
}

export interface DispatchPeer {
  uid?: number;
  teamId?: string;
  identifier?: string;
}

function decodeFailure(details: string): BridgeError {
  return new BridgeError({ code: 'decodingFailed', message: 'Failed to decode request', details });
}

/** The first thing wrong with a handshake payload, in the order a reader fixes them (pb-1.7 messages). */
function handshakeProblem(payload: JsonValue | undefined): string {
  if (!jsonObject.check(payload)) return 'handshake payload must be an object';
  const fields = payload as { protocolVersion?: unknown; client?: unknown };
  if (!bridgeVersion.check(fields.protocolVersion)) return 'protocolVersion must be {major, minor} integers';
  const problem = bridgeClientInfo.firstError(fields.client);
  const key = problem?.path.split('/')[1];
  if (key === undefined || key === 'processIdentifier') return 'client.processIdentifier (int32) is required';
  return `client.${key} must be a string`;
}

async function handshake(
  ctx: DispatchContext,
  payload: JsonValue | undefined,
  peer: DispatchPeer,
): Promise<BridgeReply> {
  if (!bridgeHandshakeRequest.check(payload)) throw decodeFailure(handshakeProblem(payload));
  const { protocolVersion: pv, client } = payload;
  const requested: BridgeProtocolVersion = { major: pv.major, minor: pv.minor };
  const claimedBundle = client.bundleIdentifier ?? undefined;
  const claimedTeam = client.teamIdentifier ?? undefined;

  if (compareVersions(requested, ctx.minVersion) < 0 || compareVersions(requested, ctx.maxVersion) > 0) {
    throw new BridgeError({
      code: 'versionMismatch',
      message:
        `Bridge protocol ${formatVersion(requested)} is not supported by this host ` +
        `(supports ${formatVersion(ctx.minVersion)}…${formatVersion(ctx.maxVersion)})`,
    });
  }
  const bundle = peer.identifier ?? claimedBundle;
  if (bundle !== undefined && ctx.allowedBundleIds.length > 0 && !ctx.allowedBundleIds.includes(bundle)) {
    throw new BridgeError({ code: 'unauthorizedClient', message: `Bundle ${bundle} is not authorized` });
  }
  const team = peer.teamId ?? claimedTeam;
  if (team !== undefined && ctx.handshakeTeamIds.length > 0 && !ctx.handshakeTeamIds.includes(team)) {
    throw new BridgeError({ code: 'unauthorizedClient', message: `Team ${team} is not authorized` });
  }
  if (peer.uid !== undefined && peer.uid !== ctx.hostUid) {
    throw new BridgeError({
      code: 'unauthorizedClient',
      message: `UID ${peer.uid} is not authorized for this listener`,
    });
  }
  // Inside the range already, so clamping is the requested version itself.
  const negotiated = requested;
  const permissions = await ctx.services.permissions();
  const advertised = ctx.services.operations.filter((op) => operationAllowedAt(op, negotiated)).sort();
  const enabled = advertised.filter((op) => missingPermission(op, permissions) === undefined);
  const permissionTags: Record<string, string[]> = {};
  for (const op of advertised) permissionTags[op] = requiredPermissions(op).sort();
  const response: BridgeHandshakeResponse = {
    negotiatedVersion: negotiated,
    hostKind: ctx.hostKind,
    build: ctx.build,
    supportedOperations: advertised,
    permissions,
    enabledOperations: enabled,
    permissionTags,
  };
  return { case: 'handshake', value: response };
}

/** The alphabetically first permission `op` needs that is not granted. */
export function missingPermission(op: string, permissions: BridgePermissions): BridgePermission | undefined {
  return requiredPermissions(op)
    .filter((p) => !permissions[p])
    .sort()[0];
}

/** Runs one decoded request. Never rejects: every failure becomes an error envelope reply. */
export async function dispatchRequest(
  ctx: DispatchContext,
  request: DecodedRequest,
  peer: DispatchPeer,
): Promise<BridgeReply> {
  try {
    // The handshake counts as permissionsStatus for routing, which every host serves.
    if (request.op === 'handshake') return await handshake(ctx, request.payload, peer);
    if (!ctx.services.operations.includes(request.op)) {
      throw new BridgeError({
        code: 'operationNotSupported',
        message: `Operation ${request.op} is not supported by this host`,
        details:
          requiredPermissions(request.op).length > 0
            ? `${request.op} needs macOS UI automation with ${requiredPermissions(request.op).join(', ')}; this host runs on ${ctx.platform}`
            : `${request.op} is not implemented by this host (${ctx.platform})`,
      });
    }
    const missing = missingPermission(request.op, await ctx.services.permissions());
    if (missing !== undefined) {
      throw new BridgeError({
        code: 'permissionDenied',
        message: `${request.op} requires the ${missing} permission`,
        permission: missing,
      });
    }
    return await ctx.services.handle(request.op, request.payload);
  } catch (err) {
    return { case: 'error', value: errorEnvelopeOf(err) };
  }
}

export function errorEnvelopeOf(err: unknown): BridgeErrorEnvelope {
  if (err instanceof BridgeError) return err.toEnvelope();
  return { code: 'internalError', message: 'Bridge operation failed' };
}
