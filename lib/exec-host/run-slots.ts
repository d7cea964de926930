// Who may run how much at once on the exec host. A fixed number of run slots is shared by every client;
// one client process (kernel-verified pid) may hold only part of them. A request that cannot start yet
// waits a bounded time; a freed slot goes to the oldest waiter whose client is under its share, so one
// busy client cannot keep the others waiting. Whoever is still waiting at the deadline gets a typed
// "busy" answer: never silence. A waiter whose requester leaves is dropped from the queue.

export const DEFAULT_MAX_CONCURRENT_RUNS = 8;
/** How long an allowed request may wait for a slot before it is answered "busy". */
export const DEFAULT_RUN_QUEUE_WAIT_MS = 5_000;
/** Timeout of a run whose request names none: no request holds a run slot forever. */
export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60_000;
/** Upper bound of any run's timeout; a request asking for more gets this. */
export const MAX_RUN_TIMEOUT_MS = 60 * 60_000;

/** `peer-limit`: its client held its whole share for the whole wait; `queue-timeout`: every slot did. */
export type SlotRefusal = 'peer-limit' | 'queue-timeout' | 'withdrawn';

export interface RunSlotsOptions {
  /** Runs at once, all clients together. Default 8. */
  maxConcurrent?: number;
  /** Runs at once for one client process. Default half of maxConcurrent, at least 1. */
  maxPerPeer?: number;
  /** Longest wait for a slot. Default 5 s. */
  queueWaitMs?: number;
}

interface Waiter {
  peer: string;
  grant: () => void;
}

export class RunSlots {
  readonly maxConcurrent: number;
  readonly maxPerPeer: number;
  readonly queueWaitMs: number;
  private active = 0;
  private readonly waiting: Waiter[] = [];
  /** Running slots per client process. */
  private readonly perPeer = new Map<string, number>();

  constructor(options: RunSlotsOptions = {}) {
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_RUNS);
    this.maxPerPeer = Math.max(1, options.maxPerPeer ?? Math.floor(this.maxConcurrent / 2));
    this.queueWaitMs = options.queueWaitMs ?? DEFAULT_RUN_QUEUE_WAIT_MS;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Slots `peer` runs in now. */
  runningFor(peer: string): number {
    return this.perPeer.get(peer) ?? 0;
  }

  /**
   * A slot for `peer`, or why not. The returned release() must be called once when the run ends.
   * `gone` aborting (the requester left) withdraws a waiting request. `waitMs` (default queueWaitMs) bounds
   * the wait, for a caller that knows its client's deadline is nearer.
   */
  acquire(
    peer: string,
    gone: AbortSignal,
    waitMs = this.queueWaitMs,
  ): Promise<{ release: () => void } | { refused: SlotRefusal }> {
    if (gone.aborted) return Promise.resolve({ refused: 'withdrawn' });
    return new Promise((resolve) => {
      const waiter: Waiter = {
        peer,
        grant: () => {
          cleanup();
          resolve({ release: this.releaser(peer) });
        },
      };
      const leave = (why: SlotRefusal): void => {
        const index = this.waiting.indexOf(waiter);
        if (index === -1) return; // granted in the meantime
        this.waiting.splice(index, 1);
        cleanup();
        resolve({ refused: why });
      };
      const timer = setTimeout(
        () => leave(this.runningFor(peer) >= this.maxPerPeer ? 'peer-limit' : 'queue-timeout'),
        Math.min(waitMs, this.queueWaitMs),
      );
      const onGone = (): void => leave('withdrawn');
      const cleanup = (): void => {
        clearTimeout(timer);
        gone.removeEventListener('abort', onGone);
      };
      gone.addEventListener('abort', onGone, { once: true });
      this.waiting.push(waiter);
      this.dispatch();
    });
  }

  /** Starts the oldest waiters whose client is under its share, while slots are free. */
  private dispatch(): void {
    for (let i = 0; i < this.waiting.length && this.active < this.maxConcurrent;) {
      const waiter = this.waiting[i]!;
      if (this.runningFor(waiter.peer) >= this.maxPerPeer) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.active++;
      this.perPeer.set(waiter.peer, this.runningFor(waiter.peer) + 1);
      waiter.grant();
    }
  }

  private releaser(peer: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      const left = this.runningFor(peer) - 1;
      if (left <= 0) this.perPeer.delete(peer);
      else this.perPeer.set(peer, left);
      this.dispatch();
    };
  }
}
