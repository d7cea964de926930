// Page-wide state fed by Gateway events (no polling): pending approvals and what was decided, and the
// node list with pairing requests. Views read these stores; only the Run box and the tabs that load on
// demand (policy, activity) call the Gateway themselves.
import { GatewayError, type Session } from './session.ts';
import { Store } from './store.ts';

export type Decision = 'allow-once' | 'allow-always' | 'deny';

export interface PendingView {
  id: string;
  request: Record<string, unknown>;
  createdAtMs: number;
  expiresAtMs: number;
  allowedDecisions: Decision[];
  /** Set while this page's answer is on its way; the text shown next to the buttons. */
  answering?: string;
  /** Why this page's answer did not apply. */
  error?: string;
}

export interface DecidedView {
  id: string;
  request: Record<string, unknown>;
  decision: Decision | null;
  resolvedBy?: string | null;
  reason?: string;
  at: number;
}

const DECISIONS: readonly Decision[] = ['allow-once', 'allow-always', 'deny'];
const KEEP_DECIDED = 20;

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function pendingFrom(raw: unknown): PendingView | undefined {
  const r = asRecord(raw);
  if (typeof r.id !== 'string') return undefined;
  const request = asRecord(r.request);
  const offered = Array.isArray(r.allowedDecisions)
    ? DECISIONS.filter((d) => (r.allowedDecisions as unknown[]).includes(d))
    : request.ask === 'always'
      ? (['allow-once', 'deny'] as Decision[])
      : [...DECISIONS];
  return {
    id: r.id,
    request,
    createdAtMs: typeof r.createdAtMs === 'number' ? r.createdAtMs : Date.now(),
    expiresAtMs: typeof r.expiresAtMs === 'number' ? r.expiresAtMs : Date.now(),
    allowedDecisions: offered,
  };
}

export class ApprovalsModel {
  readonly store = new Store<{ pending: PendingView[]; decided: DecidedView[]; loadError?: string }>({
    pending: [],
    decided: [],
  });

  constructor(private readonly session: Session) {
    session.on('exec.approval.requested', (payload) => this.add(pendingFrom(payload)));
    session.on('exec.approval.resolved', (payload) => this.resolved(asRecord(payload)));
    session.on('session.ready', () => void this.load());
  }

  /** After (re)connecting: what is pending now replaces what this page remembered. */
  async load(): Promise<void> {
    try {
      // Upstream's shape is a bare array; { approvals } is what this Gateway answered before it matched upstream.
      const listed = await this.session.request<unknown[] | { approvals: unknown[] }>('exec.approval.list', {});
      const approvals = Array.isArray(listed) ? listed : listed.approvals;
      const pending = approvals.map(pendingFrom).filter((p): p is PendingView => p !== undefined);
      this.store.set({ pending, loadError: undefined });
    } catch (err) {
      this.store.set({ loadError: (err as Error).message });
    }
  }

  private add(entry: PendingView | undefined): void {
    if (!entry) return;
    const { pending } = this.store.get();
    if (pending.some((p) => p.id === entry.id)) return;
    this.store.set({ pending: [...pending, entry] });
  }

  private resolved(payload: Record<string, unknown>): void {
    const id = payload.id;
    const { pending, decided } = this.store.get();
    const entry = pending.find((p) => p.id === id);
    if (!entry) return;
    const decision = DECISIONS.includes(payload.decision as Decision) ? (payload.decision as Decision) : null;
    const done: DecidedView = {
      id: entry.id,
      request: entry.request,
      decision,
      resolvedBy: typeof payload.resolvedBy === 'string' ? payload.resolvedBy : null,
      reason: typeof payload.reason === 'string' ? payload.reason : undefined,
      at: typeof payload.ts === 'number' ? payload.ts : Date.now(),
    };
    this.store.set({
      pending: pending.filter((p) => p.id !== id),
      decided: [done, ...decided].slice(0, KEEP_DECIDED),
    });
  }

  private patch(id: string, patch: Partial<PendingView>): void {
    this.store.set({ pending: this.store.get().pending.map((p) => (p.id === id ? { ...p, ...patch } : p)) });
  }

  /** Sends this page's answer. The first answer anywhere wins; the resolved event updates every view. */
  async answer(id: string, decision: Decision): Promise<void> {
    this.patch(id, { answering: 'Sending your answer…', error: undefined });
    try {
      await this.session.request('exec.approval.resolve', { id, decision });
    } catch (err) {
      const e = err as GatewayError;
      const message =
        e.message === 'approval already resolved' || e.detailCode === 'UNKNOWN_APPROVAL_ID'
          ? 'Already answered elsewhere (or expired): the first answer wins.'
          : e.message.startsWith('missing scope')
            ? 'This session may not answer approvals (it lacks operator.approvals).'
            : `Not applied: ${e.message}`;
      this.patch(id, { answering: undefined, error: message });
    }
  }
}

export interface NodeView {
  nodeId: string;
  displayName?: string;
  platform?: string;
  connected: boolean;
  paired: boolean;
  commands: string[];
  connectedAtMs?: number;
  lastSeenAtMs?: number;
  approvedAtMs?: number;
  remoteIp?: string;
  version?: string;
}

export interface NodeRequestView {
  requestId: string;
  nodeId: string;
  displayName?: string;
  commands: string[];
  ts?: number;
}

export interface DeviceRequestView {
  requestId: string;
  deviceId: string;
  displayName?: string;
  clientId?: string;
  clientMode?: string;
  role?: string;
  scopes: string[];
  remoteIp?: string;
  reason?: string;
  ts?: number;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const optNum = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export class NodesModel {
  readonly store = new Store<{
    nodes: NodeView[];
    nodeRequests: NodeRequestView[];
    deviceRequests: DeviceRequestView[];
    error?: string;
    loaded: boolean;
  }>({ nodes: [], nodeRequests: [], deviceRequests: [], loaded: false });
  private loading: Promise<void> | undefined;
  private again = false;

  constructor(private readonly session: Session) {
    // Node set and pairing changes arrive as events; each triggers one reload of the lists.
    for (const event of [
      'session.ready',
      'health',
      'node.pair.requested',
      'node.pair.resolved',
      'device.pair.requested',
      'device.pair.resolved',
    ])
      session.on(event, () => void this.load());
  }

  /** Reloads; a call while one runs makes it run once more afterwards. */
  load(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.fetch().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.load();
      }
    });
    return this.loading;
  }

  private async fetch(): Promise<void> {
    try {
      const list = await this.session.request<{ nodes: unknown[] }>('node.list', {});
      const nodes = list.nodes.map((raw) => {
        const n = asRecord(raw);
        return {
          nodeId: String(n.nodeId),
          displayName: optStr(n.displayName),
          platform: optStr(n.platform),
          connected: n.connected === true,
          paired: n.paired === true,
          commands: strings(n.commands),
          connectedAtMs: optNum(n.connectedAtMs),
          lastSeenAtMs: optNum(n.lastSeenAtMs),
          approvedAtMs: optNum(n.approvedAtMs),
          remoteIp: optStr(n.remoteIp),
          version: optStr(n.version),
        };
      });
      let nodeRequests: NodeRequestView[] = [];
      let deviceRequests: DeviceRequestView[] = [];
      if (this.session.has('operator.pairing')) {
        const [nodePairs, devicePairs] = await Promise.all([
          this.session.request<{ pending: unknown[] }>('node.pair.list', {}),
          this.session.request<{ pending: unknown[] }>('device.pair.list', {}),
        ]);
        nodeRequests = nodePairs.pending.map((raw) => {
          const r = asRecord(raw);
          return {
            requestId: String(r.requestId),
            nodeId: String(r.nodeId),
            displayName: optStr(r.displayName),
            commands: strings(r.commands),
            ts: optNum(r.ts),
          };
        });
        deviceRequests = devicePairs.pending.map((raw) => {
          const r = asRecord(raw);
          return {
            requestId: String(r.requestId),
            deviceId: String(r.deviceId),
            displayName: optStr(r.displayName),
            clientId: optStr(r.clientId),
            clientMode: optStr(r.clientMode),
            role: optStr(r.role),
            scopes: strings(r.scopes),
            remoteIp: optStr(r.remoteIp),
            reason: optStr(r.reason),
            ts: optNum(r.ts),
          };
        });
      }
      this.store.set({ nodes, nodeRequests, deviceRequests, error: undefined, loaded: true });
    } catch (err) {
      if ((err as GatewayError).code !== 'NOT_CONNECTED') this.store.set({ error: (err as Error).message });
    }
  }

  nameOf(nodeId: string | undefined): string | undefined {
    if (!nodeId) return undefined;
    return this.store.get().nodes.find((n) => n.nodeId === nodeId)?.displayName;
  }
}
