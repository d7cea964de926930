// In-memory snapshot store, as OpenClaw.app's bridge host keeps it (spec §9): entries valid for 600 s,
// at most 50 (oldest evicted), no artifact deletion. Only this host's memory is touched.
import crypto from 'node:crypto';

export interface SnapshotScreenshotInfo {
  screenshotPath?: string;
  annotatedScreenshotPath?: string;
  applicationBundleId?: string;
  applicationProcessId?: number;
  applicationName?: string;
  windowTitle?: string;
  windowBounds?: unknown;
}

interface SnapshotRecord extends SnapshotScreenshotInfo {
  id: string;
  processId: number;
  createdAt: number;
  lastAccessedAt: number;
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
  validityMs?: number;
  maxSnapshots?: number;
  now?: () => number;
  /** The process that creates snapshots: the host itself, as upstream records getpid(). Default process.pid. */
  processId?: number;
}

export class SnapshotStore {
  private readonly records = new Map<string, SnapshotRecord>();
  private readonly validityMs: number;
  private readonly maxSnapshots: number;
  private readonly now: () => number;
  private readonly processId: number;

  constructor(opts: SnapshotStoreOptions = {}) {
    this.validityMs = opts.validityMs ?? 600_000;
    this.maxSnapshots = opts.maxSnapshots ?? 50;
    this.now = opts.now ?? Date.now;
    this.processId = opts.processId ?? process.pid;
  }

  get size(): number {
    this.expire();
    return this.records.size;
  }

  create(): string {
    this.expire();
    while (this.records.size >= this.maxSnapshots) {
      const oldest = this.records.keys().next().value as string; // Map keeps insertion order
      this.records.delete(oldest);
    }
    const now = this.now();
    const id = crypto.randomUUID().toUpperCase();
    this.records.set(id, { id, processId: this.processId, createdAt: now, lastAccessedAt: now, detectionBytes: 0 });
    return id;
  }

  has(id: string): boolean {
    return this.lookup(id) !== undefined;
  }

  /** `bytes` is the result's serialised size, which the caller has already measured against its cap. */
  storeDetection(id: string, result: unknown, bytes: number): boolean {
    const rec = this.lookup(id);
    if (!rec) return false;
    rec.detection = result;
    rec.detectionBytes = bytes;
    return true;
  }

  detection(id: string): unknown {
    return this.lookup(id)?.detection;
  }

  storeScreenshot(id: string, info: SnapshotScreenshotInfo): boolean {
    const rec = this.lookup(id);
    if (!rec) return false;
    Object.assign(rec, info);
    return true;
  }

  /** The most recently created live snapshot, optionally only those stored for an application bundle id. */
  mostRecent(applicationBundleId?: string): string | undefined {
    this.expire();
    let best: SnapshotRecord | undefined;
    for (const rec of this.records.values()) {
      if (applicationBundleId !== undefined && rec.applicationBundleId !== applicationBundleId) continue;
      if (!best || rec.createdAt >= best.createdAt) best = rec;
    }
    return best?.id;
  }

  /**
   * Every live snapshot, newest `createdAt` first (upstream InMemorySnapshotManager.listSnapshots). Equal
   * creation times list the later-created one first. Listing does not count as an access.
   */
  list(): SnapshotSummary[] {
    this.expire();
    const newestInsertedFirst = [...this.records.values()].reverse();
    // Array.prototype.sort is stable, so the insertion order breaks ties.
    return newestInsertedFirst.sort((a, b) => b.createdAt - a.createdAt).map((rec) => ({
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

  private lookup(id: string): SnapshotRecord | undefined {
    this.expire();
    const rec = this.records.get(id);
    if (rec) rec.lastAccessedAt = this.now();
    return rec;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, rec] of this.records) {
      if (now - rec.lastAccessedAt > this.validityMs) this.records.delete(id);
    }
  }
}

/** The raw screenshot counts once, the annotated one once more unless it is the same file (upstream rule). */
function screenshotCount(rec: SnapshotScreenshotInfo): number {
  let count = rec.screenshotPath !== undefined ? 1 : 0;
  if (rec.annotatedScreenshotPath !== undefined && rec.annotatedScreenshotPath !== rec.screenshotPath) count += 1;
  return count;
}
