// Invokes that were in flight when a previous Gateway run stopped. Their node may still deliver the
// result after reconnecting to this run (a node host keeps undelivered results in its outbox); until
// the original deadline that result settles the idempotency entry, so a retry with the same key
// gets it instead of running the command a second time.
import type { InflightInvoke } from './idempotency.js';
import type { InvokeOutcome } from './node-registry.js';

interface Resumed {
  settle: (outcome: InvokeOutcome | undefined) => void;
  timer: NodeJS.Timeout;
}

export class ResumedInvokes {
  private readonly pending = new Map<string, Resumed>();

  constructor(private readonly now: () => number = Date.now) {}

  /** `settle` gets the node's outcome, or undefined once the deadline passed without one. */
  add(inflight: InflightInvoke, settle: (outcome: InvokeOutcome | undefined) => void): void {
    const id = key(inflight.nodeId, inflight.invokeId);
    const timer = setTimeout(
      () => {
        this.pending.delete(id);
        settle(undefined);
      },
      Math.max(0, inflight.deadlineMs - this.now()),
    );
    timer.unref();
    this.pending.set(id, { settle, timer });
  }

  /** Applies a `node.invoke.result` for a resumed invoke; false when the id is not one. */
  complete(nodeId: string, invokeId: string, outcome: InvokeOutcome): boolean {
    const id = key(nodeId, invokeId);
    const resumed = this.pending.get(id);
    if (!resumed) return false;
    this.pending.delete(id);
    clearTimeout(resumed.timer);
    resumed.settle(outcome);
    return true;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Stops waiting; the entries stay persisted as in flight for the next run. */
  close(): void {
    for (const resumed of this.pending.values()) clearTimeout(resumed.timer);
    this.pending.clear();
  }
}

const key = (nodeId: string, invokeId: string): string => `${nodeId}\u0000${invokeId}`;
