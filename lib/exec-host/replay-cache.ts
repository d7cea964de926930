// Nonces seen within the TTL window. A request whose nonce is here is a replay. Bounded: when full,
// new requests are refused (fail closed) until old entries expire, rather than forgetting nonces.
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    /** How long a nonce is remembered: at least the full ts acceptance window (2 × TTL). */
    readonly windowMs: number,
    readonly maxEntries = 100_000,
  ) {}

  /** Records the nonce; false when it was already seen (replay) or the cache is full. */
  remember(nonce: string, nowMs = Date.now()): 'ok' | 'replay' | 'full' {
    this.prune(nowMs);
    if (this.seen.has(nonce)) return 'replay';
    if (this.seen.size >= this.maxEntries) return 'full';
    this.seen.set(nonce, nowMs + this.windowMs);
    return 'ok';
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(nowMs: number): void {
    // Insertion order equals expiry order (constant window), so stop at the first live entry.
    for (const [nonce, expires] of this.seen) {
      if (expires > nowMs) break;
      this.seen.delete(nonce);
    }
  }
}
