// PeekabooBridge protocol facts (pb-1.7, see spec peekaboo-bridge.md): versions, operations, the
// version that introduced each gated operation, and the TCC permission each operation needs.
import { Type } from '../protocol/typebox.js';
import { compileValidator } from '../protocol/validator.js';

export interface BridgeProtocolVersion {
  major: number;
  minor: number;
}

/** What this package speaks: 1.0 … 1.7 (project rule: implement 1.0–1.7, downgrade on versionMismatch). */
export const BRIDGE_MIN_VERSION: BridgeProtocolVersion = Object.freeze({ major: 1, minor: 0 });
export const BRIDGE_MAX_VERSION: BridgeProtocolVersion = Object.freeze({ major: 1, minor: 7 });

/** 64 MiB each way; over it the connection is closed with no response (pb-1.7 host and client). */
export const BRIDGE_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Host read deadline and client read deadline, both 10 s in pb-1.7. */
export const BRIDGE_READ_TIMEOUT_MS = 10_000;
/** pb-new caps concurrent clients at 32. */
export const BRIDGE_MAX_CONNECTIONS = 32;
/** Peekaboo's TeamID: the pb-1.7 host default allowlist. */
export const PEEKABOO_TEAM_ID = 'Y5PE65HELJ';
/** The host-side variable of the DEBUG-only unsigned-client rule (spec §8.1 step 4). */
export const ALLOW_UNSIGNED_ENV = 'PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS';

export const BRIDGE_PERMISSIONS = ['accessibility', 'appleScript', 'postEvent', 'screenRecording'] as const;
export type BridgePermission = (typeof BRIDGE_PERMISSIONS)[number];
export type BridgeHostKind = 'gui' | 'helper' | 'onDemand' | 'inProcess';

export const BRIDGE_ERROR_CODES = [
  'permissionDenied',
  'notFound',
  'timeout',
  'invalidRequest',
  'operationNotSupported',
  'serverBusy',
  'versionMismatch',
  'unauthorizedClient',
  'decodingFailed',
  'internalError',
] as const;
export type BridgeErrorCode = (typeof BRIDGE_ERROR_CODES)[number];

export const BridgeErrorCodeSchema = Type.Union(BRIDGE_ERROR_CODES.map((code) => Type.Literal(code)));
const bridgeErrorCode = compileValidator(BridgeErrorCodeSchema);
export const isBridgeErrorCode = (value: unknown): value is BridgeErrorCode => bridgeErrorCode.check(value);

// Payload-less request cases: encoded as {"<case>":{}}. Every other known case carries {"_0": …}.
const NO_PAYLOAD = new Set([
  'permissionsStatus',
  'requestPostEventPermission',
  'daemonStatus',
  'daemonStop',
  'browserDisconnect',
  'getFocusedWindow',
  'listApplications',
  'getFrontmostApplication',
  'showAllApplications',
  'listFrontmostMenus',
  'listMenuExtras',
  'hideDock',
  'showDock',
  'isDockHidden',
  'listSnapshots',
  'cleanAllSnapshots',
  '_appleScriptProbe',
]);

interface OperationSpec {
  permission?: BridgePermission;
  /** Minor version (of major 1) that introduced the operation; 0 when it is in 1.0. */
  since: number;
}

const S = 'screenRecording' as const;
const A = 'accessibility' as const;
const E = 'appleScript' as const;
const P = 'postEvent' as const;

/** Every pb-1.7 operation. Unknown names from newer hosts are ignored, never rejected, by the client. */
export const BRIDGE_OPERATIONS: Readonly<Record<string, OperationSpec>> = Object.freeze({
  permissionsStatus: { since: 0 },
  requestPostEventPermission: { since: 2 },
  daemonStatus: { since: 0 },
  daemonStop: { since: 0 },
  browserStatus: { since: 4 },
  browserConnect: { since: 4 },
  browserDisconnect: { since: 4 },
  browserExecute: { since: 4 },
  captureScreen: { permission: S, since: 0 },
  captureWindow: { permission: S, since: 0 },
  captureFrontmost: { permission: S, since: 0 },
  captureArea: { permission: S, since: 0 },
  detectElements: { permission: S, since: 0 },
  inspectAccessibilityTree: { permission: A, since: 7 },
  desktopObservation: { permission: S, since: 5 },
  click: { permission: A, since: 0 },
  type: { permission: A, since: 0 },
  typeActions: { permission: A, since: 0 },
  setValue: { permission: A, since: 3 },
  performAction: { permission: A, since: 3 },
  scroll: { permission: A, since: 0 },
  hotkey: { permission: A, since: 0 },
  targetedHotkey: { permission: P, since: 1 },
  targetedClick: { permission: P, since: 6 },
  swipe: { permission: A, since: 0 },
  drag: { permission: A, since: 0 },
  moveMouse: { permission: A, since: 0 },
  waitForElement: { permission: A, since: 0 },
  listWindows: { permission: A, since: 0 },
  focusWindow: { permission: A, since: 0 },
  closeWindow: { permission: A, since: 0 },
  minimizeWindow: { permission: A, since: 0 },
  maximizeWindow: { permission: A, since: 0 },
  moveWindow: { permission: A, since: 0 },
  resizeWindow: { permission: A, since: 0 },
  setWindowBounds: { permission: A, since: 0 },
  getFocusedWindow: { permission: A, since: 0 },
  listApplications: { since: 0 },
  findApplication: { since: 0 },
  isApplicationRunning: { since: 0 },
  getFrontmostApplication: { since: 0 },
  launchApplication: { permission: E, since: 0 },
  activateApplication: { permission: E, since: 0 },
  hideApplication: { permission: E, since: 0 },
  unhideApplication: { permission: E, since: 0 },
  hideOtherApplications: { permission: E, since: 0 },
  quitApplication: { permission: E, since: 0 },
  showAllApplications: { permission: E, since: 0 },
  listMenus: { permission: A, since: 0 },
  listFrontmostMenus: { permission: A, since: 0 },
  clickMenuItem: { permission: A, since: 0 },
  clickMenuItemByName: { permission: A, since: 0 },
  listMenuExtras: { permission: A, since: 0 },
  clickMenuExtra: { permission: A, since: 0 },
  menuExtraOpenMenuFrame: { permission: A, since: 0 },
  listMenuBarItems: { permission: A, since: 0 },
  clickMenuBarItemNamed: { permission: A, since: 0 },
  clickMenuBarItemIndex: { permission: A, since: 0 },
  listDockItems: { permission: A, since: 0 },
  launchDockItem: { permission: A, since: 0 },
  rightClickDockItem: { permission: A, since: 0 },
  hideDock: { permission: A, since: 0 },
  showDock: { permission: A, since: 0 },
  isDockHidden: { permission: A, since: 0 },
  findDockItem: { permission: A, since: 0 },
  dialogFindActive: { permission: A, since: 0 },
  dialogListElements: { permission: A, since: 0 },
  dialogClickButton: { permission: A, since: 0 },
  dialogEnterText: { permission: A, since: 0 },
  dialogHandleFile: { permission: A, since: 0 },
  dialogDismiss: { permission: A, since: 0 },
  createSnapshot: { since: 0 },
  storeDetectionResult: { since: 0 },
  getDetectionResult: { since: 0 },
  storeScreenshot: { since: 0 },
  storeAnnotatedScreenshot: { since: 0 },
  listSnapshots: { since: 0 },
  getMostRecentSnapshot: { since: 0 },
  cleanSnapshot: { since: 0 },
  cleanSnapshotsOlderThan: { since: 0 },
  cleanAllSnapshots: { since: 0 },
  _appleScriptProbe: { since: 0 },
});

/**
 * pb-1.7 `PeekabooBridgeResponse` case names (PeekabooBridgeRequestResponse.swift:181-214): the response
 * CodingKeys a client counts (a superset of pb-1.0's).
 */
export const BRIDGE_RESPONSE_CASES: readonly string[] = Object.freeze([
  'handshake',
  'permissionsStatus',
  'daemonStatus',
  'browserStatus',
  'browserToolResponse',
  'capture',
  'elementDetection',
  'desktopObservation',
  'ok',
  'waitResult',
  'windows',
  'window',
  'applications',
  'application',
  'bool',
  'typeResult',
  'elementActionResult',
  'clickResult',
  'menuStructure',
  'menuExtras',
  'menuBarItems',
  'dockItems',
  'dockItem',
  'rect',
  'dialogInfo',
  'dialogElements',
  'dialogResult',
  'snapshotId',
  'snapshots',
  'detection',
  'int',
  'error',
]);

export function isKnownOperation(op: string): boolean {
  return Object.hasOwn(BRIDGE_OPERATIONS, op);
}

/** True when the request case carries no payload (`{"<case>":{}}`). */
export function operationHasNoPayload(op: string): boolean {
  return NO_PAYLOAD.has(op);
}

export function requiredPermissions(op: string): BridgePermission[] {
  const permission = Object.hasOwn(BRIDGE_OPERATIONS, op) ? BRIDGE_OPERATIONS[op].permission : undefined;
  return permission ? [permission] : [];
}

export function compareVersions(a: BridgeProtocolVersion, b: BridgeProtocolVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export function formatVersion(v: BridgeProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

/** Whether `op` may be sent to (or advertised by) a host at the negotiated version. */
export function operationAllowedAt(op: string, version: BridgeProtocolVersion): boolean {
  const spec = Object.hasOwn(BRIDGE_OPERATIONS, op) ? BRIDGE_OPERATIONS[op] : undefined;
  if (!spec) return true; // operations newer than 1.7 are the host's business
  return compareVersions(version, { major: 1, minor: spec.since }) >= 0;
}

export interface BridgePermissions {
  screenRecording: boolean;
  accessibility: boolean;
  appleScript: boolean;
  postEvent: boolean;
}

export interface BridgeClientInfo {
  processIdentifier: number;
  bundleIdentifier?: string;
  teamIdentifier?: string;
  hostname?: string;
}

export interface BridgeHandshakeRequest {
  protocolVersion: BridgeProtocolVersion;
  client: BridgeClientInfo;
  requestedHostKind?: BridgeHostKind;
}

export interface BridgeHandshakeResponse {
  negotiatedVersion: BridgeProtocolVersion;
  hostKind: string;
  build: string;
  supportedOperations: string[];
  permissions: BridgePermissions;
  enabledOperations: string[];
  permissionTags: Record<string, string[]>;
}

/** ISO-8601 without fractional seconds: pb-1.7 rejects `…00.123Z`. */
export function bridgeDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
