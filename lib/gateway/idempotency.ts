// Same idempotency key → same result, and never a second execution while the first is in flight.
// Bounded by entry count and by the bytes of remembered results (oldest evicted first), and
// time-limited; transport failures are not remembered so that a retry can run.

export interface IdempotencyEntry<T> {
  fingerprint: string;
  result: Promise<T>;
  expiresAtMs: number;
  bytes: number;
}

export interface IdempotencyCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  ttlMs?: number;
  now?: () => number;
}

export class IdempotencyCache<T> {
  private readonly entries = new Map<string, IdempotencyEntry<T>>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private totalBytes = 0;

  constructor(options: IdempotencyCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 4096;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
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

  /** Records the size of a settled result; a result larger than the whole budget is not kept. */
  account(key: string, result: Promise<T>, bytes: number): void {
    const entry = this.entries.get(key);
    if (!entry || entry.result !== result) return;
    if (bytes > this.maxBytes) {
      this.remove(key, entry);
      return;
    }
    this.totalBytes += bytes - entry.bytes;
    entry.bytes = bytes;
    this.evict();
  }

  delete(key: string, result: Promise<T>): void {
    const entry = this.entries.get(key);
    if (entry?.result === result) this.remove(key, entry);
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
