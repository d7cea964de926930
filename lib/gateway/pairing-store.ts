// Paired devices and paired nodes, persisted under the state dir (devices/paired.json,
// nodes/paired.json, 0600). Pending requests are persisted too (devices/pending.json,
// nodes/pending.json, 0600) so that an operator can approve after a Gateway restart; they expire
// PAIRING_REQUEST_TTL_MS after they were created, across restarts.
import crypto from 'node:crypto';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir, readJsonFile, writeFileAtomic } from '../common/state-dir.js';
import { PAIRING_REQUEST_TTL_MS } from '../protocol/constants.js';
import { Type } from '../protocol/typebox.js';
import { compileValidator, type Validator } from '../protocol/validator.js';
import { timingSafeEqualString } from '../common/constant-time.js';

export interface DeviceTokenRecord {
  token: string;
  role: string;
  scopes: string[];
  issuedAtMs: number;
}

export interface PairedDevice {
  deviceId: string;
  publicKey: string;
  displayName?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  roles: string[];
  scopes: string[];
  tokens: Record<string, DeviceTokenRecord>;
  createdAtMs: number;
  approvedAtMs: number;
}

export interface PairedNode {
  nodeId: string;
  displayName?: string;
  platform?: string;
  /** Commands the operator approved; the node may declare more, they stay withheld. */
  commands: string[];
  caps: string[];
  approvedAtMs: number;
  token: string;
}

export type DevicePairReason = 'not-paired' | 'role-upgrade' | 'scope-upgrade' | 'metadata-upgrade';

export interface DevicePairRequest {
  requestId: string;
  deviceId: string;
  publicKey: string;
  displayName?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  role: string;
  scopes: string[];
  remoteIp?: string;
  reason: DevicePairReason;
  isRepair: boolean;
  ts: number;
}

export interface NodePairRequest {
  requestId: string;
  nodeId: string;
  displayName?: string;
  platform?: string;
  version?: string;
  caps: string[];
  commands: string[];
  remoteIp?: string;
  ts: number;
}

const MAX_PENDING = 256;

export class PairingStore {
  private readonly devicesFile: string;
  private readonly nodesFile: string;
  private devices: Record<string, PairedDevice>;
  private nodes: Record<string, PairedNode>;
  private readonly pendingDevices: PendingRequests<DevicePairRequest>;
  private readonly pendingNodes: PendingRequests<NodePairRequest>;

  constructor(
    readonly stateDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.devicesFile = path.join(stateDir, 'devices', 'paired.json');
    this.nodesFile = path.join(stateDir, 'nodes', 'paired.json');
    this.devices = loadPaired(this.devicesFile, pairedDevice);
    this.nodes = loadPaired(this.nodesFile, pairedNode);
    this.pendingDevices = new PendingRequests(path.join(stateDir, 'devices', 'pending.json'), isDevicePairRequest, now);
    this.pendingNodes = new PendingRequests(path.join(stateDir, 'nodes', 'pending.json'), isNodePairRequest, now);
  }

  // ------------------------------------------------------------ devices

  getDevice(deviceId: string): PairedDevice | undefined {
    return Object.hasOwn(this.devices, deviceId) ? this.devices[deviceId] : undefined;
  }

  listDevices(): PairedDevice[] {
    return Object.values(this.devices);
  }

  /** Why a device needs (re)pairing for this connect, or undefined when it is already covered. */
  pairingReason(
    deviceId: string,
    role: string,
    scopes: readonly string[],
    meta: { platform?: string; deviceFamily?: string },
  ): DevicePairReason | undefined {
    const device = this.getDevice(deviceId);
    if (!device) return 'not-paired';
    if (!device.roles.includes(role)) return 'role-upgrade';
    if (scopes.some((scope) => !device.scopes.includes(scope))) return 'scope-upgrade';
    if ((device.platform ?? '') !== (meta.platform ?? '') || (device.deviceFamily ?? '') !== (meta.deviceFamily ?? ''))
      return 'metadata-upgrade';
    return undefined;
  }

  addDeviceRequest(request: Omit<DevicePairRequest, 'requestId' | 'ts'>): DevicePairRequest {
    return this.pendingDevices.upsert(
      request,
      (existing) => existing.deviceId === request.deviceId && existing.role === request.role,
      (existing) => Object.assign(existing, request, { scopes: [...new Set([...existing.scopes, ...request.scopes])] }),
    );
  }

  listDeviceRequests(): DevicePairRequest[] {
    return this.pendingDevices.list();
  }

  takeDeviceRequest(requestId: string): DevicePairRequest | undefined {
    return this.pendingDevices.take(requestId);
  }

  /** Records an approved device (or widens an existing one) and persists it. */
  approveDevice(input: Omit<DevicePairRequest, 'requestId' | 'ts' | 'reason' | 'isRepair' | 'remoteIp'>): PairedDevice {
    const now = this.now();
    const existing = this.getDevice(input.deviceId);
    const device: PairedDevice = {
      deviceId: input.deviceId,
      publicKey: input.publicKey,
      displayName: input.displayName ?? existing?.displayName,
      platform: input.platform,
      deviceFamily: input.deviceFamily,
      clientId: input.clientId,
      clientMode: input.clientMode,
      roles: [...new Set([...(existing?.roles ?? []), input.role])],
      scopes: [...new Set([...(existing?.scopes ?? []), ...input.scopes])],
      tokens: existing?.tokens ?? {},
      createdAtMs: existing?.createdAtMs ?? now,
      approvedAtMs: now,
    };
    this.devices[device.deviceId] = device;
    this.saveDevices();
    return device;
  }

  removeDevice(deviceId: string): boolean {
    if (!this.getDevice(deviceId)) return false;
    delete this.devices[deviceId];
    this.saveDevices();
    return true;
  }

  /** The device token for (device, role), minted on first use. Nodes get no scopes. */
  deviceToken(deviceId: string, role: string, scopes: string[]): DeviceTokenRecord {
    const device = this.getDevice(deviceId);
    if (!device) throw new IpcError('ERR_NOT_PAIRED', `device ${deviceId} is not paired`);
    const existing = device.tokens[role];
    if (existing) {
      // Keep the token stable across scope changes so a client's stored token stays valid.
      if (!sameSet(existing.scopes, scopes)) {
        existing.scopes = scopes;
        this.saveDevices();
      }
      return existing;
    }
    const record: DeviceTokenRecord = {
      token: crypto.randomBytes(32).toString('base64url'),
      role,
      scopes,
      issuedAtMs: this.now(),
    };
    device.tokens[role] = record;
    this.saveDevices();
    return record;
  }

  /** Replaces the token for (device, role); undefined when the device or role is unknown. */
  rotateDeviceToken(deviceId: string, role: string): DeviceTokenRecord | undefined {
    const device = this.getDevice(deviceId);
    const existing = device?.tokens[role];
    if (!device || !existing) return undefined;
    const record: DeviceTokenRecord = {
      token: crypto.randomBytes(32).toString('base64url'),
      role,
      scopes: existing.scopes,
      issuedAtMs: this.now(),
    };
    device.tokens[role] = record;
    this.saveDevices();
    return record;
  }

  revokeDeviceToken(deviceId: string, role: string): boolean {
    const device = this.getDevice(deviceId);
    if (!device?.tokens[role]) return false;
    delete device.tokens[role];
    this.saveDevices();
    return true;
  }

  verifyDeviceToken(deviceId: string, role: string, token: string): boolean {
    const stored = this.getDevice(deviceId)?.tokens[role]?.token;
    return stored !== undefined && timingSafeEqualString(stored, token);
  }

  // ------------------------------------------------------------ nodes (command surface)

  getNode(nodeId: string): PairedNode | undefined {
    return Object.hasOwn(this.nodes, nodeId) ? this.nodes[nodeId] : undefined;
  }

  listNodes(): PairedNode[] {
    return Object.values(this.nodes);
  }

  /** A pending node request for this node (reused across reconnects), or a new one. */
  addNodeRequest(request: Omit<NodePairRequest, 'requestId' | 'ts'>): NodePairRequest {
    return this.pendingNodes.upsert(
      request,
      (existing) => existing.nodeId === request.nodeId,
      (existing) => Object.assign(existing, request),
    );
  }

  pendingNodeRequestFor(nodeId: string): NodePairRequest | undefined {
    return this.pendingNodes.list().find((request) => request.nodeId === nodeId);
  }

  listNodeRequests(): NodePairRequest[] {
    return this.pendingNodes.list();
  }

  takeNodeRequest(requestId: string): NodePairRequest | undefined {
    return this.pendingNodes.take(requestId);
  }

  /** Approves a node's command surface; every approval mints a fresh token. */
  approveNode(request: NodePairRequest, approvedCommands: string[]): PairedNode {
    const node: PairedNode = {
      nodeId: request.nodeId,
      displayName: request.displayName ?? this.getNode(request.nodeId)?.displayName,
      platform: request.platform,
      commands: [...new Set(approvedCommands)].sort(),
      caps: [...new Set(request.caps)].sort(),
      approvedAtMs: this.now(),
      token: crypto.randomBytes(32).toString('base64url'),
    };
    this.nodes[node.nodeId] = node;
    this.saveNodes();
    return node;
  }

  /** Forgets a paired node and the node role of its device (its other roles stay). */
  removeNode(nodeId: string): boolean {
    const device = this.getDevice(nodeId);
    const hadNode = Object.hasOwn(this.nodes, nodeId);
    const hadRole = device?.roles.includes('node') ?? false;
    if (!hadNode && !hadRole) return false;
    if (hadNode) {
      delete this.nodes[nodeId];
      this.saveNodes();
    }
    if (device && hadRole) {
      device.roles = device.roles.filter((role) => role !== 'node');
      delete device.tokens.node;
      if (device.roles.length === 0) delete this.devices[nodeId];
      this.saveDevices();
    }
    return true;
  }

  renameNode(nodeId: string, displayName: string): PairedNode | undefined {
    const node = this.getNode(nodeId);
    if (!node) return undefined;
    node.displayName = displayName;
    this.saveNodes();
    return node;
  }

  private saveDevices(): void {
    savePrivateJson(this.devicesFile, this.devices);
  }

  private saveNodes(): void {
    savePrivateJson(this.nodesFile, this.nodes);
  }
}

function savePrivateJson(file: string, data: unknown): void {
  ensurePrivateDir(path.dirname(file));
  writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`, 0o600);
}

/**
 * Pairing requests waiting for an operator, keyed by requestId, persisted (0600) so an operator can
 * approve after a restart. Entries older than PAIRING_REQUEST_TTL_MS are dropped on every access;
 * entries that do not look like requests are dropped on load.
 */
class PendingRequests<T extends { requestId: string; ts: number }> {
  private readonly pending = new Map<string, T>();

  constructor(
    private readonly file: string,
    isRequest: (value: unknown) => value is T,
    private readonly now: () => number,
  ) {
    for (const [id, value] of Object.entries(loadRecord<unknown>(file))) {
      if (isRequest(value) && value.requestId === id && this.pending.size < MAX_PENDING) this.pending.set(id, value);
    }
    this.expire();
  }

  /** The pending request `sameAs` picks, merged with the new one; else a new request (ERR_PAIRING_FULL past the cap). */
  upsert(request: Omit<T, 'requestId' | 'ts'>, sameAs: (existing: T) => boolean, merge: (existing: T) => void): T {
    this.expire();
    for (const existing of this.pending.values()) {
      if (!sameAs(existing)) continue;
      const before = JSON.stringify(existing);
      merge(existing);
      if (JSON.stringify(existing) !== before) this.save();
      return existing;
    }
    if (this.pending.size >= MAX_PENDING) throw new IpcError('ERR_PAIRING_FULL', 'too many pending pairing requests');
    const full = { ...request, requestId: crypto.randomUUID(), ts: this.now() } as T;
    this.pending.set(full.requestId, full);
    this.save();
    return full;
  }

  list(): T[] {
    this.expire();
    return [...this.pending.values()];
  }

  take(requestId: string): T | undefined {
    this.expire();
    const request = this.pending.get(requestId);
    if (request) {
      this.pending.delete(requestId);
      this.save();
    }
    return request;
  }

  private expire(): void {
    const cutoff = this.now() - PAIRING_REQUEST_TTL_MS;
    let dropped = false;
    for (const [id, request] of this.pending) {
      if (request.ts < cutoff) {
        this.pending.delete(id);
        dropped = true;
      }
    }
    if (dropped) this.save();
  }

  private save(): void {
    savePrivateJson(this.file, Object.fromEntries(this.pending));
  }
}

// A pending request read back from disk is used only when it matches its schema (compiled once); the
// file is ours, but a crash or a hand edit may leave anything in it. Names and lists are bounded.
const Name = Type.String({ maxLength: 1024 });
const Names = Type.Array(Name, { maxItems: 1024 });
const pendingBase = { requestId: Name, ts: Type.Number() };
const devicePairRequest = compileValidator(
  Type.Object({
    ...pendingBase,
    deviceId: Name,
    publicKey: Name,
    role: Name,
    scopes: Names,
    reason: Name,
    isRepair: Type.Boolean(),
  }),
);
const nodePairRequest = compileValidator(Type.Object({ ...pendingBase, nodeId: Name, caps: Names, commands: Names }));

// Paired records are the Gateway's trust store: a record that fails its schema makes the whole file
// ERR_CONFIG_MALFORMED (fail closed, never rewritten), rather than silently unpairing or trusting it.
const Optional = (schema: typeof Name) => Type.Optional(schema);
const Ms = Type.Number();
const pairedDevice = compileValidator(
  Type.Object({
    deviceId: Name,
    publicKey: Name,
    displayName: Optional(Name),
    platform: Optional(Name),
    deviceFamily: Optional(Name),
    clientId: Optional(Name),
    clientMode: Optional(Name),
    roles: Names,
    scopes: Names,
    tokens: Type.Record(Type.String(), Type.Object({ token: Name, role: Name, scopes: Names, issuedAtMs: Ms }), {
      maxProperties: 1024,
    }),
    createdAtMs: Ms,
    approvedAtMs: Ms,
  }),
);
const pairedNode = compileValidator(
  Type.Object({
    nodeId: Name,
    displayName: Optional(Name),
    platform: Optional(Name),
    commands: Names,
    caps: Names,
    approvedAtMs: Ms,
    token: Name,
  }),
);

/** devices/paired.json or nodes/paired.json, every record through its schema. */
function loadPaired<T>(file: string, shape: Validator<T>): Record<string, T> {
  const records = loadRecord<unknown>(file);
  for (const [id, record] of Object.entries(records)) {
    const problem = shape.firstError(record);
    if (problem) {
      throw new IpcError(
        'ERR_CONFIG_MALFORMED',
        `${file}: entry ${JSON.stringify(id)}: ${problem.path || '/'}: ${problem.message}`,
      );
    }
  }
  return records as Record<string, T>;
}

const isDevicePairRequest = (value: unknown): value is DevicePairRequest => devicePairRequest.check(value);
const isNodePairRequest = (value: unknown): value is NodePairRequest => nodePairRequest.check(value);

const recordFile = compileValidator(Type.Object({}));

function loadRecord<T>(file: string): Record<string, T> {
  const data = readJsonFile<unknown>(file);
  if (data === undefined) return Object.create(null) as Record<string, T>;
  if (!recordFile.check(data)) {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: expected an object keyed by id`);
  }
  // A null-prototype copy: ids such as "__proto__" cannot reach Object.prototype.
  return Object.assign(Object.create(null) as Record<string, T>, data);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
