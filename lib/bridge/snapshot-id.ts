// Snapshot ids in upstream Peekaboo's format, `<epoch ms>-<random 1000…9999>`
// (steipete/Peekaboo@43166110 InMemorySnapshotManager+Lifecycle.swift:9-11). Upstream draws the suffix once and
// stores the new entry under it, silently replacing any entry that already had that id: two creates in the same
// millisecond collide with probability 1/9000. A socket host must not hand one caller's id to another, so the
// format stays but the issuer never repeats an id: it skips suffixes already issued in that millisecond or
// already in use, and its millisecond never moves backwards (a clock stepped back cannot re-issue old ids).
import crypto from 'node:crypto';

export const SNAPSHOT_SUFFIX_MIN = 1000;
export const SNAPSHOT_SUFFIX_MAX = 9999;
const SUFFIX_SPAN = SNAPSHOT_SUFFIX_MAX - SNAPSHOT_SUFFIX_MIN + 1;
/** Random draws before falling back to a bounded linear probe (a nearly full millisecond, or a fixed source). */
const RANDOM_DRAWS = 4;

/** Returns an integer in 1000…9999. */
export type SnapshotSuffixSource = () => number;

export const randomSnapshotSuffix: SnapshotSuffixSource = () =>
  crypto.randomInt(SNAPSHOT_SUFFIX_MIN, SNAPSHOT_SUFFIX_MAX + 1);

export class SnapshotIdIssuer {
  private idMs = Number.NEGATIVE_INFINITY;
  /** Suffixes issued in `idMs`; at most 9000 numbers, cleared when the millisecond moves on. */
  private readonly issued = new Set<number>();

  constructor(private readonly suffix: SnapshotSuffixSource = randomSnapshotSuffix) {}

  /** A fresh id for time `nowMs`. `inUse` reports ids held by other means (e.g. a client's store call). */
  next(nowMs: number, inUse: (id: string) => boolean): string {
    const ms = Math.max(Math.floor(nowMs), this.idMs);
    if (ms !== this.idMs) this.moveTo(ms);
    for (;;) {
      const suffix = this.pick(inUse);
      if (suffix !== undefined) {
        this.issued.add(suffix);
        return `${this.idMs}-${suffix}`;
      }
      // All 9000 suffixes of this millisecond are taken: the next millisecond is still a truthful timestamp
      // format-wise and cannot collide with anything issued so far.
      this.moveTo(this.idMs + 1);
    }
  }

  private moveTo(ms: number): void {
    this.idMs = ms;
    this.issued.clear();
  }

  private pick(inUse: (id: string) => boolean): number | undefined {
    const free = (s: number): boolean => !this.issued.has(s) && !inUse(`${this.idMs}-${s}`);
    let first = SNAPSHOT_SUFFIX_MIN;
    for (let i = 0; i < RANDOM_DRAWS; i += 1) {
      const s = this.draw();
      if (i === 0) first = s;
      if (free(s)) return s;
    }
    for (let k = 1; k < SUFFIX_SPAN; k += 1) {
      const s = SNAPSHOT_SUFFIX_MIN + ((first - SNAPSHOT_SUFFIX_MIN + k) % SUFFIX_SPAN);
      if (free(s)) return s;
    }
    return undefined;
  }

  private draw(): number {
    const s = this.suffix();
    if (!Number.isInteger(s) || s < SNAPSHOT_SUFFIX_MIN || s > SNAPSHOT_SUFFIX_MAX) {
      throw new RangeError(
        `snapshot id suffix must be an integer in ${SNAPSHOT_SUFFIX_MIN}…${SNAPSHOT_SUFFIX_MAX}, got ${String(s)}`,
      );
    }
    return s;
  }
}
