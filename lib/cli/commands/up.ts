// openclaw-ipc up [--port 18789] [--host 127.0.0.1] [--json] [--no-bridge] [--no-prompt] [--node-process in|child]
// The local stack in one process (what `npm start` runs): the Gateway on loopback, the exec host
// (app role) sharing its approvals queue with the Gateway's operators, the PeekabooBridge host, and a
// node host that joins this Gateway. Zero config: the state dir is $OPENCLAW_STATE_DIR or ~/.openclaw.
//
// The node host runs in-process. It never spawns: its system.run goes straight to the exec host in this
// process (execInProcess: the socket's policy, prompt, run-slot and audit path without the socket), which
// spawns through the addon's posix_spawn (flat in parent RSS). The socket serves other clients. A child node host
// would cost a second Node process and its start-up and buy nothing on that path; bench/e2e.ts
// measures both layouts (`--node-process child` keeps the alternative available).
import fs from 'node:fs';
import path from 'node:path';

import { displayApprovalCommand, displayString } from '../../common/argv-display.js';
import { configuredGatewayPort, readOpenclawConfig } from '../../common/openclaw-config.js';
import { resolveStateDir } from '../../common/state-dir.js';
import { PendingApprovals, type ApprovalOutcome } from '../../common/approval-queue.js';
import { IpcError } from '../../common/errors.js';
import { isLoopbackAddress } from '../../common/loopback.js';
import type { Approver } from '../../exec-host/prompts.js';
import { DEFAULT_GATEWAY_PORT } from '../../protocol/constants.js';
import { codeCacheStatus, saveCodeCache } from '../code-cache.js';
import { ExitCode, UsageError, parseCommandArgs, portOption } from '../run.js';

const USAGE =
  'usage: openclaw-ipc up [--port 18789] [--host 127.0.0.1] [--no-bridge] [--no-prompt] [--node-process in|child] [--json]';

/** How often `up` under an npm script checks that npm is still its parent. */
const PARENT_CHECK_MS = 1_000;

interface Closable {
  close(): Promise<void>;
}

export interface UpInfo {
  ready: true;
  url: string;
  port: number;
  stateDir: string;
  /** Mode token only (kept for scripts that read it): where the token lives. */
  token?: { source: string; location: string };
  /** The active auth mode and where its secret lives; never the secret. */
  auth: { mode: string; source: string; location: string };
  /** Whether openclaw.json changes to the secret/mode apply without a restart (not for env/option secrets). */
  authReloads: boolean;
  /** The control page (same port as the Gateway), or null when it is not built. */
  controlPage: string | null;
  /** With gateway.tls.enabled: the certificate's SHA-256 fingerprint (clients pin it); null without TLS. */
  tlsFingerprint: string | null;
  nodeId: string;
  nodeName: string;
  execSocket: string;
  bridgeSocket: string | null;
  bridgeError?: string;
  policy: string;
  /** How the CLI's code was compiled: from the V8 code cache (used), not (none, rejected), or not from the bundle (null). */
  codeCache: 'used' | 'rejected' | 'none' | null;
  startupMs: number;
  /** Where the start-up went, ms from the process's start (performance.now()) at the end of each step. */
  startupPhases: Record<StartupPhase, number>;
}

type StartupPhase = 'main' | 'imports' | 'gateway' | 'execHost' | 'bridge' | 'node' | 'ready';

/**
 * The child node host got its secret in its environment at spawn, which a rotation makes stale: it is
 * restarted with the current secret (same state dir, so the same node id). Restarts run one at a time.
 */
class ChildSlot<T extends Closable> {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    public current: T,
    private readonly start: () => Promise<T>,
    private readonly log: (message: string) => void,
  ) {}

  restart(why: string): void {
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        await this.current.close();
        if (this.closed) return;
        this.current = await this.start();
        this.log(`node: restarted (${why})`);
      })
      .catch((err: unknown) => this.log(`node: restart failed (${why}): ${(err as Error).message}`));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await this.current.close();
  }
}

/** echo by its resolved path (the allowlist matches resolved paths; /bin is often a link to /usr/bin). */
const ECHO = ((): string => {
  try {
    return fs.realpathSync('/bin/echo');
  } catch {
    return '/bin/echo';
  }
})();

/** A shell word for a value we print in a copy-paste line. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** How an approval ended, for `up`'s log ("answered elsewhere" and timeouts must not look alike). */
function describeOutcome(outcome: ApprovalOutcome): string {
  if (outcome.reason === 'decided')
    return `${outcome.decision} by ${displayString(outcome.resolvedBy ?? 'an operator', { maxChars: 80 })}`;
  if (outcome.reason === 'expired') return 'expired: nobody answered in time';
  return outcome.detail ? `closed: ${outcome.detail}` : 'withdrawn';
}

/**
 * The lines that make a first run work, to run in order: the default policy runs nothing, so the first
 * two allow exactly one program (echo, by its resolved path, as the allowlist matches it) for agent main.
 * They name this `up`'s state dir and URL when those are not the defaults, so they work as printed.
 */
export function tryLines(
  info: { url: string; port: number; nodeId: string; stateDir: string },
  allowed: boolean,
): string[] {
  const echo = ECHO;
  const envPrefix =
    path.resolve(info.stateDir) === path.resolve(resolveStateDir({ ...process.env, OPENCLAW_STATE_DIR: '' }))
      ? ''
      : `OPENCLAW_STATE_DIR=${shellWord(info.stateDir)} `;
  const url = info.port === DEFAULT_GATEWAY_PORT ? '' : ` --url ${shellWord(info.url)}`;
  const run = `${envPrefix}openclaw-ipc run --node ${info.nodeId.slice(0, 12)}${url} -- ${shellWord(echo)} hi`;
  if (allowed) return [run];
  return [
    `${envPrefix}openclaw-ipc approvals set --security allowlist --ask on-miss`,
    `${envPrefix}openclaw-ipc approvals allow ${shellWord(echo)}`,
    run,
  ];
}

interface UpOptions {
  host: string;
  port: number;
  stateDir: string;
  json: boolean;
  bridge: boolean;
  prompt: boolean;
  nodeProcess: 'in' | 'child';
}

/** The command line and environment, checked before anything starts; undefined after --help. */
function parseUpOptions(argv: string[]): UpOptions | undefined {
  const parsed = parseCommandArgs(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      json: { type: 'boolean' },
      'no-bridge': { type: 'boolean' },
      'no-prompt': { type: 'boolean' },
      'node-process': { type: 'string' },
    },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return undefined;
  const { values } = parsed;
  const envPort = process.env.OPENCLAW_GATEWAY_PORT?.trim();
  const stateDir = resolveStateDir();
  // `up` binds loopback only, so a host:port OPENCLAW_GATEWAY_PORT contributes nothing here. Then
  // gateway.port from openclaw.json, where the operator commands look for it too (a service relies on it).
  const port =
    values.port !== undefined
      ? portOption(values.port, '--port')
      : envPort && /^\d+$/.test(envPort)
        ? portOption(envPort, 'OPENCLAW_GATEWAY_PORT')
        : (configuredGatewayPort(readOpenclawConfig({ stateDir }).config) ?? DEFAULT_GATEWAY_PORT);
  const nodeProcess = values['node-process'] ?? 'in';
  if (nodeProcess !== 'in' && nodeProcess !== 'child') throw new UsageError('--node-process must be in or child');
  const host = values.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host))
    throw new UsageError('up binds loopback only; use `openclaw-ipc gateway` for other addresses');
  return {
    host,
    port,
    stateDir,
    json: values.json === true,
    bridge: values['no-bridge'] !== true,
    prompt: values['no-prompt'] !== true,
    nodeProcess,
  };
}

function log(message: string): void {
  process.stderr.write(`[up] ${message}\n`);
}

/** What `up` starts, loaded only once the options are valid (so `--help` stays instant). */
async function loadStack() {
  const [gateway, execHost, nodeHost, approvalsFile, policy, prompts] = await Promise.all([
    import('../../gateway/index.js'),
    import('../../exec-host/server.js'),
    import('../../node-host/host.js'),
    import('../../exec-host/exec-approvals-file.js'),
    import('../../exec-host/policy.js'),
    import('../../exec-host/prompts.js'),
  ]);
  return { ...gateway, ...execHost, ...nodeHost, ...approvalsFile, ...policy, prompts };
}

type Stack = Awaited<ReturnType<typeof loadStack>>;
type Gateway = Awaited<ReturnType<Stack['startGateway']>>;
type ExecHost = Awaited<ReturnType<Stack['startExecHost']>>;
type OwnNode = { nodeId: string; displayName: string; close(): Promise<void> };

/** The parts started so far, closed in reverse order (on a failed start and at shutdown). */
class Started {
  private readonly parts: Closable[] = [];

  add<T extends Closable>(part: T): T {
    this.parts.push(part);
    return part;
  }

  async closeAll(): Promise<void> {
    for (const part of this.parts.reverse()) {
      try {
        await part.close();
      } catch (err) {
        log(`shutdown: ${(err as Error).message}`);
      }
    }
    this.parts.length = 0;
  }
}

/**
 * The approvals queue the Gateway's operators and the exec host share. Whoever answers first decides:
 * this terminal (when attached), a desktop dialog (when a display is there), or an operator through the
 * Gateway (`openclaw-ipc approvals approve <id>`).
 */
function createApprovals(stack: Stack, prompt: boolean): { pending: PendingApprovals; approver?: Approver } {
  const pending = new PendingApprovals();
  const approver = prompt
    ? stack.prompts.composeApprovers([new stack.prompts.TerminalApprover(), new stack.prompts.DesktopApprover()])
    : undefined;
  pending.on('requested', (approval) => {
    // Escaped like every prompt: the command and the id are the requester's text.
    const id = displayString(approval.id, { maxChars: 80 });
    log(
      `approval ${id} waiting for: ${displayApprovalCommand(approval.request)} — openclaw-ipc approvals approve|deny ${id}`,
    );
  });
  pending.on('resolved', (outcome) => {
    log(`approval ${displayString(outcome.id, { maxChars: 80 })} ${describeOutcome(outcome)}`);
  });
  return approver ? { pending, approver } : { pending };
}

/** The PeekabooBridge host; optional: without it UI automation is unavailable, nothing else is. */
async function startBridge(
  stateDir: string,
  started: Started,
): Promise<{ bridgeSocket: string | null; bridgeError?: string }> {
  try {
    const bridge = await import('../../bridge/index.js');
    const socketPath =
      process.platform === 'darwin' ? undefined : path.join(stateDir, 'bridge', 'OpenClaw', 'bridge.sock');
    const bridgeHost = started.add(await bridge.startBridgeHost({ socketPath }));
    return { bridgeSocket: bridgeHost.socketPath };
  } catch (err) {
    const bridgeError = (err as Error).message;
    log(`bridge host not started: ${bridgeError}`);
    return { bridgeSocket: null, bridgeError };
  }
}

/**
 * This process's own node, joined to its Gateway: in-process (frames skip TCP and WebSocket framing, not
 * the handshake, pairing or handlers; system.run skips the exec socket, not the policy, prompt, run slots
 * or audit) or as a child process. It presents the secret of the mode the Gateway runs, read at every
 * connect, so after a rotation (4001) it rejoins with the new one.
 */
async function startOwnNode(
  stack: Stack,
  options: UpOptions,
  gateway: Gateway,
  execHost: ExecHost,
  started: Started,
): Promise<{ node: OwnNode; onAuthRotated?: () => void }> {
  const currentSecrets = (): { token?: string; password?: string } => {
    const auth = gateway.auth;
    if (auth.mode === 'token') return { token: gateway.token };
    return auth.mode === 'password' ? { password: auth.password } : {};
  };
  // gateway.tls.enabled: this node joins over wss:// pinned to the certificate the Gateway just loaded.
  const pin = gateway.tls ? { tlsFingerprint: gateway.tls.fingerprintSha256 } : {};
  const nodeLog = (m: string): void => log(`node: ${m}`);
  if (options.nodeProcess === 'child') {
    // Only this layout needs it: not loaded at every start.
    const { startNodeHostChild } = await import('../../node-host/child.js');
    const startChild = (): ReturnType<typeof startNodeHostChild> =>
      startNodeHostChild({ url: gateway.url, ...pin, ...currentSecrets(), stateDir: options.stateDir, log: nodeLog });
    const slot = started.add(new ChildSlot(await startChild(), startChild, log));
    return { node: slot.current, onAuthRotated: () => slot.restart('the Gateway auth changed') };
  }
  const inProcess = started.add(
    stack.startNodeHost({
      url: gateway.url,
      ...pin,
      credentials: currentSecrets,
      stateDir: options.stateDir,
      execHost: 'app',
      inProcessApp: execHost,
      link: (maxPayload) => gateway.openInProcessLink(maxPayload),
      log: nodeLog,
    }),
  );
  await inProcess.ready;
  return { node: inProcess };
}

/** The policy line of the banner, and whether the "try" line would run as it is. */
function describePolicy(stack: Stack, stateDir: string): { policy: string; echoRuns: boolean } {
  try {
    const approvals = stack.readApprovals(stack.approvalsFilePath(stateDir));
    const echoRuns = stack.evaluateSystemRun({ command: [ECHO, 'hi'] }, approvals).outcome === 'allow';
    const effective = stack.resolveEffectivePolicy(approvals, 'main');
    const entries = effective.allowlist.length;
    return {
      policy:
        `security=${effective.security} ask=${effective.ask} askFallback=${effective.askFallback}, ` +
        `${entries} allowlist entr${entries === 1 ? 'y' : 'ies'}`,
      echoRuns,
    };
  } catch (err) {
    return { policy: `unreadable (${(err as Error).message}): every run is denied`, echoRuns: false };
  }
}

/** Everything `up` started, in the order it starts them; the ready info, or a thrown error after closing. */
async function startStack(
  stack: Stack,
  options: UpOptions,
  started: Started,
  phase: (name: StartupPhase) => void,
): Promise<{ info: Omit<UpInfo, 'startupMs' | 'startupPhases'>; echoRuns: boolean }> {
  const { pending, approver } = createApprovals(stack, options.prompt);
  // Set once the node runs: what to do after the Gateway swapped in a rotated secret.
  const rotation: { onAuthRotated?: () => void } = {};
  const gateway = started.add(
    await stack.startGateway({
      host: options.host,
      port: options.port,
      stateDir: options.stateDir,
      pending,
      localApprovalRoute: true,
      onAuthReload: (outcome) => {
        if (outcome.status === 'rotated') rotation.onAuthRotated?.();
      },
    }),
  );
  phase('gateway');
  const execHost = started.add(
    await stack.startExecHost({ stateDir: options.stateDir, pending, ...(approver ? { approver } : {}) }),
  );
  phase('execHost');
  const bridge = options.bridge ? await startBridge(options.stateDir, started) : { bridgeSocket: null };
  phase('bridge');
  const own = await startOwnNode(stack, options, gateway, execHost, started);
  rotation.onAuthRotated = own.onAuthRotated;
  phase('node');
  // This process owns the Gateway and the node: approve its own node's command surface, nobody else's.
  for (const request of gateway.nodes.pendingRequests()) {
    if (request.nodeId === own.node.nodeId) gateway.nodes.approve(request.requestId);
  }
  const { policy, echoRuns } = describePolicy(stack, options.stateDir);
  const { auth } = gateway;
  const info = {
    ready: true as const,
    url: gateway.url,
    port: gateway.port,
    stateDir: options.stateDir,
    ...(auth.mode === 'token' ? { token: { source: auth.source, location: auth.location } } : {}),
    auth: { mode: auth.mode, source: auth.source, location: auth.location },
    authReloads: gateway.authReloads,
    controlPage: gateway.controlUi?.url ?? null,
    tlsFingerprint: gateway.tls?.fingerprintSha256 ?? null,
    nodeId: own.node.nodeId,
    nodeName: own.node.displayName,
    execSocket: execHost.socketPath,
    ...bridge,
    policy,
    codeCache: codeCacheStatus()?.status ?? null,
  };
  return { info, echoRuns };
}

function printReady(info: UpInfo, echoRuns: boolean, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  const rotation = info.authReloads
    ? 'openclaw.json changes apply live (sessions on the old secret close with 4001)'
    : 'fixed for this run: env/option secrets are not reloaded (restart to change)';
  process.stdout.write(
    [
      `openclaw-ipc up: ready in ${info.startupMs} ms`,
      `  gateway    ${info.url}`,
      `  auth       ${info.auth.mode}: ${info.auth.location}`,
      ...(info.tlsFingerprint ? [`  tls        SHA-256 ${info.tlsFingerprint}`] : []),
      `  rotation   ${rotation}`,
      `  page       ${info.controlPage ? `${info.controlPage} (open it signed in: openclaw-ipc open)` : 'not built (npm run build)'}`,
      `  node       ${info.nodeId} (${info.nodeName})`,
      `  exec host  ${info.execSocket}`,
      `  bridge     ${info.bridgeSocket ?? `not running${info.bridgeError ? `: ${info.bridgeError}` : ''}`}`,
      `  policy     ${info.policy}`,
      `  state      ${info.stateDir}`,
      echoRuns
        ? 'try:'
        : 'try: (the policy runs nothing yet; run these in order: they allow echo for agent main, then run it)',
      ...tryLines(info, echoRuns).map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
}

/** Runs until SIGINT/SIGTERM (or npm, when it started us, is gone), then closes everything. */
function runUntilStopped(started: Started): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log(`${signal} again: exiting now`);
        process.exit(ExitCode.failure);
      }
      stopping = true;
      log(`${signal}: shutting down`);
      void started.closeAll().then(() => {
        log('stopped');
        resolve(ExitCode.ok);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // Started by an npm script (`npm start`): npm signals only its direct child, so when npm itself is gone
    // (killed, or its shell was the one signalled) this process is orphaned; stop rather than keep the
    // state-dir lock and the port. Not done otherwise: `nohup openclaw-ipc up &` must outlive its shell.
    if (process.env.npm_lifecycle_event) {
      const parent = process.ppid;
      const watch = setInterval(() => {
        if (process.ppid !== parent) {
          clearInterval(watch);
          stop('parent (npm) exited');
        }
      }, PARENT_CHECK_MS);
      watch.unref();
    }
  });
}

export async function main(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  const phases: Partial<Record<StartupPhase, number>> = { main: Math.round(startedAt) };
  const phase = (name: StartupPhase): void => {
    phases[name] = Math.round(performance.now());
  };
  const options = parseUpOptions(argv);
  if (!options) return ExitCode.ok;
  const stack = await loadStack();
  phase('imports');

  const started = new Started();
  let info: UpInfo;
  let echoRuns: boolean;
  try {
    const result = await startStack(stack, options, started, phase);
    echoRuns = result.echoRuns;
    info = {
      ...result.info,
      startupMs: Math.round(performance.now() - startedAt),
      startupPhases: { ...phases, ready: Math.round(performance.now()) } as Record<StartupPhase, number>,
    };
  } catch (err) {
    await started.closeAll();
    const code = (err as IpcError).code;
    if (code === 'ERR_GATEWAY_PORT_IN_USE' || code === 'ERR_GATEWAY_LOCKED' || code === 'ERR_EXEC_HOST_LOCKED') {
      process.stderr.write(`openclaw-ipc up: ${(err as Error).message}\n`);
      return ExitCode.locked;
    }
    throw err;
  }
  printReady(info, echoRuns, options.json);
  // First start from this bundle (or after a rebuild): keep what start-up compiled for the next one.
  setImmediate(() => saveCodeCache());
  return runUntilStopped(started);
}
