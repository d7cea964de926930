// Same idempotency key → same result, and never a second execution while the first is in flight.
// Bounded by entry count and by the bytes of remembered results (oldest evicted first), and
// time-limited; transport failures are not remembered so that a retry can run. Settled values are
// kept beside their promise so that idempotency-store.ts can persist them across restarts.

export interface IdempotencyEntry<T> {
  fingerprint: string;
  result: Promise<T>;
  expiresAtMs: number;
  bytes: number;
  /** The settled value, once account() recorded it. */
  value?: T;
  /** Memo for the persistence layer (the entry's serialised form); opaque to the cache. */
  encoded?: string;
  /** While unsettled: the node request it waits for, so that a restart can pick it up again. */
  inflight?: InflightInvoke;
}

export interface InflightInvoke {
  nodeId: string;
  invokeId: string;
  command: string;
  /** When the original invoke times out; after that its outcome is no longer awaited. */
  deadlineMs: number;
}

export interface PersistableEntry<T> {
  key: string;
  entry: IdempotencyEntry<T>;
}

export interface IdempotencyCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  ttlMs?: number;
  now?: () => number;
  /** Called when the persistable entries changed (a result recorded, a dispatch marked, an entry removed). */
  onChange?: () => void;
}

export class IdempotencyCache<T> {
  private readonly entries = new Map<string, IdempotencyEntry<T>>();
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly onChange: () => void;
  private totalBytes = 0;

  constructor(options: IdempotencyCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 4096;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange ?? (() => {});
  }

  get(key: string): IdempotencyEntry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.now()) {
      this.remove(key, entry);
      return undefined;
    }
    return entry;
  }

  set(key: string, fingerprint: string, result: Promise<T>): void {
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    this.entries.set(key, { fingerprint, result, expiresAtMs: this.now() + this.ttlMs, bytes: 0 });
    this.evict();
  }

  /**
   * Records the size (and, when given, the value) of a settled result; a result larger than the
   * whole budget is not kept.
   */
  account(key: string, result: Promise<T>, bytes: number, value?: T): void {
    const entry = this.entries.get(key);
    if (!entry || entry.result !== result) return;
    if (bytes > this.maxBytes) {
      this.remove(key, entry);
      return;
    }
    this.totalBytes += bytes - entry.bytes;
    entry.bytes = bytes;
    if (value !== undefined) {
      entry.value = value;
      entry.inflight = undefined;
      entry.encoded = undefined;
      this.onChange();
    }
    this.evict();
  }

  /** Marks an unsettled entry as waiting for a node request (persisted, so a restart can resume it). */
  markInflight(key: string, result: Promise<T>, inflight: InflightInvoke): void {
    const entry = this.entries.get(key);
    if (!entry || entry.result !== result || entry.value !== undefined) return;
    entry.inflight = inflight;
    this.onChange();
  }

  /** Re-inserts a settled entry (from a previous run); ignored when expired or already present. */
  restore(key: string, fingerprint: string, value: T, expiresAtMs: number, bytes: number): boolean {
    if (expiresAtMs <= this.now() || this.entries.has(key) || bytes > this.maxBytes) return false;
    this.entries.set(key, { fingerprint, result: Promise.resolve(value), expiresAtMs, bytes, value });
    this.totalBytes += bytes;
    this.evict();
    return this.entries.has(key);
  }

  /** Re-inserts an entry whose invoke was in flight when a previous run stopped; `result` settles later. */
  restoreInflight(
    key: string,
    fingerprint: string,
    result: Promise<T>,
    expiresAtMs: number,
    inflight: InflightInvoke,
  ): boolean {
    if (expiresAtMs <= this.now() || inflight.deadlineMs <= this.now() || this.entries.has(key)) return false;
    this.entries.set(key, { fingerprint, result, expiresAtMs, bytes: 0, inflight });
    this.evict();
    return this.entries.has(key);
  }

  delete(key: string, result: Promise<T>): void {
    const entry = this.entries.get(key);
    if (entry?.result !== result) return;
    this.remove(key, entry);
    if (entry.value !== undefined || entry.inflight !== undefined) this.onChange();
  }

  /** Unexpired entries with a recorded value or an awaited node request, oldest first. */
  persistable(): PersistableEntry<T>[] {
    const now = this.now();
    const out: PersistableEntry<T>[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.expiresAtMs <= now) continue;
      if (entry.value !== undefined || (entry.inflight !== undefined && entry.inflight.deadlineMs > now))
        out.push({ key, entry });
    }
    return out;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  private remove(key: string, entry: IdempotencyEntry<T>): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.totalBytes <= this.maxBytes) break;
      this.remove(key, entry);
    }
  }
}
