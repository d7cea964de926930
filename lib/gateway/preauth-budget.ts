// Unauthenticated sockets per peer (spec §1: 32 per IP). Upstream refuses the 33rd with HTTP 503, which
// lets one local process that parks 32 idle sockets lock every other local client out (issue 7 item 13).
// Here the newcomer is always admitted and, at the cap, the OLDEST unauthenticated socket of the same
// peer is closed instead: idle sockets age out under pressure, a client that completes its handshake is
// never counted again. (Telling loopback peers apart by uid was measured and dropped: reading
// /proc/net/tcp cost 17 ms per lookup on the dev VM, a CPU amplifier for the very flood it would judge.)

/** Bookkeeping of pre-auth sockets per key, oldest first. Generic so that tests need no sockets. */
export class PreauthBudget<C> {
  private readonly byKey = new Map<string, Set<C>>();

  constructor(readonly maxPerKey: number) {}

  /** Counts `conn` under `key`; returns the oldest connection of that key to close when over the cap. */
  admit(key: string, conn: C): C | undefined {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(conn);
    if (set.size <= this.maxPerKey) return undefined;
    const oldest = set.values().next().value as C;
    set.delete(oldest);
    return oldest;
  }

  /** Forgets `conn` (handshake done, or closed); idempotent. */
  release(key: string, conn: C): void {
    const set = this.byKey.get(key);
    if (!set?.delete(conn)) return;
    if (set.size === 0) this.byKey.delete(key);
  }

  count(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }
}
