// The operations this package can honestly serve in its own process: permission status and the snapshot
// store. UI automation (capture, input, windows, apps, menus, dock, dialogs) needs a macOS process holding
// TCC grants; it is not advertised, and a request for it gets `operationNotSupported`, never fake data.
import { permissions } from '../native/permissions.js';
import { BridgeError } from './errors.js';
import type { JsonValue } from './envelope.js';
import type { BridgePermissions } from './protocol.js';
import { encodeSnapshotInfo } from './snapshot-info.js';
import { SnapshotStore, type SnapshotScreenshotRequest, type SnapshotStoreOptions } from './snapshot-store.js';

export interface BridgeReply {
  case: string;
  value?: unknown;
}

export interface BridgeServices {
  /** Operations this service set implements (advertised in the handshake, subject to version gating). */
  readonly operations: readonly string[];
  /** Current TCC grants of this process (probed per request; may be async). */
  permissions(): BridgePermissions | Promise<BridgePermissions>;
  /** Runs one advertised operation. Throws BridgeError for expected failures. */
  handle(op: string, payload: JsonValue | undefined): BridgeReply | Promise<BridgeReply>;
}

export interface LocalServicesOptions extends SnapshotStoreOptions {
  /** Permission probe; default nativeBridgePermissions (TCC on macOS; all false on Linux, which has no TCC). */
  permissions?: () => BridgePermissions | Promise<BridgePermissions>;
  /** Cap on one stored detection result, as serialised JSON. */
  maxDetectionBytes?: number;
}

const PROBE_TIMEOUT_MS = 2000;

async function granted(name: 'screenRecording' | 'accessibility' | 'appleScript'): Promise<boolean> {
  try {
    // appleScript is probed against System Events, as Peekaboo's host does; status() never prompts.
    const opts =
      name === 'appleScript'
        ? { targetBundleId: 'com.apple.systemevents', timeoutMs: PROBE_TIMEOUT_MS }
        : { timeoutMs: PROBE_TIMEOUT_MS };
    return (await permissions.status(name, opts)) === 'granted';
  } catch {
    return false; // addon missing or probe failed: not granted, never assumed
  }
}

/**
 * This process's grants from the native TCC API. Linux answers 'not-applicable' for all, so every flag is
 * false there. postEvent has no native probe yet and is reported false.
 */
export async function nativeBridgePermissions(): Promise<BridgePermissions> {
  const [screenRecording, accessibility, appleScript] = await Promise.all([
    granted('screenRecording'),
    granted('accessibility'),
    granted('appleScript'),
  ]);
  return { screenRecording, accessibility, appleScript, postEvent: false };
}
const MAX_STRING = 4096;

const OPERATIONS = Object.freeze([
  'cleanAllSnapshots',
  'cleanSnapshot',
  'cleanSnapshotsOlderThan',
  'createSnapshot',
  'getDetectionResult',
  'getMostRecentSnapshot',
  'listSnapshots',
  'permissionsStatus',
  'storeAnnotatedScreenshot',
  'storeDetectionResult',
  'storeScreenshot',
]);

function decodeError(message: string): BridgeError {
  return new BridgeError({ code: 'decodingFailed', message: 'Failed to decode request', details: message });
}

function asObject(payload: JsonValue | undefined, op: string): Record<string, JsonValue> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    throw decodeError(`${op} payload must be an object`);
  return payload;
}

function str(obj: Record<string, JsonValue>, key: string, required: true): string;
function str(obj: Record<string, JsonValue>, key: string, required: false): string | undefined;
function str(obj: Record<string, JsonValue>, key: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw decodeError(`missing ${key}`);
    return undefined;
  }
  if (typeof v !== 'string') throw decodeError(`${key} must be a string`);
  if (v.length > MAX_STRING || v.includes('\0'))
    throw new BridgeError({ code: 'invalidRequest', message: `${key} is too long or contains NUL` });
  return v;
}

function int(obj: Record<string, JsonValue>, key: string, required: boolean): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw decodeError(`missing ${key}`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw decodeError(`${key} must be an integer`);
  return v;
}

/** Decodes and stores one detection result, refused past maxBytes of JSON. */
function storeDetectionResult(store: SnapshotStore, p: Record<string, JsonValue>, maxBytes: number): void {
  const id = str(p, 'snapshotId', true);
  if (p.result === undefined || p.result === null) throw decodeError('missing result');
  const bytes = Buffer.byteLength(JSON.stringify(p.result), 'utf8');
  if (bytes > maxBytes) {
    throw new BridgeError({
      code: 'invalidRequest',
      message: `detection result exceeds ${maxBytes} bytes`,
    });
  }
  store.storeDetection(id, p.result, bytes);
}

/** storeScreenshot's fields beyond the snapshot id; absent optional fields stay absent. */
function screenshotRequest(p: Record<string, JsonValue>): SnapshotScreenshotRequest {
  const info: SnapshotScreenshotRequest = { screenshotPath: str(p, 'screenshotPath', true) };
  const bundle = str(p, 'applicationBundleId', false);
  if (bundle !== undefined) info.applicationBundleId = bundle;
  const pid = int(p, 'applicationProcessId', false);
  if (pid !== undefined) info.applicationProcessId = pid;
  const name = str(p, 'applicationName', false);
  if (name !== undefined) info.applicationName = name;
  const title = str(p, 'windowTitle', false);
  if (title !== undefined) info.windowTitle = title;
  if (p.windowBounds !== undefined && p.windowBounds !== null) info.windowBounds = p.windowBounds;
  return info;
}

/** The in-process service set used by our host and by the client's local fallback. */
export function createLocalServices(opts: LocalServicesOptions = {}): BridgeServices {
  const store = new SnapshotStore(opts);
  const permissions = opts.permissions ?? nativeBridgePermissions;
  const maxDetectionBytes = opts.maxDetectionBytes ?? 8 * 1024 * 1024;

  function handle(op: string, payload: JsonValue | undefined): BridgeReply | Promise<BridgeReply> {
    switch (op) {
      case 'permissionsStatus':
        return Promise.resolve(permissions()).then((value) => ({ case: 'permissionsStatus', value }));
      case 'createSnapshot':
        asObject(payload, op);
        return { case: 'snapshotId', value: store.create() };
      // The three store calls create an unknown snapshot id, as upstream's in-memory store does.
      case 'storeDetectionResult':
        storeDetectionResult(store, asObject(payload, op), maxDetectionBytes);
        return { case: 'ok' };
      case 'getDetectionResult': {
        const id = str(asObject(payload, op), 'snapshotId', true);
        const result = store.detection(id);
        if (result === undefined)
          throw new BridgeError({ code: 'notFound', message: `No detection result for snapshot ${id}` });
        return { case: 'detection', value: result };
      }
      case 'storeScreenshot': {
        const p = asObject(payload, op);
        store.storeScreenshot(str(p, 'snapshotId', true), screenshotRequest(p));
        return { case: 'ok' };
      }
      case 'storeAnnotatedScreenshot': {
        const p = asObject(payload, op);
        const id = str(p, 'snapshotId', true);
        store.storeAnnotatedScreenshot(id, str(p, 'annotatedScreenshotPath', true));
        return { case: 'ok' };
      }
      case 'listSnapshots':
        return { case: 'snapshots', value: store.list().map(encodeSnapshotInfo) };
      case 'getMostRecentSnapshot': {
        const bundle = str(asObject(payload, op), 'applicationBundleId', false);
        const id = store.mostRecent(bundle);
        if (id === undefined) throw new BridgeError({ code: 'notFound', message: 'No recent snapshot found' });
        return { case: 'snapshotId', value: id };
      }
      case 'cleanSnapshot':
        store.remove(str(asObject(payload, op), 'snapshotId', true));
        return { case: 'ok' };
      case 'cleanSnapshotsOlderThan': {
        const days = int(asObject(payload, op), 'days', true)!;
        if (days < 0) throw new BridgeError({ code: 'invalidRequest', message: 'days must not be negative' });
        return { case: 'int', value: store.removeOlderThan(days) };
      }
      case 'cleanAllSnapshots':
        return { case: 'int', value: store.clear() };
      default:
        throw new BridgeError({
          code: 'operationNotSupported',
          message: `Operation ${op} is not supported by this host`,
        });
    }
  }

  return { operations: OPERATIONS, permissions, handle };
}
