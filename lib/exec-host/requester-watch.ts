// Notices when the client of a pending request is gone, so that its prompt is withdrawn, its place in the
// run queue given up and its running command killed. Clients half-close after their one line
// (socket.end), so EOF means nothing; the kernel's view of the peer does (lib/native/socket-state.ts),
// checked for every watched socket on one shared timer.
import type net from 'node:net';

import { socketPeerGone } from '../native/socket-state.js';

export const DEFAULT_WATCH_INTERVAL_MS = 200;

export interface RequesterWatch {
  /** Aborts once the requester is gone (peer closed, socket error or destroyed). */
  readonly signal: AbortSignal;
  /** Stops watching (the answer was sent). */
  stop(): void;
}

export class RequesterWatcher {
  private readonly watched = new Map<net.Socket, AbortController>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = DEFAULT_WATCH_INTERVAL_MS) {}

  get size(): number {
    return this.watched.size;
  }

  watch(socket: net.Socket): RequesterWatch {
    const controller = new AbortController();
    const gone = (): void => this.mark(socket, controller);
    socket.once('close', gone);
    this.watched.set(socket, controller);
    if (socket.destroyed) gone();
    this.timer ??= setInterval(() => this.poll(), this.intervalMs).unref();
    return {
      signal: controller.signal,
      stop: () => {
        socket.off('close', gone);
        this.forget(socket);
      },
    };
  }

  close(): void {
    for (const controller of this.watched.values()) controller.abort();
    this.watched.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    for (const [socket, controller] of this.watched) {
      if (socketPeerGone(socket) === true) this.mark(socket, controller);
    }
  }

  private mark(socket: net.Socket, controller: AbortController): void {
    this.forget(socket);
    controller.abort();
    socket.destroy();
  }

  private forget(socket: net.Socket): void {
    this.watched.delete(socket);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
