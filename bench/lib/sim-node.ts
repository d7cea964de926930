// A simulated node for load benchmarks: the real client (lib/client GatewayClient: its own Ed25519 device
// identity, the signed connect after connect.challenge, the tick watchdog) that declares one command,
// `system.which`, and answers every node.invoke.request for it at once from memory. Many of them share one
// process, so what is measured is the Gateway, not the node host.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { GatewayRequestError } from '../../lib/client/errors.js';
import { GatewayClient } from '../../lib/client/gateway-client.js';
import { OPERATOR_SCOPES } from '../../lib/client/operator.js';
import { deriveDeviceId, rawPublicKeyFromKeyObject, type DeviceIdentity } from '../../lib/protocol/device-auth.js';

export const SIM_COMMAND = 'system.which';
const SIM_PLATFORM = 'linux';
const SIM_CLIENT = { id: 'node-host', mode: 'node' } as const;

export class SimulatedNode {
  client: GatewayClient;
  /** Tick events seen (the Gateway's keepalive reaches every node). */
  ticks = 0;
  /** Connect attempts the Gateway closed or refused before hello-ok (each retried with a fresh client). */
  refusedConnects = 0;

  constructor(
    readonly url: string,
    readonly token: string,
    readonly identity: DeviceIdentity,
    readonly name: string,
  ) {
    this.client = this.makeClient();
  }

  /** Connects; a connect the Gateway turns away is retried (up to `attempts`) with a new client, as a node host does. */
  async connect(attempts = 5): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.start();
        return;
      } catch (err) {
        await this.client.close();
        this.refusedConnects++;
        if (attempt >= attempts) throw err;
        this.client = this.makeClient();
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  private makeClient(): GatewayClient {
    const client = new GatewayClient({
      url: this.url,
      role: 'node',
      token: this.token,
      identity: this.identity,
      scopes: [],
      client: { ...SIM_CLIENT, version: 'bench', platform: SIM_PLATFORM, displayName: this.name },
      caps: [],
      commands: [SIM_COMMAND],
      connectTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
      // openclaw closes a node's socket when its command surface is approved; the node comes back, as a node host does.
      reconnect: { initialDelayMs: 250, maxDelayMs: 2_000 },
    });
    client.on('hello', () => this.reportInventory(client));
    client.on('event', (frame) => {
      if (frame.event === 'tick') this.ticks++;
      else if (frame.event === 'node.invoke.request') this.answer(frame.payload as { id?: unknown });
    });
    return client;
  }

  /**
   * What a node host sends after hello-ok (spec §12). openclaw answers UNAVAILABLE until an operator approved the
   * node's surface, and lists the node as connected for invokes only once it has it: retried every second.
   */
  private reportInventory(client: GatewayClient): void {
    if (client !== this.client || !client.connected) return;
    client
      .request('node.runnerInventory.update', {
        protocolFeatures: ['node-worker-supervisor-v6'],
        workerHost: { enabled: false },
      })
      .catch(() => setTimeout(() => this.reportInventory(client), 1_000).unref());
  }

  get nodeId(): string {
    return this.identity.deviceId;
  }

  private answer(request: { id?: unknown }): void {
    if (typeof request.id !== 'string') return;
    this.client
      .request('node.invoke.result', {
        id: request.id,
        nodeId: this.nodeId,
        ok: true,
        payloadJSON: JSON.stringify({ bins: { sh: '/bin/sh' } }),
      })
      .catch(() => undefined); // a result the Gateway no longer waits for is its business
  }
}

/**
 * N device identities. The signing key is kept as a KeyObject where the PEM would be (signDevicePayload takes
 * either): parsing a PEM per connect costs this one process ~1–5 ms a node, and would make it, not the
 * Gateway, the bottleneck of the connect rate. No PEMs are made: nothing here is persisted.
 */
export function makeIdentities(n: number): DeviceIdentity[] {
  return Array.from({ length: n }, () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const raw = rawPublicKeyFromKeyObject(publicKey);
    return {
      deviceId: deriveDeviceId(raw),
      publicKey: raw.toString('base64url'),
      publicKeyPem: '',
      privateKeyPem: privateKey as unknown as string,
    };
  });
}

/**
 * Writes devices/paired.json and nodes/paired.json of our Gateway's state dir as lib/gateway/pairing-store.ts
 * writes them after a device was paired (role node, a device token) and an operator approved its command
 * surface (`system.which`): what a fleet reconnecting after a Gateway restart looks like.
 */
export function writePrepairedNodes(stateDir: string, identities: readonly DeviceIdentity[], names: string[]): void {
  const now = Date.now();
  const devices: Record<string, unknown> = {};
  const nodes: Record<string, unknown> = {};
  identities.forEach((identity, i) => {
    devices[identity.deviceId] = {
      deviceId: identity.deviceId,
      publicKey: identity.publicKey,
      displayName: names[i],
      platform: SIM_PLATFORM,
      clientId: SIM_CLIENT.id,
      clientMode: SIM_CLIENT.mode,
      roles: ['node'],
      scopes: [],
      tokens: {
        node: { token: crypto.randomBytes(32).toString('base64url'), role: 'node', scopes: [], issuedAtMs: now },
      },
      createdAtMs: now,
      approvedAtMs: now,
    };
    nodes[identity.deviceId] = {
      nodeId: identity.deviceId,
      displayName: names[i],
      platform: SIM_PLATFORM,
      commands: [SIM_COMMAND],
      caps: [],
      approvedAtMs: now,
      token: crypto.randomBytes(32).toString('base64url'),
    };
  });
  for (const [dir, data] of [
    ['devices', devices],
    ['nodes', nodes],
  ] as const) {
    fs.mkdirSync(path.join(stateDir, dir), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(stateDir, dir, 'paired.json'), `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  }
}

/** The independent protocol-4 operator client: the backend client id, token auth, no device, loopback. */
export function benchOperator(url: string, token: string): GatewayClient {
  return new GatewayClient({
    url,
    role: 'operator',
    token,
    scopes: [...OPERATOR_SCOPES],
    client: { id: 'gateway-client', mode: 'backend', version: 'bench', platform: process.platform },
    connectTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
  });
}

/**
 * A started operator. openclaw answers connects with a retryable UNAVAILABLE ("gateway starting") for a while
 * after its port opens; a client starts once, so each attempt is a new one.
 */
export async function connectOperator(url: string, token: string, timeoutMs = 180_000): Promise<GatewayClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = benchOperator(url, token);
    try {
      await op.start();
      return op;
    } catch (err) {
      await op.close();
      const retryable = err instanceof GatewayRequestError && err.retryable === true;
      if (!retryable || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * Approves node pairing requests as they come, the way an operator does (node.pair.approve for each
 * node.pair.requested event, plus whatever node.pair.list shows on a poll, for requests made before the
 * listener). Returns a stop function.
 */
export function autoApproveNodes(operator: GatewayClient, log: (line: string) => void): () => void {
  const seen = new Set<string>();
  const approve = (requestId: string): void => {
    if (seen.has(requestId)) return;
    seen.add(requestId);
    operator.request('node.pair.approve', { requestId }).catch((err: Error) => {
      seen.delete(requestId);
      log(`node.pair.approve ${requestId}: ${err.message}`);
    });
  };
  const onEvent = (frame: { event: string; payload?: unknown }): void => {
    if (frame.event !== 'node.pair.requested') return;
    const requestId = (frame.payload as { requestId?: unknown } | undefined)?.requestId;
    if (typeof requestId === 'string') approve(requestId);
  };
  operator.on('event', onEvent);
  const poll = setInterval(() => {
    operator
      .request<{ pending?: Array<{ requestId?: string }> }>('node.pair.list', {})
      .then((list) => {
        for (const r of list.pending ?? []) if (typeof r.requestId === 'string') approve(r.requestId);
      })
      .catch(() => undefined);
  }, 1_000);
  return () => {
    clearInterval(poll);
    operator.off('event', onEvent);
  };
}
