// Same idempotency key → same result, and never a second execution while the first is in flight.
// Bounded (LRU by insertion) and time-limited; transport failures are not remembered so a retry can run.

export interface IdempotencyEntry<T> {
  fingerprint: string;
  result: Promise<T>;
  expiresAtMs: number;
}

export class IdempotencyCache<T> {
  private readonly entries = new Map<string, IdempotencyEntry<T>>();

  constructor(private readonly maxEntries = 4096, private readonly ttlMs = 10 * 60_000, private readonly now: () => number = Date.now) {}

  get(key: string): IdempotencyEntry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, fingerprint: string, result: Promise<T>): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { fingerprint, result, expiresAtMs: this.now() + this.ttlMs });
  }

  delete(key: string, result: Promise<T>): void {
    if (this.entries.get(key)?.result === result) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
