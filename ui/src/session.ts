// The page's one Gateway connection: WebSocket to its own origin, the challenge, a connect signed with
// this browser's device key (v3 payload, spec gateway-protocol.md §4.2), requests by id, events, and
// reconnects with the device token. The shared token or password lives in memory only until the first
// hello-ok; later connects use the device token the Gateway issued.
import {
  clearDeviceToken,
  loadDeviceToken,
  loadOrCreateIdentity,
  loadScopeChoice,
  signPayload,
  storeDeviceToken,
  storeScopeChoice,
  type DeviceIdentity,
  type ScopeChoice,
} from './device-identity.ts';
import { Store } from './store.ts';

declare const __CONTROL_UI_VERSION__: string;

export const CLIENT_ID = 'openclaw-control-ui';
export const CLIENT_MODE = 'webchat';
const ROLE = 'operator';
const PLATFORM = 'web';
/** What each tab needs: read (nodes, policy view), write (Run), approvals (answer), pairing, admin (policy edit, audit). */
export const FULL_SCOPES = [
  'operator.read',
  'operator.write',
  'operator.approvals',
  'operator.pairing',
  'operator.admin',
];
export const READ_ONLY_SCOPES = ['operator.read'];
const REQUEST_TIMEOUT_MS = 30_000;
const CHALLENGE_TIMEOUT_MS = 10_000;

export type SharedSecret = { token: string } | { password: string };

export type Phase = 'starting' | 'login' | 'connecting' | 'connected' | 'pairing' | 'reconnecting' | 'unsupported';

export interface SessionState {
  phase: Phase;
  /** Why the page is in `login`, `pairing`, `reconnecting` or `unsupported` (plain words). */
  message?: string;
  /** Scopes the Gateway granted in hello-ok. */
  scopes: string[];
  scopeChoice: ScopeChoice;
  deviceId?: string;
  serverVersion?: string;
  pairingRequestId?: string;
}

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  get detailCode(): string | undefined {
    return typeof this.details?.code === 'string' ? this.details.code : undefined;
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: number;
}

type EventHandler = (payload: unknown) => void;

function v3Payload(fields: {
  deviceId: string;
  scopes: readonly string[];
  signedAt: number;
  token: string;
  nonce: string;
}): string {
  return [
    'v3',
    fields.deviceId,
    CLIENT_ID,
    CLIENT_MODE,
    ROLE,
    fields.scopes.join(','),
    String(fields.signedAt),
    fields.token,
    fields.nonce,
    PLATFORM,
    '',
  ].join('|');
}

export class Session {
  readonly state = new Store<SessionState>({ phase: 'starting', scopes: [], scopeChoice: 'full' });
  private ws: WebSocket | undefined;
  private identity: DeviceIdentity | undefined;
  private secret: SharedSecret | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly handlers = new Map<string, Set<EventHandler>>();
  private counter = 0;
  private retryTimer: number | undefined;
  private backoffMs = 500;
  private stopped = false;

  constructor(private readonly url: string) {}

  /** Starts with a secret from the URL fragment, else the stored device token, else the login form. */
  async start(secret?: SharedSecret): Promise<void> {
    if (!window.isSecureContext || !crypto.subtle) {
      this.state.set({
        phase: 'unsupported',
        message:
          'This page needs a secure context for its device key: open it as http://127.0.0.1:<port>/ on the Gateway host, or over HTTPS.',
      });
      return;
    }
    try {
      this.identity = await loadOrCreateIdentity();
    } catch (err) {
      this.state.set({
        phase: 'unsupported',
        message: `This browser cannot keep an Ed25519 device key (${(err as Error).message}).`,
      });
      return;
    }
    const scopeChoice = await loadScopeChoice();
    this.state.set({ deviceId: this.identity.deviceId, scopeChoice });
    this.secret = secret;
    const stored = await loadDeviceToken(this.identity.deviceId, ROLE);
    if (secret || stored) this.connect();
    else this.state.set({ phase: 'login', message: undefined });
  }

  /** From the login form. */
  async login(secret: SharedSecret, scopeChoice: ScopeChoice): Promise<void> {
    await storeScopeChoice(scopeChoice);
    this.secret = secret;
    this.state.set({ scopeChoice });
    this.stopped = false;
    this.connect();
  }

  /** Forgets the device token (the key stays: the Gateway still knows this device). */
  async signOut(): Promise<void> {
    this.stopped = true;
    this.secret = undefined;
    await clearDeviceToken();
    this.ws?.close(1000, 'signed out');
    this.state.set({
      phase: 'login',
      message: 'Signed out. The device token was removed from this browser.',
      scopes: [],
    });
  }

  on(event: string, handler: EventHandler): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  has(scope: string): boolean {
    const scopes = this.state.get().scopes;
    return scopes.includes('operator.admin') || scopes.includes(scope);
  }

  request<T = unknown>(method: string, params: unknown = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state.get().phase !== 'connected')
      return Promise.reject(new GatewayError('NOT_CONNECTED', 'not connected to the Gateway'));
    return this.send<T>(ws, method, params, timeoutMs);
  }

  private send<T>(ws: WebSocket, method: string, params: unknown, timeoutMs: number): Promise<T> {
    const id = `${++this.counter}:${crypto.randomUUID()}`;
    return new Promise<T>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new GatewayError('TIMEOUT', `${method}: no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ type: 'req', id, method, params }));
    });
  }

  private connect(): void {
    window.clearTimeout(this.retryTimer);
    this.ws?.close(1000, 'reconnecting');
    const wasConnected = this.state.get().phase === 'connected';
    this.state.set({ phase: wasConnected ? 'reconnecting' : 'connecting' });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let challenged = false;
    let failure: GatewayError | undefined;
    const challengeTimer = window.setTimeout(() => {
      if (!challenged) ws.close(4008, 'connect challenge timeout');
    }, CHALLENGE_TIMEOUT_MS);
    ws.onmessage = (ev) => {
      let frame: { type?: string; event?: string; payload?: unknown; id?: string; ok?: boolean; error?: unknown };
      try {
        frame = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (frame.type === 'event' && frame.event === 'connect.challenge' && !challenged) {
        challenged = true;
        window.clearTimeout(challengeTimer);
        const nonce = (frame.payload as { nonce?: unknown } | undefined)?.nonce;
        if (typeof nonce !== 'string' || nonce === '') {
          ws.close(4008, 'challenge without nonce');
          return;
        }
        this.handshake(ws, nonce).catch((err: GatewayError) => {
          failure = err;
        });
        return;
      }
      if (frame.type === 'event' && typeof frame.event === 'string') {
        for (const handler of this.handlers.get(frame.event) ?? []) handler(frame.payload);
        return;
      }
      if (frame.type === 'res' && typeof frame.id === 'string') this.settle(frame);
    };
    ws.onclose = (ev) => {
      window.clearTimeout(challengeTimer);
      if (this.ws !== ws) return;
      this.ws = undefined;
      for (const [, p] of this.pending) {
        window.clearTimeout(p.timer);
        p.reject(new GatewayError('NOT_CONNECTED', 'connection closed'));
      }
      this.pending.clear();
      // Let a pending connect rejection land first: it says why the Gateway closed.
      window.setTimeout(() => void this.afterClose(ev.code, ev.reason, failure), 0);
    };
  }

  private settle(frame: { id?: string; ok?: boolean; payload?: unknown; error?: unknown }): void {
    const pending = this.pending.get(frame.id!);
    if (!pending) return;
    this.pending.delete(frame.id!);
    window.clearTimeout(pending.timer);
    if (frame.ok) pending.resolve(frame.payload);
    else {
      const e = (frame.error ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
      pending.reject(new GatewayError(e.code ?? 'ERROR', e.message ?? 'request failed', e.details));
    }
  }

  private async handshake(ws: WebSocket, nonce: string): Promise<void> {
    const identity = this.identity!;
    const scopeChoice = this.state.get().scopeChoice;
    const scopes = scopeChoice === 'read-only' ? READ_ONLY_SCOPES : FULL_SCOPES;
    const stored = await loadDeviceToken(identity.deviceId, ROLE);
    const secret = this.secret;
    const auth: Record<string, string> = {};
    if (secret && 'token' in secret) auth.token = secret.token;
    else if (secret && 'password' in secret) auth.password = secret.password;
    else if (stored) auth.deviceToken = stored.token;
    const signedAt = Date.now();
    const signature = await signPayload(
      identity,
      v3Payload({ deviceId: identity.deviceId, scopes, signedAt, token: auth.token ?? auth.deviceToken ?? '', nonce }),
    );
    const hello = await this.send<{
      server?: { version?: string };
      auth?: { deviceToken?: string; role?: string; scopes?: string[] };
    }>(
      ws,
      'connect',
      {
        minProtocol: 3,
        maxProtocol: 4,
        client: {
          id: CLIENT_ID,
          displayName: 'Control page (browser)',
          version: __CONTROL_UI_VERSION__,
          platform: PLATFORM,
          mode: CLIENT_MODE,
        },
        role: ROLE,
        scopes,
        caps: [],
        auth,
        device: { id: identity.deviceId, publicKey: identity.publicKey, signature, signedAt, nonce },
        userAgent: navigator.userAgent.slice(0, 256),
        locale: navigator.language,
      },
      REQUEST_TIMEOUT_MS,
    );
    if (hello.auth?.deviceToken) {
      await storeDeviceToken({
        deviceId: identity.deviceId,
        role: ROLE,
        token: hello.auth.deviceToken,
        scopes: hello.auth.scopes ?? scopes,
      });
    }
    // From now on the device token authenticates: the shared secret is dropped from memory.
    this.secret = undefined;
    this.backoffMs = 500;
    this.state.set({
      phase: 'connected',
      message: undefined,
      pairingRequestId: undefined,
      scopes: hello.auth?.scopes ?? scopes,
      serverVersion: hello.server?.version,
    });
    for (const handler of this.handlers.get('session.ready') ?? []) handler(undefined);
  }

  private async afterClose(code: number, reason: string, failure: GatewayError | undefined): Promise<void> {
    if (this.stopped) return;
    const detail = failure?.detailCode;
    if (detail === 'PAIRING_REQUIRED') {
      const requestId = typeof failure?.details?.requestId === 'string' ? failure.details.requestId : undefined;
      this.state.set({
        phase: 'pairing',
        pairingRequestId: requestId,
        message:
          'This browser is not paired with the Gateway yet. An operator approves it from another control page (Nodes → Device requests) or the CLI; this page retries every 5 s.',
      });
      this.retryTimer = window.setTimeout(() => this.connect(), 5000);
      return;
    }
    if (detail === 'AUTH_DEVICE_TOKEN_MISMATCH') await clearDeviceToken();
    if (failure && failure.code !== 'NOT_CONNECTED' && failure.code !== 'TIMEOUT') {
      this.secret = undefined;
      this.state.set({ phase: 'login', message: loginMessage(failure), scopes: [] });
      return;
    }
    if (code === 1008 || code === 4008) {
      this.state.set({ phase: 'login', message: `The Gateway closed the connection: ${reason || code}.`, scopes: [] });
      return;
    }
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 15_000);
    this.state.set({
      phase: 'reconnecting',
      message: `Connection lost (${code}${reason ? `: ${reason}` : ''}); reconnecting in ${Math.ceil(wait / 1000)} s.`,
    });
    this.retryTimer = window.setTimeout(() => this.connect(), wait);
  }
}

function loginMessage(err: GatewayError): string {
  switch (err.detailCode) {
    case 'AUTH_TOKEN_MISMATCH':
      return 'That token is not the Gateway token.';
    case 'AUTH_PASSWORD_MISMATCH':
      return 'That password is not the Gateway password.';
    case 'AUTH_TOKEN_MISSING':
      return 'The Gateway runs in token mode: enter its token.';
    case 'AUTH_PASSWORD_MISSING':
      return 'The Gateway runs in password mode: enter its password.';
    case 'AUTH_DEVICE_TOKEN_MISMATCH':
      return 'This browser’s device token is no longer valid (revoked or rotated). Enter the Gateway token or password again.';
    case 'AUTH_RATE_LIMITED':
      return 'Too many wrong attempts from this address; wait a few minutes.';
    default:
      return `The Gateway refused the connection: ${err.message}`;
  }
}
