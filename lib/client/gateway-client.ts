// A reusable Gateway WebSocket client: connect.challenge → signed `connect` → hello-ok, then
// request/response correlation with deadlines, server events, a tick watchdog and reconnect with
// exponential backoff and jitter. Used by the node host (role "node") and the operator CLI.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

import WebSocket from 'ws';

import { parseBoundedJson } from '../common/bounded-json.js';
import { GatewayClientError, GatewayRequestError, type GatewayErrorShape } from './errors.js';
import { CloseCode, MAX_CLIENT_FRAME_JSON_DEPTH } from '../protocol/constants.js';
import { signConnectDevice, type DeviceIdentity } from '../protocol/device-auth.js';
import type { LinkEnd } from '../protocol/link.js';
import {
  validateChallengePayload,
  validateEventFrame,
  validateHelloOk,
  validateResponseFrame,
  type EventFrame,
  type HelloOk,
  type ResponseFrame,
} from '../protocol/frames.js';
import { loadDeviceToken, storeDeviceToken } from './identity.js';
import { describeTlsFailure, tlsClientOptions } from './tls-pin.js';

export const CLIENT_MIN_PROTOCOL = 3;
export const CLIENT_MAX_PROTOCOL = 4;
const DEFAULT_MAX_PAYLOAD = 25 * 1024 * 1024;
const DEFAULT_TICK_INTERVAL_MS = 30_000;

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** `connect.params.client`. `id` and `mode` are closed enums on the Gateway side. */
export interface ClientInfo {
  id: string;
  mode: string;
  version: string;
  platform: string;
  displayName?: string;
  deviceFamily?: string;
  modelIdentifier?: string;
  instanceId?: string;
}

export interface GatewayClientOptions {
  /** ws://host:port/ or wss://host:port/ */
  url: string;
  /**
   * SHA-256 fingerprint the wss:// Gateway's certificate must have (64 hex digits; colons allowed). It is
   * checked before the upgrade request is sent: a mismatch (ERR_GATEWAY_TLS_PIN_MISMATCH) sends nothing.
   */
  tlsFingerprint?: string;
  role: 'operator' | 'node';
  client: ClientInfo;
  /** Shared Gateway token (sent as auth.token; wins over a stored device token). */
  token?: string;
  /** Gateway password for a password-mode Gateway (sent as auth.password; wins over a stored device token). */
  password?: string;
  /**
   * Where the shared secret comes from, asked before every connect attempt (instead of token/password).
   * After the Gateway closes with 4001 "gateway auth changed" the reconnect presents the secret read anew.
   * With literal token/password only, a 4001 stops the client with ERR_GATEWAY_AUTH_CHANGED instead.
   */
  credentials?: () => GatewayCredentials;
  scopes?: string[];
  caps?: string[];
  commands?: string[];
  permissions?: Record<string, boolean>;
  pathEnv?: string;
  /** Signs the connect; nodes must have one. Operators on loopback may go without. */
  identity?: DeviceIdentity;
  /** Where device tokens from hello-ok are kept (identity/device-auth.json). */
  stateDir?: string;
  /** Reconnect after a drop (and retry a failed first connect). Off: one attempt, then errors. */
  reconnect?: boolean | ReconnectOptions;
  /** Deadline for challenge + hello-ok of one attempt. */
  connectTimeoutMs?: number;
  /** Default deadline of request(). */
  requestTimeoutMs?: number;
  maxPayload?: number;
  /**
   * Opens an in-process link to a Gateway in this process instead of a WebSocket to `url` (GatewayHandle
   * openInProcessLink; `up`'s own node host). Everything above the transport is unchanged: challenge,
   * signed connect, reconnects, requests, ticks. `url` then only names the Gateway in messages.
   */
  link?: (maxPayload: number) => LinkEnd;
  log?: (message: string) => void;
}

export interface GatewayCredentials {
  token?: string;
  password?: string;
}

// One definition per wire type: the schemas the Gateway sends with (lib/protocol/frames.ts) check what arrives.
export type { EventFrame, HelloOk } from '../protocol/frames.js';

export interface RequestOptions {
  timeoutMs?: number;
  /**
   * Two-phase requests (exec.approval.request with twoPhase): the first answer
   * `{status:"accepted"}` goes to this callback and the promise waits for the final answer.
   */
  onAccepted?: (payload: Record<string, unknown>) => void;
}

interface PendingRequest {
  method: string;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  onAccepted?: (payload: Record<string, unknown>) => void;
}

export interface GatewayClientEvents {
  hello: [HelloOk];
  event: [EventFrame];
  /** `error` is set when the client gave up (ERR_GATEWAY_AUTH_CHANGED: a literal secret the Gateway rotated away). */
  disconnect: [{ code: number; reason: string; willReconnect: boolean; error?: GatewayClientError }];
}

type Fatal = GatewayClientError | GatewayRequestError;

/** Connect failures that retrying cannot fix without a config change. */
function isFatalConnectError(err: unknown): boolean {
  if (err instanceof GatewayClientError) return err.code.startsWith('ERR_GATEWAY_TLS_');
  if (!(err instanceof GatewayRequestError)) return false;
  const detail = err.detailCode ?? '';
  if (detail === 'PAIRING_REQUIRED') return false; // an operator may approve meanwhile
  if (detail === 'AUTH_RATE_LIMITED') return false; // someone else's failures locked this IP out; it expires
  return err.code === 'INVALID_REQUEST';
}

/** One connection attempt: its socket, whether it has settled (hello-ok or failure) and its connect deadline. */
interface ConnectAttempt {
  readonly ws: WebSocket;
  settled: boolean;
  helloReached: boolean;
  readonly deadline: ReturnType<typeof setTimeout>;
}

export class GatewayClient extends EventEmitter<GatewayClientEvents> {
  readonly options: GatewayClientOptions;
  private ws: WebSocket | undefined;
  private hello: HelloOk | undefined;
  private readonly pending = new Map<string, PendingRequest>();
  private counter = 0;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastFrameAtMs = 0;
  private firstHello: { resolve: (h: HelloOk) => void; reject: (e: Error) => void } | undefined;
  private readonly log: (message: string) => void;

  constructor(options: GatewayClientOptions) {
    super();
    if (options.role === 'node' && !options.identity) {
      throw new GatewayClientError('ERR_GATEWAY_IDENTITY_REQUIRED', 'a node connection needs a device identity');
    }
    tlsClientOptions(options.url, options.tlsFingerprint); // a bad pin or a pin on ws:// fails here, typed
    this.options = options;
    this.log = options.log ?? (() => {});
  }

  get connected(): boolean {
    return this.hello !== undefined && this.ws?.readyState === WebSocket.OPEN;
  }

  get helloOk(): HelloOk | undefined {
    return this.hello;
  }

  /**
   * Connects. Resolves with the first hello-ok. With reconnect on, transient failures
   * (refused, dropped, timed out) are retried with backoff; a rejected connect (bad token,
   * protocol mismatch, bad signature) rejects at once.
   */
  start(): Promise<HelloOk> {
    if (this.firstHello) throw new GatewayClientError('ERR_GATEWAY_STARTED', 'start() was already called');
    this.stopped = false;
    return new Promise<HelloOk>((resolve, reject) => {
      this.firstHello = { resolve, reject };
      this.connectOnce();
    });
  }

  /** Sends a request and resolves with its payload; GatewayRequestError on `ok:false`. */
  request<T = unknown>(method: string, params?: unknown, options: RequestOptions = {}): Promise<T> {
    const ws = this.ws;
    if (!ws || !this.hello || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(
        new GatewayClientError('ERR_GATEWAY_NOT_CONNECTED', `cannot call ${method}: not connected to the Gateway`),
      );
    }
    return this.sendRequest<T>(ws, method, params, options);
  }

  /** Stops reconnecting, fails pending requests, closes the socket. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stopTickWatch();
    const ws = this.ws;
    if (this.firstHello) {
      this.firstHello.reject(new GatewayClientError('ERR_GATEWAY_CLOSED', 'client closed before connecting'));
      this.firstHello = undefined;
    }
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2_000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closing');
    });
  }

  private nextId(): string {
    this.counter += 1;
    return `${this.counter}:${crypto.randomUUID()}`;
  }

  private sendRequest<T>(ws: WebSocket, method: string, params: unknown, options: RequestOptions): Promise<T> {
    const id = this.nextId();
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new GatewayClientError('ERR_GATEWAY_TIMEOUT', `${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: resolve as (p: unknown) => void,
        reject,
        timer,
        onAccepted: options.onAccepted,
      });
      const frame: Record<string, unknown> = { type: 'req', id, method };
      if (params !== undefined) frame.params = params;
      ws.send(JSON.stringify(frame), (err) => {
        if (!err) return;
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        reject(new GatewayClientError('ERR_GATEWAY_SEND', `${method}: send failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Opens one attempt's socket: the injected link end, or a real WebSocket to `url`. */
  private openSocket(): WebSocket {
    const opts = this.options;
    const maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    // A link end has the part of ws.WebSocket's surface this client uses (protocol/link.ts).
    return opts.link
      ? (opts.link(maxPayload) as unknown as WebSocket)
      : new WebSocket(opts.url, {
          ...tlsClientOptions(opts.url, opts.tlsFingerprint),
          perMessageDeflate: false,
          maxPayload,
          handshakeTimeout: opts.connectTimeoutMs ?? 10_000,
        });
  }

  private connectOnce(): void {
    if (this.stopped) return;
    const opts = this.options;
    const ws = this.openSocket();
    this.ws = ws;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const attempt: ConnectAttempt = {
      ws,
      settled: false,
      helloReached: false,
      deadline: setTimeout(
        () =>
          this.failAttempt(
            attempt,
            new GatewayClientError(
              'ERR_GATEWAY_CONNECT_TIMEOUT',
              `no hello-ok from ${opts.url} within ${connectTimeoutMs} ms`,
            ),
            1008,
            'connect challenge timeout',
          ),
        connectTimeoutMs,
      ),
    };
    ws.on('message', (data, isBinary) => this.onAttemptMessage(attempt, data, isBinary));
    ws.on('error', (err) => {
      this.failAttempt(
        attempt,
        describeTlsFailure(opts.url, err) ??
          new GatewayClientError('ERR_GATEWAY_UNREACHABLE', `cannot reach the Gateway at ${opts.url}: ${err.message}`, {
            cause: err,
          }),
      );
    });
    ws.on('close', (code, reasonBuf) => this.onAttemptClose(attempt, code, reasonBuf.toString()));
  }

  /** Ends an attempt that has not settled yet: the deadline goes, the socket closes, a retry is scheduled. */
  private failAttempt(attempt: ConnectAttempt, err: Error, code?: number, reason?: string): void {
    if (attempt.settled) return;
    attempt.settled = true;
    clearTimeout(attempt.deadline);
    this.onAttemptFailed(err);
    const ws = attempt.ws;
    if (ws.readyState === WebSocket.OPEN && code !== undefined) ws.close(code, reason);
    else ws.terminate();
  }

  private onAttemptMessage(attempt: ConnectAttempt, data: WebSocket.RawData, isBinary: boolean): void {
    this.lastFrameAtMs = Date.now();
    const frame = parseFrame(data, isBinary);
    if (!frame) {
      this.log('gateway sent a malformed frame; ignored');
      return;
    }
    if (!attempt.settled && frame.type === 'event' && frame.event === 'connect.challenge') {
      this.answerChallenge(attempt, frame.payload);
      return;
    }
    this.dispatch(frame);
  }

  /** connect.challenge → signed `connect`; hello-ok settles the attempt, anything else fails it. */
  private answerChallenge(attempt: ConnectAttempt, payload: unknown): void {
    if (!validateChallengePayload.check(payload)) {
      this.failAttempt(
        attempt,
        new GatewayClientError('ERR_GATEWAY_CHALLENGE', 'connect challenge without a nonce'),
        1008,
        'connect challenge missing nonce',
      );
      return;
    }
    this.sendConnect(attempt.ws, payload.nonce).then(
      (hello) => {
        if (attempt.settled) return;
        attempt.settled = true;
        attempt.helloReached = true;
        clearTimeout(attempt.deadline);
        this.onHello(attempt.ws, hello);
      },
      (err: Error) => this.failAttempt(attempt, err, 1000, 'connect failed'),
    );
  }

  private onAttemptClose(attempt: ConnectAttempt, code: number, reason: string): void {
    if (!attempt.settled) {
      this.failAttempt(
        attempt,
        new GatewayClientError(
          'ERR_GATEWAY_CLOSED',
          `Gateway closed the connection before hello-ok (${code}${reason ? ` ${reason}` : ''})`,
        ),
      );
      return;
    }
    if (!attempt.helloReached || this.ws !== attempt.ws) return;
    this.onDropped(code, reason);
  }

  private async sendConnect(ws: WebSocket, nonce: string): Promise<HelloOk> {
    const opts = this.options;
    const scopes = opts.scopes ?? [];
    const storedDeviceToken =
      opts.identity && opts.stateDir
        ? loadDeviceToken(opts.stateDir, opts.identity.deviceId, opts.role)?.token
        : undefined;
    const auth: Record<string, string> = {};
    // Read per attempt so that a rotated secret is picked up; a source that throws fails this attempt.
    const secrets: GatewayCredentials = opts.credentials
      ? opts.credentials()
      : { token: opts.token, password: opts.password };
    // Precedence (spec §5): a shared secret, else the stored device token. Token and password may both
    // go: the Gateway checks the one its mode uses. The password is never part of the signed payload.
    if (secrets.token) auth.token = secrets.token;
    if (secrets.password) auth.password = secrets.password;
    if (!secrets.token && !secrets.password && storedDeviceToken) auth.deviceToken = storedDeviceToken;
    const params: Record<string, unknown> = {
      minProtocol: CLIENT_MIN_PROTOCOL,
      maxProtocol: CLIENT_MAX_PROTOCOL,
      client: opts.client,
      caps: opts.caps ?? [],
      role: opts.role,
      scopes,
    };
    if (opts.commands) params.commands = opts.commands;
    if (opts.permissions) params.permissions = opts.permissions;
    if (opts.pathEnv !== undefined) params.pathEnv = opts.pathEnv;
    if (Object.keys(auth).length > 0) params.auth = auth;
    if (opts.identity) {
      params.device = signConnectDevice({
        identity: opts.identity,
        clientId: opts.client.id,
        clientMode: opts.client.mode,
        platform: opts.client.platform,
        deviceFamily: opts.client.deviceFamily,
        role: opts.role,
        scopes,
        token: auth.token ?? auth.deviceToken ?? '',
        nonce,
        signedAtMs: Date.now(),
      });
    }
    const hello = await this.sendRequest<unknown>(ws, 'connect', params, {
      timeoutMs: opts.connectTimeoutMs ?? 10_000,
    });
    if (!validateHelloOk.check(hello)) {
      throw new GatewayClientError(
        'ERR_GATEWAY_HELLO',
        `the Gateway answered connect without a hello-ok (${validateHelloOk.describe(hello)})`,
      );
    }
    if (hello.protocol < CLIENT_MIN_PROTOCOL || hello.protocol > CLIENT_MAX_PROTOCOL) {
      throw new GatewayClientError(
        'ERR_GATEWAY_PROTOCOL',
        `the Gateway speaks protocol ${hello.protocol}; this client speaks ${CLIENT_MIN_PROTOCOL}–${CLIENT_MAX_PROTOCOL}`,
      );
    }
    const deviceToken = hello.auth?.deviceToken;
    if (opts.identity && opts.stateDir && typeof deviceToken === 'string' && deviceToken !== '') {
      try {
        storeDeviceToken(opts.stateDir, opts.identity.deviceId, {
          token: deviceToken,
          role: hello.auth?.role ?? opts.role,
          scopes: Array.isArray(hello.auth?.scopes) ? hello.auth.scopes : [],
          updatedAtMs: Date.now(),
        });
      } catch (err) {
        this.log(`could not store the device token: ${(err as Error).message}`);
      }
    }
    return hello;
  }

  private onHello(ws: WebSocket, hello: HelloOk): void {
    this.hello = hello;
    this.attempt = 0;
    this.startTickWatch(ws, hello.policy?.tickIntervalMs);
    if (this.firstHello) {
      this.firstHello.resolve(hello);
      this.firstHello = undefined;
    }
    this.emit('hello', hello);
  }

  private dispatch(frame: Frame): void {
    if (frame.type === 'res') {
      const entry = this.pending.get(frame.id);
      if (!entry) return; // late answer to a request that already timed out
      if (frame.ok) {
        const payload = frame.payload as Record<string, unknown> | undefined;
        if (entry.onAccepted && payload && payload.status === 'accepted') {
          entry.onAccepted(payload);
          return;
        }
        this.pending.delete(frame.id);
        clearTimeout(entry.timer);
        entry.resolve(frame.payload);
      } else {
        this.pending.delete(frame.id);
        clearTimeout(entry.timer);
        entry.reject(
          new GatewayRequestError(
            entry.method,
            (frame.error ?? { code: 'UNAVAILABLE', message: 'request failed' }) as GatewayErrorShape,
          ),
        );
      }
      return;
    }
    if (frame.type === 'event') {
      if (frame.event === 'connect.challenge') return;
      this.emit('event', frame);
    }
  }

  private onAttemptFailed(err: Error): void {
    this.failPending(err);
    this.hello = undefined;
    const reconnect = this.options.reconnect;
    if (this.firstHello && (!reconnect || isFatalConnectError(err))) {
      this.firstHello.reject(err);
      this.firstHello = undefined;
      this.stopped = true;
      return;
    }
    if (!reconnect || this.stopped) return;
    this.log(`gateway connect failed: ${err.message}`);
    this.scheduleReconnect();
  }

  private onDropped(code: number, reason: string): void {
    this.stopTickWatch();
    this.hello = undefined;
    this.failPending(
      new GatewayClientError(
        'ERR_GATEWAY_CLOSED',
        `connection to the Gateway closed (${code}${reason ? ` ${reason}` : ''})`,
      ),
    );
    // A literal secret cannot follow a rotation: retrying it would only collect mismatches.
    if (code === CloseCode.authChanged && !this.options.credentials && (this.options.token || this.options.password)) {
      const error = new GatewayClientError(
        'ERR_GATEWAY_AUTH_CHANGED',
        'the Gateway\'s auth changed (4001 "gateway auth changed") and this client was given a fixed token/password; ' +
          'restart it with the new secret (or give it a secret source such as OPENCLAW_GATEWAY_TOKEN/openclaw.json)',
      );
      this.log(error.message);
      this.stopped = true;
      this.emit('disconnect', { code, reason, willReconnect: false, error });
      return;
    }
    const willReconnect = Boolean(this.options.reconnect) && !this.stopped;
    this.emit('disconnect', { code, reason, willReconnect });
    if (willReconnect) this.scheduleReconnect();
  }

  private failPending(err: Fatal | Error): void {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(err);
    }
  }

  /** Exponential backoff with "equal jitter": half the delay fixed, half random, so peers spread out. */
  reconnectDelayMs(attempt: number): number {
    const reconnect = typeof this.options.reconnect === 'object' ? this.options.reconnect : {};
    const initial = reconnect.initialDelayMs ?? 1_000;
    const max = reconnect.maxDelayMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const delay = this.reconnectDelayMs(this.attempt);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.connectOnce(), delay);
  }

  /** No frame for 2 × tickIntervalMs means a dead peer: close 4000 "tick timeout". */
  private startTickWatch(ws: WebSocket, tickIntervalMs: number | undefined): void {
    this.stopTickWatch();
    const interval =
      typeof tickIntervalMs === 'number' && tickIntervalMs > 0 ? tickIntervalMs : DEFAULT_TICK_INTERVAL_MS;
    this.lastFrameAtMs = Date.now();
    this.tickTimer = setInterval(
      () => {
        if (Date.now() - this.lastFrameAtMs > interval * 2) {
          this.log('gateway silent for two tick intervals; reconnecting');
          ws.close(CloseCode.tickTimeout, 'tick timeout');
          setTimeout(() => ws.terminate(), 2_000).unref();
        }
      },
      Math.max(250, Math.floor(interval / 2)),
    );
    this.tickTimer.unref();
  }

  private stopTickWatch(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }
}

type Frame = ResponseFrame | EventFrame;

function parseFrame(data: WebSocket.RawData, isBinary: boolean): Frame | undefined {
  if (isBinary) return undefined;
  let value: unknown;
  try {
    // A Gateway's frame is bounded too: a deep one would overflow the stack of whoever re-serialises it.
    value = parseBoundedJson(data.toString(), { maxDepth: MAX_CLIENT_FRAME_JSON_DEPTH });
  } catch {
    return undefined;
  }
  if (validateResponseFrame.check(value) || validateEventFrame.check(value)) return value;
  return undefined;
}
