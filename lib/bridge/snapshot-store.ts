// In-memory snapshot store, as OpenClaw.app's bridge host keeps it (spec §9) with upstream Peekaboo's
// InMemorySnapshotManager rules (steipete/Peekaboo@43166110, Services/Support/InMemorySnapshotManager*.swift):
// entries live 600 s after their last access, at most 50 (least recently used evicted), a store call on an
// unknown id creates the entry, no artifact deletion. Only this host's memory is touched.
import { SnapshotIdIssuer, type SnapshotSuffixSource } from './snapshot-id.js';

/** What one `storeScreenshot` request sets. Upstream replaces all of these, absent ones included (they become nil). */
export interface SnapshotScreenshotRequest {
  screenshotPath: string;
  applicationBundleId?: string;
  applicationProcessId?: number;
  applicationName?: string;
  windowTitle?: string;
  windowBounds?: unknown;
}

/** Screenshot and window facts of one snapshot (upstream `UIAutomationSnapshot`, the parts this store keeps). */
interface SnapshotData {
  screenshotPath?: string;
  annotatedScreenshotPath?: string;
  applicationBundleId?: string;
  applicationProcessId?: number;
  applicationName?: string;
  windowTitle?: string;
  windowBounds?: unknown;
}

interface SnapshotRecord extends SnapshotData {
  id: string;
  processId: number;
  createdAt: number;
  lastAccessedAt: number;
  /** Order of the last access: breaks ties between equal `lastAccessedAt` times (a coarse or injected clock). */
  accessOrder: number;
  /** Order of creation: breaks ties between equal `createdAt` times in listings. */
  createOrder: number;
  detection?: unknown;
  /** UTF-8 size of the stored detection result as JSON: the only snapshot data this store holds. */
  detectionBytes: number;
}

/** One live snapshot as `listSnapshots` reports it (upstream `SnapshotInfo`; times in epoch ms). */
export interface SnapshotSummary {
  id: string;
  processId: number;
  createdAt: number;
  lastAccessedAt: number;
  sizeInBytes: number;
  screenshotCount: number;
  isActive: boolean;
}

export interface SnapshotStoreOptions {
  /** How long an entry lives after its last access; also the creation-age limit for getMostRecentSnapshot. */
  validityMs?: number;
  /** Entry cap (at least 1, as upstream's `max(1, maxSnapshots)`). */
  maxSnapshots?: number;
  now?: () => number;
  /** The process that creates snapshots: the host itself, as upstream records getpid(). Default process.pid. */
  processId?: number;
  /** Source of the id's 1000…9999 suffix; default a CSPRNG draw. */
  snapshotIdSuffix?: SnapshotSuffixSource;
}

export class SnapshotStore {
  private readonly records = new Map<string, SnapshotRecord>();
  private readonly validityMs: number;
  private readonly maxSnapshots: number;
  private readonly now: () => number;
  private readonly processId: number;
  private readonly ids: SnapshotIdIssuer;
  private order = 0;

  constructor(opts: SnapshotStoreOptions = {}) {
    const max = opts.maxSnapshots ?? 50;
    if (!Number.isSafeInteger(max)) throw new RangeError(`maxSnapshots must be an integer, got ${String(max)}`);
    this.validityMs = opts.validityMs ?? 600_000;
    this.maxSnapshots = Math.max(1, max);
    this.now = opts.now ?? Date.now;
    this.processId = opts.processId ?? process.pid;
    this.ids = new SnapshotIdIssuer(opts.snapshotIdSuffix);
  }

  get size(): number {
    this.expire();
    return this.records.size;
  }

  create(): string {
    this.expire();
    const id = this.ids.next(this.now(), (candidate) => this.records.has(candidate));
    this.insert(id);
    return id;
  }

  /** `bytes` is the result's serialised size, which the caller has already measured against its cap. */
  storeDetection(id: string, result: unknown, bytes: number): void {
    const rec = this.touchOrCreate(id);
    rec.detection = result;
    rec.detectionBytes = bytes;
    applyDetectionContext(rec, result);
  }

  storeScreenshot(id: string, request: SnapshotScreenshotRequest): void {
    const rec = this.touchOrCreate(id);
    // Every field is assigned, absent ones too (InMemorySnapshotManager+Screenshots.swift:17-22).
    rec.screenshotPath = request.screenshotPath;
    rec.applicationName = request.applicationName;
    rec.applicationBundleId = request.applicationBundleId;
    rec.applicationProcessId = request.applicationProcessId;
    rec.windowTitle = request.windowTitle;
    rec.windowBounds = request.windowBounds;
  }

  storeAnnotatedScreenshot(id: string, annotatedScreenshotPath: string): void {
    this.touchOrCreate(id).annotatedScreenshotPath = annotatedScreenshotPath;
  }

  /** The stored detection result; reading it is an access. An unknown id is not created. */
  detection(id: string): unknown {
    this.expire();
    const rec = this.records.get(id);
    if (rec) this.touch(rec);
    return rec?.detection;
  }

  /**
   * Upstream getMostRecentSnapshot: among live entries created within the validity window (and stored for
   * the bundle id, if given), the one accessed last. Asking is not an access.
   */
  mostRecent(applicationBundleId?: string): string | undefined {
    this.expire();
    const now = this.now();
    let best: SnapshotRecord | undefined;
    for (const rec of this.records.values()) {
      if (now - rec.createdAt > this.validityMs) continue;
      if (applicationBundleId !== undefined && rec.applicationBundleId !== applicationBundleId) continue;
      if (!best || accessedBefore(best, rec)) best = rec;
    }
    return best?.id;
  }

  /**
   * Every live snapshot, newest `createdAt` first (upstream InMemorySnapshotManager.listSnapshots). Equal
   * creation times list the later-created one first. Listing does not count as an access.
   */
  list(): SnapshotSummary[] {
    this.expire();
    const sorted = [...this.records.values()].sort(
      (a, b) => b.createdAt - a.createdAt || b.createOrder - a.createOrder,
    );
    return sorted.map((rec) => ({
      id: rec.id,
      processId: rec.processId,
      createdAt: rec.createdAt,
      lastAccessedAt: rec.lastAccessedAt,
      sizeInBytes: rec.detectionBytes,
      screenshotCount: screenshotCount(rec),
      // expire() has just dropped every entry past its validity, so whatever is listed is active.
      isActive: true,
    }));
  }

  remove(id: string): boolean {
    return this.records.delete(id);
  }

  removeOlderThan(days: number): number {
    const cutoff = this.now() - days * 86_400_000;
    let removed = 0;
    for (const [id, rec] of this.records) {
      if (rec.createdAt < cutoff) {
        this.records.delete(id);
        removed += 1;
      }
    }
    return removed;
  }

  clear(): number {
    const n = this.records.size;
    this.records.clear();
    return n;
  }

  /** Upstream store calls: an existing live entry is touched, an unknown (or expired) id becomes a new entry. */
  private touchOrCreate(id: string): SnapshotRecord {
    this.expire();
    const rec = this.records.get(id);
    if (!rec) return this.insert(id);
    this.touch(rec);
    return rec;
  }

  private insert(id: string): SnapshotRecord {
    // Evict before inserting, so the entry being written is never the one dropped (upstream prunes after
    // inserting, where equal access times could drop the new entry).
    while (this.records.size >= this.maxSnapshots) this.evictLeastRecentlyUsed();
    const now = this.now();
    this.order += 1;
    const rec: SnapshotRecord = {
      id,
      processId: this.processId,
      createdAt: now,
      lastAccessedAt: now,
      accessOrder: this.order,
      createOrder: this.order,
      detectionBytes: 0,
    };
    this.records.set(id, rec);
    return rec;
  }

  private touch(rec: SnapshotRecord): void {
    this.order += 1;
    rec.lastAccessedAt = this.now();
    rec.accessOrder = this.order;
  }

  private evictLeastRecentlyUsed(): void {
    let lru: SnapshotRecord | undefined;
    for (const rec of this.records.values()) {
      if (!lru || accessedBefore(rec, lru)) lru = rec;
    }
    if (lru) this.records.delete(lru.id);
  }

  private expire(): void {
    const now = this.now();
    for (const [id, rec] of this.records) {
      if (now - rec.lastAccessedAt > this.validityMs) this.records.delete(id);
    }
  }
}

function accessedBefore(a: SnapshotRecord, b: SnapshotRecord): boolean {
  return (
    a.lastAccessedAt < b.lastAccessedAt || (a.lastAccessedAt === b.lastAccessedAt && a.accessOrder < b.accessOrder)
  );
}

/** The raw screenshot counts once, the annotated one once more unless it is the same file (upstream rule). */
function screenshotCount(rec: SnapshotData): number {
  let count = rec.screenshotPath !== undefined ? 1 : 0;
  if (rec.annotatedScreenshotPath !== undefined && rec.annotatedScreenshotPath !== rec.screenshotPath) count += 1;
  return count;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * What upstream's applyDetectionResult takes from a stored detection result into the snapshot
 * (InMemorySnapshotManager+DetectionMapping.swift:6-46): the result's screenshot path when the snapshot has
 * none, and the non-null fields of `metadata.windowContext`. The result itself stays opaque JSON here, so a
 * field of the wrong type is ignored rather than applied. The legacy `warnings` fallback (APP:, WINDOW:,
 * BOUNDS:…) only fills fields no bridge reply shows, and is not applied.
 */
function applyDetectionContext(rec: SnapshotData, result: unknown): void {
  const r = record(result);
  if (!r) return;
  if (!rec.screenshotPath && typeof r.screenshotPath === 'string' && r.screenshotPath !== '')
    rec.screenshotPath = r.screenshotPath;
  const context = record(record(r.metadata)?.windowContext);
  if (!context) return;
  if (typeof context.applicationName === 'string') rec.applicationName = context.applicationName;
  if (typeof context.applicationBundleId === 'string') rec.applicationBundleId = context.applicationBundleId;
  if (Number.isSafeInteger(context.applicationProcessId))
    rec.applicationProcessId = context.applicationProcessId as number;
  if (typeof context.windowTitle === 'string') rec.windowTitle = context.windowTitle;
  if (context.windowBounds !== undefined && context.windowBounds !== null) rec.windowBounds = context.windowBounds;
}
