// One WebSocket client of the gateway: identity after the handshake, bounded sending, and the
// pre-auth byte budget enforced on the raw socket before `ws` buffers a whole oversized message.
import crypto from 'node:crypto';
import type net from 'node:net';

import type WebSocket from 'ws';

import { CLOSE_REASON_MAX_BYTES, CloseCode, PREAUTH_MAX_PAYLOAD_BYTES, type Role } from '../protocol/constants.js';
import { truncateCloseReason, type ErrorShape } from '../protocol/errors.js';
import type { ConnectParams } from '../protocol/frames.js';

/** WebSocket frame header overhead allowed on top of the payload budget (max header is 14 bytes). */
const FRAME_HEADER_SLACK = 14;
/** After a close frame, how long we wait for the peer before dropping the TCP connection. */
const CLOSE_GRACE_MS = 1000;

export type ConnectionState = 'preauth' | 'ready' | 'closed';

export interface ConnectionOptions {
  preauthMaxBytes?: number;
  maxBufferedBytes: number;
  isLocal: boolean;
  /** The upgrade carried an Origin (a browser): rate-limited even on loopback. */
  browser?: boolean;
  /** A browser page of this Gateway's own origin on this machine's loopback (may auto-pair as the Control UI). */
  localControlPage?: boolean;
  remoteAddress: string;
}

export class GatewayConnection {
  readonly connId = crypto.randomUUID();
  readonly nonce = crypto.randomUUID();
  readonly isLocal: boolean;
  readonly browser: boolean;
  readonly localControlPage: boolean;
  readonly remoteAddress: string;
  state: ConnectionState = 'preauth';
  role: Role = 'operator';
  scopes: string[] = [];
  protocol = 0;
  deviceId?: string;
  connect?: ConnectParams;
  /** How the handshake authenticated; set when the connection became ready. */
  authMethod?: 'none' | 'token' | 'password' | 'device-token';
  /** The shared-secret generation a token/password connection proved (closed 4001 when it changes). */
  sharedAuthGeneration?: string;
  /** Consecutive `unauthorized role:` answers (flood guard). */
  unauthorizedStreak = 0;
  private preauthBytes = 0;
  private readonly preauthMaxBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly onRawData = (chunk: Buffer): void => this.countPreauth(chunk.length);

  constructor(
    readonly ws: WebSocket,
    readonly socket: net.Socket,
    options: ConnectionOptions,
  ) {
    this.isLocal = options.isLocal;
    this.browser = options.browser ?? false;
    this.localControlPage = options.localControlPage ?? false;
    this.remoteAddress = options.remoteAddress;
    this.preauthMaxBytes = options.preauthMaxBytes ?? PREAUTH_MAX_PAYLOAD_BYTES;
    this.maxBufferedBytes = options.maxBufferedBytes;
    // Ahead of ws's own listener, so an oversized chunk is seen before ws parses it.
    socket.prependListener('data', this.onRawData);
  }

  /** The handshake succeeded: lift the pre-auth byte budget (the post-auth cap is ws's maxPayload). */
  markReady(): void {
    this.state = 'ready';
    this.socket.off('data', this.onRawData);
  }

  sendText(text: string): boolean {
    if (this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount + text.length > this.maxBufferedBytes) {
      this.close(CloseCode.policyViolation, 'slow consumer');
      return false;
    }
    this.ws.send(text);
    return true;
  }

  /**
   * Serialises and sends. A value that does not serialise (a cycle, a BigInt, nesting past the stack)
   * becomes an error answer for a response and is dropped otherwise; it never throws into the caller.
   */
  sendFrame(frame: object): boolean {
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (err) {
      const res = frame as { type?: unknown; id?: unknown };
      if (res.type !== 'res' || typeof res.id !== 'string') return false;
      const message = `internal error: response not serialisable (${(err as Error).message})`;
      text = JSON.stringify({ type: 'res', id: res.id, ok: false, error: { code: 'UNAVAILABLE', message } });
    }
    return this.sendText(text);
  }

  sendEvent(event: string, payload?: unknown, seq?: number): boolean {
    const frame: Record<string, unknown> = { type: 'event', event };
    if (payload !== undefined) frame.payload = payload;
    if (seq !== undefined) frame.seq = seq;
    return this.sendFrame(frame);
  }

  respondOk(id: string, payload?: unknown): boolean {
    return this.sendFrame(
      payload === undefined ? { type: 'res', id, ok: true } : { type: 'res', id, ok: true, payload },
    );
  }

  respondError(id: string, error: ErrorShape): boolean {
    return this.sendFrame({ type: 'res', id, ok: false, error });
  }

  /** Sends a close frame (reason cut to 120 bytes) and drops the socket if the peer does not answer. */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.off('data', this.onRawData);
    try {
      this.ws.close(code, truncateCloseReason(reason, CLOSE_REASON_MAX_BYTES));
    } catch {
      this.ws.terminate();
      return;
    }
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  private countPreauth(bytes: number): void {
    if (this.state !== 'preauth') return;
    this.preauthBytes += bytes;
    if (this.preauthBytes > this.preauthMaxBytes + FRAME_HEADER_SLACK) {
      // Stop reading: the rest of the oversized message is never buffered.
      this.socket.pause();
      this.close(CloseCode.tooLarge, 'preauth payload too large');
    }
  }
}
