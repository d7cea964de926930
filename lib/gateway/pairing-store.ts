// Paired devices and paired nodes, persisted under the state dir (devices/paired.json,
// nodes/paired.json, 0600). Pending requests live in memory for PAIRING_REQUEST_TTL_MS.
import crypto from 'node:crypto';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir, readJsonFile, writeFileAtomic } from '../common/state-dir.js';
import { PAIRING_REQUEST_TTL_MS } from '../protocol/constants.js';
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
  private readonly pendingDevices = new Map<string, DevicePairRequest>();
  private readonly pendingNodes = new Map<string, NodePairRequest>();

  constructor(readonly stateDir: string, private readonly now: () => number = Date.now) {
    this.devicesFile = path.join(stateDir, 'devices', 'paired.json');
    this.nodesFile = path.join(stateDir, 'nodes', 'paired.json');
    this.devices = loadRecord<PairedDevice>(this.devicesFile);
    this.nodes = loadRecord<PairedNode>(this.nodesFile);
  }

  // ------------------------------------------------------------ devices

  getDevice(deviceId: string): PairedDevice | undefined {
    return Object.hasOwn(this.devices, deviceId) ? this.devices[deviceId] : undefined;
  }

  listDevices(): PairedDevice[] {
    return Object.values(this.devices);
  }

  /** Why a device needs (re)pairing for this connect, or undefined when it is already covered. */
  pairingReason(deviceId: string, role: string, scopes: readonly string[], meta: { platform?: string; deviceFamily?: string }): DevicePairReason | undefined {
    const device = this.getDevice(deviceId);
    if (!device) return 'not-paired';
    if (!device.roles.includes(role)) return 'role-upgrade';
    if (scopes.some((scope) => !device.scopes.includes(scope))) return 'scope-upgrade';
    if ((device.platform ?? '') !== (meta.platform ?? '') || (device.deviceFamily ?? '') !== (meta.deviceFamily ?? '')) return 'metadata-upgrade';
    return undefined;
  }

  addDeviceRequest(request: Omit<DevicePairRequest, 'requestId' | 'ts'>): DevicePairRequest {
    this.expirePending();
    // One pending request per (device, role): a reconnect reuses it.
    for (const existing of this.pendingDevices.values()) {
      if (existing.deviceId === request.deviceId && existing.role === request.role) {
        Object.assign(existing, request, { scopes: [...new Set([...existing.scopes, ...request.scopes])] });
        return existing;
      }
    }
    if (this.pendingDevices.size >= MAX_PENDING) throw new IpcError('ERR_PAIRING_FULL', 'too many pending pairing requests');
    const full: DevicePairRequest = { ...request, requestId: crypto.randomUUID(), ts: this.now() };
    this.pendingDevices.set(full.requestId, full);
    return full;
  }

  listDeviceRequests(): DevicePairRequest[] {
    this.expirePending();
    return [...this.pendingDevices.values()];
  }

  takeDeviceRequest(requestId: string): DevicePairRequest | undefined {
    this.expirePending();
    const request = this.pendingDevices.get(requestId);
    this.pendingDevices.delete(requestId);
    return request;
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
    const record: DeviceTokenRecord = { token: crypto.randomBytes(32).toString('base64url'), role, scopes, issuedAtMs: this.now() };
    device.tokens[role] = record;
    this.saveDevices();
    return record;
  }

  /** Replaces the token for (device, role); undefined when the device or role is unknown. */
  rotateDeviceToken(deviceId: string, role: string): DeviceTokenRecord | undefined {
    const device = this.getDevice(deviceId);
    const existing = device?.tokens[role];
    if (!device || !existing) return undefined;
    const record: DeviceTokenRecord = { token: crypto.randomBytes(32).toString('base64url'), role, scopes: existing.scopes, issuedAtMs: this.now() };
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
    this.expirePending();
    for (const existing of this.pendingNodes.values()) {
      if (existing.nodeId === request.nodeId) {
        Object.assign(existing, request);
        return existing;
      }
    }
    if (this.pendingNodes.size >= MAX_PENDING) throw new IpcError('ERR_PAIRING_FULL', 'too many pending pairing requests');
    const full: NodePairRequest = { ...request, requestId: crypto.randomUUID(), ts: this.now() };
    this.pendingNodes.set(full.requestId, full);
    return full;
  }

  pendingNodeRequestFor(nodeId: string): NodePairRequest | undefined {
    this.expirePending();
    for (const request of this.pendingNodes.values()) if (request.nodeId === nodeId) return request;
    return undefined;
  }

  listNodeRequests(): NodePairRequest[] {
    this.expirePending();
    return [...this.pendingNodes.values()];
  }

  takeNodeRequest(requestId: string): NodePairRequest | undefined {
    this.expirePending();
    const request = this.pendingNodes.get(requestId);
    this.pendingNodes.delete(requestId);
    return request;
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

  renameNode(nodeId: string, displayName: string): PairedNode | undefined {
    const node = this.getNode(nodeId);
    if (!node) return undefined;
    node.displayName = displayName;
    this.saveNodes();
    return node;
  }

  private expirePending(): void {
    const cutoff = this.now() - PAIRING_REQUEST_TTL_MS;
    for (const [id, request] of this.pendingDevices) if (request.ts < cutoff) this.pendingDevices.delete(id);
    for (const [id, request] of this.pendingNodes) if (request.ts < cutoff) this.pendingNodes.delete(id);
  }

  private saveDevices(): void {
    ensurePrivateDir(path.dirname(this.devicesFile));
    writeFileAtomic(this.devicesFile, `${JSON.stringify(this.devices, null, 2)}\n`, 0o600);
  }

  private saveNodes(): void {
    ensurePrivateDir(path.dirname(this.nodesFile));
    writeFileAtomic(this.nodesFile, `${JSON.stringify(this.nodes, null, 2)}\n`, 0o600);
  }
}

function loadRecord<T>(file: string): Record<string, T> {
  const data = readJsonFile<unknown>(file);
  if (data === undefined) return Object.create(null) as Record<string, T>;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new IpcError('ERR_CONFIG_MALFORMED', `${file}: expected an object keyed by id`);
  }
  // A null-prototype copy: ids such as "__proto__" cannot reach Object.prototype.
  return Object.assign(Object.create(null) as Record<string, T>, data);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
