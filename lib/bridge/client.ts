// PeekabooBridge client: handshake with version downgrade, host discovery in the spec's order, one
// operation per connection, and the "local" fallback (this package's in-process services).
import os from 'node:os';
import path from 'node:path';

import { dispatchRequest } from './dispatch.js';
import {
  decodeResponse,
  encodeCase,
  encodeRequest,
  parseSafeJson,
  type DecodedResponse,
  type JsonValue,
} from './envelope.js';
import { BridgeError, BridgeTransportError } from './errors.js';
import { bridgeCandidates, BRIDGE_SOCKET_ENV, NO_REMOTE_ENV, realSocketPath, type BridgePathOptions } from './paths.js';
import {
  BRIDGE_MAX_VERSION,
  BRIDGE_MIN_VERSION,
  compareVersions,
  formatVersion,
  isKnownOperation,
  operationAllowedAt,
  operationHasNoPayload,
  type BridgeClientInfo,
  type BridgeHandshakeResponse,
  type BridgePermissions,
  type BridgeProtocolVersion,
} from './protocol.js';
import { createLocalServices, type BridgeServices } from './services.js';
import { snapshotsFromResponse, type BridgeSnapshotInfo } from './snapshot-info.js';
import { exchangeBridgeMessage, type ExchangeOptions } from './transport.js';
import { bridgeHandshakeResponse, type BridgeHandshakeResponseWire } from './wire-schemas.js';

export interface BridgeClientOptions extends ExchangeOptions, BridgePathOptions {
  /** Highest version to request; downgrades from here to 1.0 on versionMismatch. Default 1.7. */
  protocolVersion?: BridgeProtocolVersion;
  /** Extra client fields for the handshake; processIdentifier defaults to our pid. */
  client?: Partial<BridgeClientInfo>;
}

export interface BridgeConnection {
  readonly socketPath: string;
  readonly handshake: BridgeHandshakeResponse;
  readonly negotiatedVersion: BridgeProtocolVersion;
  supports(op: string): boolean;
  /** Sends one operation on a new connection. An error envelope throws BridgeError. */
  request(op: string, payload?: unknown, opts?: { timeoutMs?: number }): Promise<DecodedResponse>;
  /** `listSnapshots`: the host's live snapshots, newest first (the host's order is kept). */
  listSnapshots(opts?: { timeoutMs?: number }): Promise<BridgeSnapshotInfo[]>;
}

function badHandshake(details: string): BridgeError {
  return new BridgeError({ code: 'decodingFailed', message: 'Failed to decode handshake response', details });
}

/** Validates a handshake reply; unknown fields and unknown operations from newer hosts are ignored. */
export function parseHandshakeResponse(value: unknown): BridgeHandshakeResponse {
  const problem = bridgeHandshakeResponse.firstError(value);
  if (problem) {
    if (problem.path === '') throw badHandshake('not an object');
    if (problem.path.startsWith('/negotiatedVersion')) throw badHandshake('negotiatedVersion missing');
    throw badHandshake(`${problem.path}: ${problem.message}`);
  }
  const v = value as BridgeHandshakeResponseWire;
  const perms = v.permissions ?? {};
  const permissions: BridgePermissions = {
    screenRecording: perms.screenRecording === true,
    accessibility: perms.accessibility === true,
    appleScript: perms.appleScript === true,
    postEvent: perms.postEvent === true,
  };
  return {
    negotiatedVersion: { major: v.negotiatedVersion.major, minor: v.negotiatedVersion.minor },
    hostKind: v.hostKind ?? 'unknown',
    build: v.build ?? 'unknown',
    supportedOperations: [...(v.supportedOperations ?? [])],
    permissions,
    enabledOperations: [...(v.enabledOperations ?? [])],
    permissionTags: { ...v.permissionTags },
  };
}

function clientInfo(opts: BridgeClientOptions): BridgeClientInfo {
  const info: BridgeClientInfo = { processIdentifier: opts.client?.processIdentifier ?? process.pid };
  if (opts.client?.bundleIdentifier !== undefined) info.bundleIdentifier = opts.client.bundleIdentifier;
  if (opts.client?.teamIdentifier !== undefined) info.teamIdentifier = opts.client.teamIdentifier;
  info.hostname = opts.client?.hostname ?? os.hostname();
  return info;
}

async function roundTrip(socketPath: string, body: Buffer, opts: ExchangeOptions): Promise<DecodedResponse> {
  const reply = await exchangeBridgeMessage(socketPath, body, opts);
  try {
    return decodeResponse(reply);
  } catch (err) {
    if (err instanceof BridgeError) err.socketPath = socketPath;
    throw err;
  }
}

/**
 * Handshakes with the host at `socketPath`, starting at `protocolVersion` (1.7) and retrying with
 * minor − 1 … 1.0, each on a new connection, while the host answers versionMismatch.
 */
export async function handshakeBridge(
  socketPath: string,
  opts: BridgeClientOptions = {},
): Promise<BridgeHandshakeResponse> {
  const top = opts.protocolVersion ?? BRIDGE_MAX_VERSION;
  const client = clientInfo(opts);
  for (let minor = top.minor; ; minor -= 1) {
    const requested = { major: top.major, minor };
    try {
      const reply = await roundTrip(socketPath, encodeCase('handshake', { protocolVersion: requested, client }), opts);
      if (reply.case !== 'handshake') throw badHandshake(`unexpected response case ${reply.case}`);
      const hs = parseHandshakeResponse(reply.value);
      // Never trust a host to negotiate above what we asked for.
      if (compareVersions(hs.negotiatedVersion, requested) > 0) hs.negotiatedVersion = requested;
      return hs;
    } catch (err) {
      const canDowngrade =
        err instanceof BridgeError &&
        err.bridgeCode === 'versionMismatch' &&
        compareVersions({ major: top.major, minor: minor - 1 }, BRIDGE_MIN_VERSION) >= 0;
      if (!canDowngrade) throw err;
    }
  }
}

/** Handshakes and returns a handle that sends each operation on its own connection. */
export async function connectBridge(socketPath: string, opts: BridgeClientOptions = {}): Promise<BridgeConnection> {
  const resolved = path.resolve(socketPath);
  const handshake = await handshakeBridge(resolved, opts);
  const negotiatedVersion = handshake.negotiatedVersion;
  async function request(
    op: string,
    payload?: unknown,
    callOpts: { timeoutMs?: number } = {},
  ): Promise<DecodedResponse> {
    if (op === 'handshake' || (isKnownOperation(op) && !operationAllowedAt(op, negotiatedVersion))) {
      throw new BridgeError({
        code: 'operationNotSupported',
        message: `Operation ${op} is not available at negotiated protocol ${formatVersion(negotiatedVersion)}`,
      });
    }
    const body = operationHasNoPayload(op) ? encodeRequest(op) : encodeRequest(op, payload ?? {});
    return roundTrip(resolved, body, { ...opts, ...callOpts });
  }
  return {
    socketPath: resolved,
    handshake,
    negotiatedVersion,
    supports: (op) => handshake.supportedOperations.includes(op),
    request,
    listSnapshots: async (callOpts = {}) => snapshotsFromResponse(await request('listSnapshots', undefined, callOpts)),
  };
}

export interface BridgeProbe {
  name: string;
  socketPath: string;
  /** accepted, rejected (handshake fine, capabilities insufficient), failed (error), skipped (alias already tried). */
  outcome: 'accepted' | 'rejected' | 'failed' | 'skipped';
  handshake?: BridgeHandshakeResponse;
  error?: { code: string; message: string; bridgeCode?: string };
  reason?: string;
}

export interface DiscoverOptions extends BridgeClientOptions {
  /** Use only this socket (like PEEKABOO_BRIDGE_SOCKET): no discovery, no acceptance rule, no local fallback. */
  socketPath?: string;
  /** The operation the caller wants to run; element actions add the ≥1.3 rule. */
  operation?: string;
  /** Operations a host must advertise to be chosen; default ["captureScreen"] (pb acceptance rule). */
  requireOperations?: readonly string[];
}

export interface BridgeDiscovery {
  selected?: BridgeConnection;
  probes: BridgeProbe[];
  /** True when no host was chosen (or PEEKABOO_NO_REMOTE is set): callers run locally. */
  local: boolean;
  explicit: boolean;
}

function acceptance(hs: BridgeHandshakeResponse, opts: DiscoverOptions): string | undefined {
  for (const op of opts.requireOperations ?? ['captureScreen']) {
    if (!hs.supportedOperations.includes(op)) return `host does not advertise ${op}`;
  }
  if (opts.operation === 'setValue' || opts.operation === 'performAction') {
    if (compareVersions(hs.negotiatedVersion, { major: 1, minor: 3 }) < 0) return 'element actions need protocol ≥ 1.3';
    if (!hs.supportedOperations.includes('setValue') || !hs.supportedOperations.includes('performAction')) {
      return 'host does not advertise setValue and performAction';
    }
  }
  return undefined;
}

function errorSummary(err: unknown): BridgeProbe['error'] {
  if (err instanceof BridgeError) return { code: err.code, message: err.message, bridgeCode: err.bridgeCode };
  if (err instanceof BridgeTransportError) return { code: err.code, message: err.message };
  return { code: (err as { code?: string })?.code ?? 'ERR_BRIDGE', message: (err as Error)?.message ?? String(err) };
}

/**
 * Probes hosts in order (explicit socket only, when given by option or PEEKABOO_BRIDGE_SOCKET; otherwise
 * Peekaboo, Claude, OpenClaw, clawdbot, Peekaboo daemon) and picks the first acceptable one. Any error moves on.
 */
export async function discoverBridgeHost(opts: DiscoverOptions = {}): Promise<BridgeDiscovery> {
  const env = opts.env ?? process.env;
  const explicitPath = opts.socketPath ?? env[BRIDGE_SOCKET_ENV]?.trim();
  const explicit = Boolean(explicitPath);
  if (!explicit && env[NO_REMOTE_ENV] !== undefined) return { probes: [], local: true, explicit };
  const candidates = explicitPath
    ? [{ name: 'explicit', socketPath: path.resolve(explicitPath) }]
    : bridgeCandidates(opts);
  const probes: BridgeProbe[] = [];
  const tried = new Set<string>();
  for (const candidate of candidates) {
    const real = realSocketPath(candidate.socketPath);
    if (real !== undefined && tried.has(real)) {
      probes.push({ ...candidate, outcome: 'skipped', reason: `resolves to ${real}, already tried` });
      continue;
    }
    if (real !== undefined) tried.add(real);
    try {
      const connection = await connectBridge(candidate.socketPath, opts);
      // An explicitly chosen socket is used as is; discovered ones must pass the acceptance rule.
      const refusal = explicit ? undefined : acceptance(connection.handshake, opts);
      if (refusal) {
        probes.push({ ...candidate, outcome: 'rejected', handshake: connection.handshake, reason: refusal });
        continue;
      }
      probes.push({ ...candidate, outcome: 'accepted', handshake: connection.handshake });
      return { selected: connection, probes, local: false, explicit };
    } catch (err) {
      probes.push({ ...candidate, outcome: 'failed', error: errorSummary(err) });
    }
  }
  return { probes, local: true, explicit };
}

export interface BridgeRequestOptions extends DiscoverOptions {
  /** Services for the local fallback; default a fresh createLocalServices(). */
  localServices?: BridgeServices;
}

export interface BridgeRequestResult {
  /** `remote`: a host answered. `local`: this process ran it, so TCC is judged against our own process. */
  via: 'remote' | 'local';
  socketPath?: string;
  negotiatedVersion?: BridgeProtocolVersion;
  response: DecodedResponse;
  probes: BridgeProbe[];
}

/**
 * Runs one operation on the first acceptable host, or locally when none is found. With an explicit socket
 * (option or PEEKABOO_BRIDGE_SOCKET) only that host is used and its failure is thrown, never masked.
 */
export async function bridgeRequest(
  op: string,
  payload?: unknown,
  opts: BridgeRequestOptions = {},
): Promise<BridgeRequestResult> {
  const env = opts.env ?? process.env;
  const explicitPath = opts.socketPath ?? env[BRIDGE_SOCKET_ENV]?.trim();
  if (explicitPath) {
    // The caller chose this host: its handshake or transport error is the answer (typed, unmasked).
    const connection = await connectBridge(explicitPath, opts);
    const response = await connection.request(op, payload, opts);
    const probes: BridgeProbe[] = [
      { name: 'explicit', socketPath: connection.socketPath, outcome: 'accepted', handshake: connection.handshake },
    ];
    return {
      via: 'remote',
      socketPath: connection.socketPath,
      negotiatedVersion: connection.negotiatedVersion,
      response,
      probes,
    };
  }
  const discovery = await discoverBridgeHost({ ...opts, operation: op });
  if (discovery.selected) {
    const response = await discovery.selected.request(op, payload, opts);
    return {
      via: 'remote',
      socketPath: discovery.selected.socketPath,
      negotiatedVersion: discovery.selected.negotiatedVersion,
      response,
      probes: discovery.probes,
    };
  }
  return {
    via: 'local',
    response: await runLocally(op, payload, opts.localServices ?? createLocalServices()),
    probes: discovery.probes,
  };
}

export interface BridgeSnapshotListResult extends Omit<BridgeRequestResult, 'response'> {
  snapshots: BridgeSnapshotInfo[];
}

/**
 * `listSnapshots` through bridgeRequest: the chosen host's snapshots, or the local services' when none is
 * chosen (`via` says which). Discovery keeps its acceptance rule; pass `socketPath` (or
 * PEEKABOO_BRIDGE_SOCKET) or `requireOperations: ['listSnapshots']` to reach a host without captureScreen.
 */
export async function listBridgeSnapshots(opts: BridgeRequestOptions = {}): Promise<BridgeSnapshotListResult> {
  const { response, ...rest } = await bridgeRequest('listSnapshots', undefined, opts);
  return { ...rest, snapshots: snapshotsFromResponse(response) };
}

/** Runs `op` against in-process services with the same routing and errors a host applies. */
export async function runLocally(op: string, payload: unknown, services: BridgeServices): Promise<DecodedResponse> {
  if (op === 'handshake' || !isKnownOperation(op)) {
    throw new BridgeError({ code: 'invalidRequest', message: `Unknown bridge operation ${op}` });
  }
  let json: JsonValue | undefined;
  if (!operationHasNoPayload(op)) {
    try {
      json = parseSafeJson(Buffer.from(JSON.stringify(payload ?? {}) ?? 'null'));
    } catch (err) {
      throw new BridgeError({
        code: 'decodingFailed',
        message: 'Failed to decode request',
        details: (err as Error).message,
      });
    }
  }
  const reply = await dispatchRequest(
    {
      services,
      minVersion: BRIDGE_MIN_VERSION,
      maxVersion: BRIDGE_MAX_VERSION,
      hostKind: 'inProcess',
      build: 'dev',
      hostUid: process.getuid?.() ?? -1,
      allowedBundleIds: [],
      handshakeTeamIds: [],
      platform: process.platform,
    },
    json === undefined ? { op } : { op, payload: json },
    {},
  );
  // Same decoding path as a remote reply, so callers see identical shapes and errors.
  return decodeResponse(encodeCase(reply.case, reply.value));
}
