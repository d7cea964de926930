// Failed shared-secret attempts per client IP, with OpenClaw's defaults:
// 10 failures within 60 s lock that IP out for 5 min; loopback is exempt, so a local CLI with a stale
// secret is never locked out (browser clients use a second limiter without that exemption, core.ts).
// Only wrong secrets count (a missing one is a configuration problem); a success clears the IP.
// Bounded: at most `maxEntries` IPs are tracked, locked ones evicted last.
import { isLoopbackAddress } from '../common/loopback.js';

export interface AuthRateLimitOptions {
  /** Failures within the window that trigger the lockout. Default 10. */
  maxAttempts?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Default 5 min. */
  lockoutMs?: number;
  /** Default true. */
  exemptLoopback?: boolean;
  /** Default 10 000. */
  maxEntries?: number;
}

interface Entry {
  /** Times of recent failures, oldest first, at most maxAttempts. */
  failures: number[];
  lockedUntil?: number;
}

export class AuthRateLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAttempts: number;
  private readonly windowMs: number;
  private readonly lockoutMs: number;
  private readonly exemptLoopback: boolean;
  private readonly maxEntries: number;

  constructor(
    options: AuthRateLimitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 10);
    this.windowMs = options.windowMs ?? 60_000;
    this.lockoutMs = options.lockoutMs ?? 300_000;
    this.exemptLoopback = options.exemptLoopback ?? true;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  }

  /** Milliseconds this IP must wait before its next attempt is checked; 0 when it may try now. */
  retryAfterMs(ip: string): number {
    const key = normalizeIp(ip);
    if (this.isExempt(key)) return 0;
    const entry = this.entries.get(key);
    if (entry?.lockedUntil === undefined) return 0;
    const left = entry.lockedUntil - this.now();
    if (left > 0) return left;
    this.entries.delete(key);
    return 0;
  }

  recordFailure(ip: string): void {
    const key = normalizeIp(ip);
    if (this.isExempt(key)) return;
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry?.lockedUntil !== undefined && entry.lockedUntil > now) return;
    if (!entry || entry.lockedUntil !== undefined) {
      entry = { failures: [] };
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.evictOverflow(now);
    }
    entry.failures = entry.failures.filter((at) => at > now - this.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.maxAttempts) {
      entry.lockedUntil = now + this.lockoutMs;
      entry.failures = [];
    }
  }

  reset(ip: string): void {
    this.entries.delete(normalizeIp(ip));
  }

  /** Tracked IPs (tests, diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  private isExempt(ip: string): boolean {
    return this.exemptLoopback && isLoopbackAddress(ip);
  }

  /** Drops the oldest entries that are not locked out (insertion order), then the oldest at all. */
  private evictOverflow(now: number): void {
    if (this.entries.size <= this.maxEntries) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries) return;
      if (entry.lockedUntil === undefined || entry.lockedUntil <= now) this.entries.delete(key);
    }
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

/** One key per client: IPv4-mapped IPv6 addresses count as their IPv4 address. */
export function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}
