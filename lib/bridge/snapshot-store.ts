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
  createdAt: number;
  lastAccessedAt: number;
  detection?: unknown;
}

export interface SnapshotStoreOptions {
  validityMs?: number;
  maxSnapshots?: number;
  now?: () => number;
}

export class SnapshotStore {
  private readonly records = new Map<string, SnapshotRecord>();
  private readonly validityMs: number;
  private readonly maxSnapshots: number;
  private readonly now: () => number;

  constructor(opts: SnapshotStoreOptions = {}) {
    this.validityMs = opts.validityMs ?? 600_000;
    this.maxSnapshots = opts.maxSnapshots ?? 50;
    this.now = opts.now ?? Date.now;
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
    this.records.set(id, { id, createdAt: now, lastAccessedAt: now });
    return id;
  }

  has(id: string): boolean {
    return this.lookup(id) !== undefined;
  }

  storeDetection(id: string, result: unknown): boolean {
    const rec = this.lookup(id);
    if (!rec) return false;
    rec.detection = result;
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
