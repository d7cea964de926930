// Delivery of node.invoke.result calls that must not be lost: a result produced while the Gateway
// connection is down waits here and goes out after the next hello-ok. The Gateway answers a result
// it no longer waits for with `ignored:true`; that result is then logged, not retried.
import { GatewayClientError } from '../client/errors.js';
import type { GatewayClient } from '../client/gateway-client.js';

export interface InvokeResultParams {
  id: string;
  nodeId: string;
  ok: boolean;
  payloadJSON?: string;
  error?: { code: string; message: string };
}

export type DeliveryOutcome = 'delivered' | 'ignored' | 'rejected' | 'dropped';

interface Entry {
  params: InvokeResultParams;
  queuedAtMs: number;
  sending: boolean;
  done: (outcome: DeliveryOutcome) => void;
}

export interface ResultOutboxOptions {
  /** Results kept while disconnected; the oldest beyond this are logged and dropped. */
  maxQueued?: number;
  /** A result older than this when the connection returns is logged and dropped. */
  maxAgeMs?: number;
  sendTimeoutMs?: number;
  log?: (message: string) => void;
}

export class ResultOutbox {
  private readonly queue: Entry[] = [];
  private readonly maxQueued: number;
  private readonly maxAgeMs: number;
  private readonly sendTimeoutMs: number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly client: GatewayClient,
    options: ResultOutboxOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 512;
    this.maxAgeMs = options.maxAgeMs ?? 30 * 60_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 15_000;
    this.log = options.log ?? (() => {});
  }

  get size(): number {
    return this.queue.length;
  }

  /** Queues a result and tries to send it now; resolves once its fate is known. */
  deliver(params: InvokeResultParams): Promise<DeliveryOutcome> {
    return new Promise<DeliveryOutcome>((resolve) => {
      const entry: Entry = { params, queuedAtMs: Date.now(), sending: false, done: resolve };
      this.queue.push(entry);
      while (this.queue.length > this.maxQueued) {
        const oldest = this.queue.shift()!;
        this.finish(
          oldest,
          'dropped',
          `outbox full: result of invoke ${oldest.params.id} dropped (ok=${oldest.params.ok})`,
        );
      }
      if (this.client.connected) void this.send(entry);
    });
  }

  /** Sends everything still queued; called after each hello-ok. */
  flush(): void {
    const now = Date.now();
    for (const entry of [...this.queue]) {
      if (entry.sending) continue;
      if (now - entry.queuedAtMs > this.maxAgeMs) {
        this.finish(
          entry,
          'dropped',
          `result of invoke ${entry.params.id} expired undelivered (ok=${entry.params.ok}, ${summarize(entry.params)})`,
        );
        continue;
      }
      void this.send(entry);
    }
  }

  private async send(entry: Entry): Promise<void> {
    entry.sending = true;
    try {
      const reply = await this.client.request<{ ok?: boolean; ignored?: boolean }>('node.invoke.result', entry.params, {
        timeoutMs: this.sendTimeoutMs,
      });
      if (reply?.ignored === true) {
        this.finish(
          entry,
          'ignored',
          `the Gateway no longer waits for invoke ${entry.params.id}; result logged: ok=${entry.params.ok} ${summarize(entry.params)}`,
        );
      } else {
        this.finish(entry, 'delivered');
      }
    } catch (err) {
      entry.sending = false;
      if (err instanceof GatewayClientError) return; // connection trouble: stays queued for the next hello-ok
      this.finish(
        entry,
        'rejected',
        `the Gateway rejected the result of invoke ${entry.params.id}: ${(err as Error).message}; result logged: ${summarize(entry.params)}`,
      );
    }
  }

  private finish(entry: Entry, outcome: DeliveryOutcome, message?: string): void {
    const index = this.queue.indexOf(entry);
    if (index >= 0) this.queue.splice(index, 1);
    if (message) this.log(message);
    entry.done(outcome);
  }
}

function summarize(params: InvokeResultParams): string {
  const text = params.ok ? (params.payloadJSON ?? '') : JSON.stringify(params.error ?? {});
  return text.length > 2_000 ? `${text.slice(0, 2_000)}… (${text.length} chars)` : text;
}
