// An in-process pair of WebSocket-shaped endpoints: `up` runs the Gateway and its own node host in one
// process, and this carries their frames without TCP and WebSocket framing. Each side is handed to the
// code that would otherwise hold a `ws` WebSocket (the Gateway's connection, the Gateway client), so the
// handshake, auth, pairing, invoke, result and event paths are the very same; only the bytes do not travel.
// Semantics kept from `ws`: text frames in order per direction, delivered on a later tick (never inside
// the sender's call), the receiver's maxPayload (close 1009), close codes and reasons on both sides,
// terminate as 1006, send callbacks with an error once the link is closed.
import { EventEmitter } from 'node:events';

/** ws's readyState numbers (code compares against WebSocket.OPEN etc.). */
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** ws's close codes for an abnormal drop and an oversized message. */
const ABNORMAL_CLOSE = 1006;
const MESSAGE_TOO_BIG = 1009;

/** Stand-in for the net.Socket under a Gateway connection: sees each frame's bytes first and may pause. */
export class LinkTransport extends EventEmitter {
  paused = false;
  constructor(
    readonly remoteAddress: string,
    readonly localPort: number,
  ) {
    super();
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  destroy(): void {
    this.emit('close');
  }
}

export interface LinkEndOptions {
  /** Largest message this end accepts (bytes); a larger one closes the link 1009, as ws does. */
  maxPayload: number;
  /** Gets each incoming frame's bytes before the message (the Gateway's pre-auth budget counts them). */
  transport?: LinkTransport;
}

/** One end of the link, with the part of ws.WebSocket's surface the Gateway and its client use. */
export class LinkEnd extends EventEmitter {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;
  readyState = OPEN;
  /** Bytes sent and not yet delivered to the peer (ws: not yet written to the socket). */
  bufferedAmount = 0;
  private peer!: LinkEnd;
  /** Deliveries and the close still due on this end, in order. */
  private readonly pending: Array<() => void> = [];
  /** Set when this end refused an oversized message: nothing after it is read, as ws stops reading. */
  private refusing = false;

  constructor(private readonly options: LinkEndOptions) {
    super();
  }

  /** Two connected ends. */
  static pair(a: LinkEndOptions, b: LinkEndOptions): [LinkEnd, LinkEnd] {
    const left = new LinkEnd(a);
    const right = new LinkEnd(b);
    left.peer = right;
    right.peer = left;
    return [left, right];
  }

  send(text: string, callback?: (err?: Error) => void): void {
    if (this.readyState !== OPEN) {
      const err = new Error(`WebSocket is not open: readyState ${this.readyState}`);
      if (callback) queueMicrotask(() => callback(err));
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    this.bufferedAmount += bytes.length;
    this.peer.receive(bytes, this, callback);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === CLOSED || this.readyState === CLOSING) return;
    this.readyState = CLOSING;
    this.peer.readyState = CLOSING;
    // After every frame already sent this way (a close frame follows the data before it).
    this.peer.enqueue(() => this.finish(code, reason));
  }

  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    this.peer.readyState = CLOSING;
    setImmediate(() => this.finish(ABNORMAL_CLOSE, ''));
  }

  private finish(code: number, reason: string): void {
    for (const end of [this, this.peer]) {
      if (end.readyState === CLOSED) continue;
      end.readyState = CLOSED;
      end.emit('close', code, Buffer.from(reason, 'utf8'));
      end.options.transport?.emit('close');
    }
  }

  /**
   * Runs `step` after what is queued for this end (FIFO), in a macrotask of its own as a socket read
   * would: never inside the sender's call, and the promise callbacks of one frame (a rejected connect)
   * run before the next frame or the close is seen.
   */
  private enqueue(step: () => void): void {
    this.pending.push(step);
    setImmediate(() => this.pending.shift()?.());
  }

  private receive(bytes: Buffer, from: LinkEnd, callback?: (err?: Error) => void): void {
    this.enqueue(() => {
      from.bufferedAmount -= bytes.length;
      // Frames sent before a close still arrive (ws delivers data ahead of the close frame).
      if (this.readyState === CLOSED || this.refusing) {
        callback?.(new Error('WebSocket is not open'));
        return;
      }
      callback?.();
      const transport = this.options.transport;
      if (transport) {
        transport.emit('data', bytes);
        if (transport.paused || this.readyState === CLOSED) return;
      }
      if (bytes.length > this.options.maxPayload) {
        this.refusing = true;
        this.close(MESSAGE_TOO_BIG, 'Max payload size exceeded');
        return;
      }
      this.emit('message', bytes, false);
    });
  }
}
