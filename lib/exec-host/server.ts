// The exec host (the app role): serves OpenClaw's exec-approvals socket protocol. One JSON line per
// connection; `request` → `decision` (a prompt), `exec` → `exec-res` (HMAC + TTL + replay cache →
// policy → prompt → run). Every connection is checked by kernel peer credentials first.
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

import { timingSafeEqualString } from '../common/constant-time.js';
import { encodeLine, parseUntrustedJson, readLine } from '../common/jsonl.js';
import { APPROVAL_DECISIONS, type ApprovalDecision, type PendingApprovals } from '../common/approval-queue.js';
import { isRecord } from '../common/records.js';
import { listenPrivate, prepareSocketPath, unlinkIfOurs } from '../common/private-socket.js';
import { ensurePrivateDir, resolveStateDir } from '../common/state-dir.js';
import { TRACE, traceMark } from '../common/trace.js';
import { openPeerProcess, peerCredentials, type PeerCredentials } from '../native/peer.js';
import { permissions } from '../native/permissions.js';
import {
  ApprovalsCache,
  AllowlistUsageRecorder,
  addAllowlistPattern,
  approvalsFilePath,
  ensureApprovals,
  requireToken,
  socketPathFor,
  updateApprovals,
  type ApprovalsFile,
  SOCKET_FILE_NAME,
} from './exec-approvals-file.js';
import { AUDIT_FILE_NAME, AuditLog, peerExecutable, type AuditLogOptions } from './audit-log.js';
import { EXEC_TIMEOUT_MS } from './client.js';
import { verifyExecRequest } from './hmac.js';
import {
  applyDecision,
  canonicalCommandText,
  denials,
  evaluateSystemRun,
  promptNotes,
  validateRequest,
  type Denial,
  type EvaluateOptions,
  type Evaluation,
  type ExecHostRequest,
} from './policy.js';
import {
  QueueApprover,
  askForDecision,
  composeApprovers,
  describeStop,
  type ApprovalPrompt,
  type Approver,
  type AskOutcome,
} from './prompts.js';
import { REPLAY_JOURNAL_FILE_NAME, ReplayCache } from './replay-cache.js';
import { isExecCapableProgram } from './shell-allowlist.js';
import { isExecLine, isPromptLine, type PromptLine } from './exec-line.js';
import { describeResolveFailure, openPinnedExecutable, sameFile } from './resolve-executable.js';
import { RequesterWatcher } from './requester-watch.js';
import { DEFAULT_RUN_TIMEOUT_MS, MAX_RUN_TIMEOUT_MS, RunSlots, type SlotRefusal } from './run-slots.js';

import { runCommand, type ExecResult, type RunnerBackend } from './runner.js';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.js';

export const MAX_LINE_BYTES = 256_000;
export const TTL_MS = 10_000;
export { DEFAULT_RUN_TIMEOUT_MS, MAX_RUN_TIMEOUT_MS } from './run-slots.js';
/** The shortest wait for a run slot, however late the request already is. */
const MIN_QUEUE_WAIT_MS = 1_000;
/** Time left for the busy answer to travel before the client's own deadline. */
const ANSWER_MARGIN_MS = 1_000;

export interface ExecHostOptions {
  /** State directory (default `$OPENCLAW_STATE_DIR` or ~/.openclaw). */
  stateDir?: string;
  /** Who answers prompts (terminal, desktop …). Composed with `pending` when both are given. */
  approver?: Approver;
  /** The shared queue the Gateway exposes to operators. */
  pending?: PendingApprovals;
  /** How long a prompt may wait before askFallback applies (default 15 s, inside the client's 20 s). */
  promptTimeoutMs?: number;
  /** Deadline for a client's line (default 5 s). */
  readTimeoutMs?: number;
  maxLineBytes?: number;
  /** Connections served at once; more are closed at accept (default 512). */
  maxConnections?: number;
  /** Commands running at once, all clients together (default 8). */
  maxConcurrentRuns?: number;
  /**
   * Runs one client process (kernel-verified pid) may have running or waiting at once; more are answered
   * `EXEC_HOST_BUSY` at once (default half of maxConcurrentRuns, at least 1).
   */
  maxRunsPerPeer?: number;
  /** How long an allowed request waits for a free run slot before it is answered `EXEC_HOST_BUSY` (default 5 s). */
  runQueueWaitMs?: number;
  /** Timeout of a run whose request names none (default 10 min). */
  defaultRunTimeoutMs?: number;
  /** Upper bound of every run's timeout (default 1 h). */
  maxRunTimeoutMs?: number;
  /** How often a pending request's client is checked for having gone away (default 200 ms). */
  requesterCheckMs?: number;
  ttlMs?: number;
  runner?: { backend?: RunnerBackend; maxOutputBytes?: number; killGraceMs?: number };
  /** Audit log options, or false to disable (default `<state>/exec-approvals.audit.jsonl`). */
  auditLog?: AuditLogOptions | false;
  /** Policy evaluation overrides (search PATH, base env). */
  evaluate?: EvaluateOptions;
  /** Peer credential lookup (default: the native addon). Without it nothing is served. */
  peerCredentials?: (socket: net.Socket) => PeerCredentials;
}

export interface ExecHostStats {
  connections: number;
  active: number;
  rejectedPeers: number;
  refusedOverCap: number;
  dropped: number;
  authFailures: number;
  replays: number;
  executed: number;
  denied: number;
  /** Allowed runs waiting for a free run slot (maxConcurrentRuns). */
  queuedRuns: number;
  /** Requests answered EXEC_HOST_BUSY (per-client limit, or no slot within runQueueWaitMs). */
  busy: number;
  /** Requests whose client left before the answer: prompt withdrawn, queue place dropped or run killed. */
  withdrawn: number;
}

export interface ExecHost {
  readonly stateDir: string;
  readonly socketPath: string;
  readonly approvalsFile: string;
  readonly auditFile: string | undefined;
  readonly stats: Readonly<ExecHostStats>;
  /**
   * An exec request from this process (the node host `up` runs): the socket's policy, prompt, run-slot and
   * audit path without the socket. Null when the host is closing or the request failed unexpectedly.
   */
  execInProcess(request: ExecHostRequest, signal: AbortSignal): Promise<ExecResponse | null>;
  /**
   * The policy's verdict on `request` for an in-process caller that must answer denials itself (the node
   * host), evaluated by this host against the policy it enforces. When the same request object then comes
   * to execInProcess and the approvals file is unchanged, that verdict is used instead of a second
   * evaluation: one evaluation per run, still made and enforced here.
   */
  evaluateInProcess(request: ExecHostRequest): InProcessVerdict;
  close(): Promise<void>;
}

export type InProcessVerdict = { ok: true; evaluation: Evaluation } | { ok: false; error: string };

/** The connecting process as the audit log and the run slots know it (kernel credentials). */
interface PeerInfo {
  pid: number | undefined;
  uid: number;
  gid: number;
  exe: string | undefined;
}

type ExecError = Denial | { code: string; message: string; reason?: string; detail?: string };

/** The `exec-res` line (socket) or value (in-process) that answers an exec request. */
export interface ExecResponse {
  type: 'exec-res';
  id: string;
  ok: boolean;
  payload?: unknown;
  error?: { code: string; message: string; reason?: string; detail?: string };
}

/** One exec request in progress: who asked, and where its answer goes (a socket line or an in-process caller). */
interface ExecExchange {
  id: string;
  peer: PeerInfo;
  arrivedAt: number;
  /** Aborts when the requester is gone: the prompt is withdrawn, the queue place dropped, the run killed. */
  gone: AbortSignal;
  answer(message: ExecResponse): void;
  /** Ends the exchange without an answer. */
  drop(): void;
}

const errors = {
  ttl: { code: 'INVALID_REQUEST', message: 'expired request', reason: 'ttl' },
  hmac: { code: 'INVALID_REQUEST', message: 'invalid auth', reason: 'hmac' },
  json: { code: 'INVALID_REQUEST', message: 'invalid payload', reason: 'json' },
  // Upstream keeps no replay cache, so its vocabulary has no replay reason. A nonce seen again is a
  // request that is no longer fresh: answer with the TTL shape (the client's remedy is the same: sign
  // anew) and keep the distinction in the audit log.
  replay: { code: 'INVALID_REQUEST', message: 'expired request', reason: 'ttl' },
  policyUnreadable: {
    code: 'UNAVAILABLE',
    message: 'SYSTEM_RUN_DENIED: approvals file unreadable',
    reason: 'approval-required',
  },
} as const;

/** The typed answer for a request that got no run slot (never silence). */
function busyError(why: Exclude<SlotRefusal, 'withdrawn'>, slots: RunSlots): ExecError {
  return {
    code: 'UNAVAILABLE',
    message:
      why === 'peer-limit'
        ? `EXEC_HOST_BUSY: this client has ${slots.maxPerPeer} runs in progress (the most one client may have) and none ended in time; retry later`
        : `EXEC_HOST_BUSY: all ${slots.maxConcurrent} run slots stayed in use; retry later`,
    reason: 'busy',
    detail: why,
  };
}

/**
 * Why a prompted request was denied, in words: who said no, or what kept everybody from answering and
 * which askFallback applied. The wire message stays upstream's; this goes in `error.detail` and the audit log.
 */
export function denialDetail(asked: AskOutcome, askFallback: string | undefined): string {
  if (asked.end === 'answered') return `denied by ${asked.by}`;
  return `${describeStop(asked)}; askFallback=${askFallback ?? 'deny'}`;
}

/** Audit records keep argv bounded: 256 arguments of 1000 characters at most (a longer one is cut). */
const AUDIT_MAX_ARGS = 256;
const AUDIT_MAX_ARG_CHARS = 1000;

function auditArgv(argv: unknown): string[] | undefined {
  if (!Array.isArray(argv)) return undefined;
  return argv.slice(0, AUDIT_MAX_ARGS).map((arg) => String(arg).slice(0, AUDIT_MAX_ARG_CHARS));
}

/** What an exec request asked for, as the audit log records it (never env values: they may be secrets). */
function auditedRequest(request: ExecHostRequest): Record<string, unknown> {
  const audited: Record<string, unknown> = {};
  const argv = auditArgv(request.command);
  if (argv) audited.argv = argv;
  if (typeof request.cwd === 'string') audited.cwd = request.cwd.slice(0, AUDIT_MAX_ARG_CHARS);
  if (typeof request.agentId === 'string') audited.agentId = request.agentId.slice(0, 256);
  return audited;
}

/** The requesting process as a prompt shows it (pid and executable, for humans only). */
function peerSummary(peer: object): { pid?: number; exe?: string } {
  const { pid, exe } = peer as { pid?: unknown; exe?: unknown };
  return {
    ...(typeof pid === 'number' ? { pid } : {}),
    ...(typeof exe === 'string' ? { exe } : {}),
  };
}

/** TCC Screen Recording status; 'not-applicable' off macOS counts as granted, anything unknown as missing. */
async function screenRecordingGranted(): Promise<boolean> {
  try {
    const status = await permissions.status('screenRecording');
    return status === 'granted' || status === 'not-applicable';
  } catch {
    return false;
  }
}

/** Starts the exec host: takes the state-dir lock, prepares the socket, listens. */
export async function startExecHost(options: ExecHostOptions = {}): Promise<ExecHost> {
  const stateDir = path.resolve(options.stateDir ?? resolveStateDir());
  ensurePrivateDir(stateDir);
  const lock: InstanceLock = acquireInstanceLock(stateDir);
  let audit: AuditLog | undefined;
  let replay: ReplayCache | undefined;
  try {
    const approvalsFile = approvalsFilePath(stateDir);
    const approvals = ensureApprovals(approvalsFile, path.join(stateDir, SOCKET_FILE_NAME));
    const token = requireToken(approvals, approvalsFile);
    const socketPath = socketPathFor(approvals, stateDir);
    await prepareSocketPath(socketPath);
    const auditFile = options.auditLog === false ? undefined : path.join(stateDir, AUDIT_FILE_NAME);
    audit = auditFile ? new AuditLog(auditFile, options.auditLog || {}) : undefined;
    // A nonce must be remembered for the whole window in which its ts is acceptable: ±TTL. Journaled, so a
    // restarted host still refuses lines accepted before the restart.
    replay = new ReplayCache(2 * (options.ttlMs ?? TTL_MS) + 1000, {
      file: path.join(stateDir, REPLAY_JOURNAL_FILE_NAME),
    });
    if (replay.recovery?.state === 'corrupt' || replay.recovery?.state === 'torn-tail')
      audit?.write({ event: 'replay-journal', ...replay.recovery });
    const host = new ExecHostServer(options, { stateDir, approvalsFile, socketPath, token, audit, lock, replay });
    await host.listen();
    return host;
  } catch (err) {
    replay?.close();
    audit?.close();
    lock.release();
    throw err;
  }
}

interface HostContext {
  stateDir: string;
  approvalsFile: string;
  socketPath: string;
  token: string;
  audit: AuditLog | undefined;
  lock: InstanceLock;
  replay: ReplayCache;
}

/**
 * What "Always Allow" adds to the allowlist. For a shell wrapper (`sh -lc <script>`) it is the programs of the
 * script's segments, never the shell: an entry for the shell would allow every future script. A script that
 * could not be analysed, and interpreters inside one (an exact entry for them allows anything they run),
 * add nothing: that run is allowed once and the next one asks again.
 */
export function alwaysAllowPatterns(evaluation: Evaluation, resolvedPath: string): string[] {
  const shell = evaluation.shell;
  if (!shell) return [resolvedPath];
  if (!shell.analysable) return [];
  return [...new Set(shell.programs)].filter((program) => !isExecCapableProgram(program));
}

class ExecHostServer implements ExecHost {
  readonly stateDir: string;
  readonly socketPath: string;
  readonly approvalsFile: string;
  readonly auditFile: string | undefined;
  readonly stats: ExecHostStats = {
    connections: 0,
    active: 0,
    rejectedPeers: 0,
    refusedOverCap: 0,
    dropped: 0,
    authFailures: 0,
    replays: 0,
    executed: 0,
    denied: 0,
    queuedRuns: 0,
    busy: 0,
    withdrawn: 0,
  };

  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly replay: ReplayCache;
  private readonly policyFile: ApprovalsCache;
  private readonly slots: RunSlots;
  private readonly watcher: RequesterWatcher;
  private readonly approver: Approver | undefined;
  private readonly euid = process.geteuid?.() ?? -1;
  /** The requester of in-process execs: this process (its pid keys the per-client run allowance). */
  private readonly selfPeer: PeerInfo = {
    pid: process.pid,
    uid: this.euid,
    gid: process.getegid?.() ?? -1,
    exe: process.execPath,
  };
  private bound: { dev: number; ino: number } | undefined;
  private closing: Promise<void> | undefined;
  private readonly usage: AllowlistUsageRecorder;
  /** Verdicts given by evaluateInProcess, by request object, with the approvals they were made against (used once). */
  private readonly verdicts = new WeakMap<
    ExecHostRequest,
    { evaluation: Evaluation; approvals: ApprovalsFile | undefined }
  >();
  private readonly ttlMs: number;
  private readonly readTimeoutMs: number;
  private readonly maxLineBytes: number;
  private readonly maxConnections: number;
  private readonly promptTimeoutMs: number;

  constructor(
    private readonly options: ExecHostOptions,
    private readonly ctx: HostContext,
  ) {
    this.stateDir = ctx.stateDir;
    this.socketPath = ctx.socketPath;
    this.approvalsFile = ctx.approvalsFile;
    this.auditFile = ctx.audit?.file;
    this.ttlMs = options.ttlMs ?? TTL_MS;
    this.readTimeoutMs = options.readTimeoutMs ?? 5000;
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.maxConnections = options.maxConnections ?? 512;
    this.promptTimeoutMs = options.promptTimeoutMs ?? 15_000;
    this.replay = ctx.replay;
    this.policyFile = new ApprovalsCache(ctx.approvalsFile);
    this.usage = new AllowlistUsageRecorder(ctx.approvalsFile, (err) =>
      this.audit({ event: 'persist-failed', error: err.message }),
    );
    this.slots = new RunSlots({
      maxConcurrent: options.maxConcurrentRuns,
      maxPerPeer: options.maxRunsPerPeer,
      queueWaitMs: options.runQueueWaitMs,
    });
    this.watcher = new RequesterWatcher(options.requesterCheckMs);
    const queue = options.pending ? new QueueApprover(options.pending, this.promptTimeoutMs) : undefined;
    this.approver =
      options.approver && queue ? composeApprovers([options.approver], queue) : (options.approver ?? queue);
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    this.server.on('error', () => {
      /* accept errors (EMFILE) must not crash the host */
    });
  }

  async listen(): Promise<void> {
    this.bound = await listenPrivate(this.server, this.socketPath);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.watcher.close();
        for (const socket of this.sockets) socket.destroy();
      });
      if (this.bound) unlinkIfOurs(this.socketPath, this.bound);
      this.usage.flush();
      this.replay.close();
      this.ctx.audit?.close();
      this.ctx.lock.release();
    })();
    return this.closing;
  }

  private onConnection(socket: net.Socket): void {
    this.stats.connections++;
    socket.on('error', () => {
      /* peer resets are routine */
    });
    if (this.sockets.size >= this.maxConnections || this.closing) {
      this.stats.refusedOverCap++;
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.stats.active = this.sockets.size;
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.stats.active = this.sockets.size;
    });
    void this.serve(socket);
  }

  /**
   * The approvals file through its stat-keyed cache. A changed file may carry a rotated socket token,
   * which takes effect here without a restart; a file without a token keeps the last one (never empty).
   */
  private readPolicy(): { ok: true; data: ApprovalsFile | undefined } | { ok: false; error: string } {
    let data: ApprovalsFile | undefined;
    try {
      data = this.policyFile.get();
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    const token = data?.socket?.token;
    if (typeof token === 'string' && token.length > 0 && token !== this.ctx.token) {
      this.ctx.token = token;
      this.audit({ event: 'token-rotated' });
    }
    return { ok: true, data };
  }

  private audit(record: Record<string, unknown> & { event: string }): void {
    try {
      this.ctx.audit?.write(record);
    } catch {
      // Losing an audit record (disk full, rotation failed) must not take the host down.
    }
  }

  /** Writes the reply line, then closes once it is flushed (or after a short grace). */
  private reply(socket: net.Socket, message: unknown): void {
    if (socket.destroyed) return;
    socket.end(encodeLine(message));
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /**
   * Kernel credentials of the connecting process (the authorisation input) plus, for the audit log
   * only, its executable: read through a pidfd when the OS offers one so a recycled pid is never described.
   */
  private identify(socket: net.Socket): { peer: PeerCredentials; exe: string | undefined } {
    // The executable is only ever written to the audit log: without one, do not read it per connection.
    const wantExe = this.ctx.audit !== undefined;
    if (this.options.peerCredentials) {
      const peer = this.options.peerCredentials(socket);
      return { peer, exe: wantExe ? peerExecutable(peer.pid) : undefined };
    }
    // Only the executable needs a handle pinned to the process: without an audit log, skip the pidfd.
    if (!wantExe) return { peer: peerCredentials(socket), exe: undefined };
    const proc = openPeerProcess(socket);
    try {
      const peer: PeerCredentials = { pid: proc.pid, uid: proc.uid, gid: proc.gid, pidReliable: proc.pidReliable };
      let exe: string | undefined;
      try {
        if (wantExe) exe = proc.pidReliable ? proc.executable() : peerExecutable(proc.pid);
      } catch {
        exe = undefined; // exited already: the audit record says so by omission
      }
      return { peer, exe };
    } finally {
      proc.close();
    }
  }

  private async serve(socket: net.Socket): Promise<void> {
    if (TRACE) traceMark('exec.accepted');
    let peer: PeerCredentials;
    let exe: string | undefined;
    try {
      ({ peer, exe } = this.identify(socket));
    } catch (err) {
      // Fail closed: without kernel-verified credentials nothing is served.
      this.stats.rejectedPeers++;
      this.audit({ event: 'peer-unverifiable', error: (err as Error).message });
      this.reply(socket, { type: 'decision', id: crypto.randomUUID(), decision: 'deny' });
      return;
    }
    const peerInfo: PeerInfo = { pid: peer.pid, uid: peer.uid, gid: peer.gid, exe };
    if (peer.uid !== this.euid) {
      this.stats.rejectedPeers++;
      this.audit({ event: 'peer-rejected', peer: peerInfo });
      // The upstream reply for a foreign peer, whatever it sends; its bytes are never parsed.
      socket.on('data', () => {
        /* discard */
      });
      this.reply(socket, { type: 'decision', id: crypto.randomUUID(), decision: 'deny' });
      return;
    }
    let line: string;
    try {
      line = await readLine(socket, {
        maxLineBytes: this.maxLineBytes,
        timeoutMs: this.readTimeoutMs,
        strictUtf8: true,
      });
    } catch (err) {
      this.stats.dropped++;
      this.audit({ event: 'dropped', peer: peerInfo, reason: (err as { code?: string }).code ?? 'read' });
      socket.destroy();
      return;
    }
    let message: unknown;
    try {
      message = parseUntrustedJson(line);
    } catch {
      this.stats.dropped++;
      this.audit({ event: 'dropped', peer: peerInfo, reason: 'malformed' });
      socket.destroy();
      return;
    }
    if (!isRecord(message)) {
      this.stats.dropped++;
      this.audit({ event: 'dropped', peer: peerInfo, reason: 'malformed' });
      socket.destroy();
      return;
    }
    // One request per connection: anything after the line is ignored (and not buffered).
    socket.on('data', () => {
      /* discard */
    });
    if (message.type !== 'exec' && message.type !== 'request') {
      this.stats.dropped++;
      this.audit({ event: 'dropped', peer: peerInfo, reason: 'unknown-type' });
      socket.destroy();
      return;
    }
    // From here on the client waits for an answer: leaving withdraws its prompt, queue place and run.
    const watch = this.watcher.watch(socket);
    try {
      if (message.type === 'exec') await this.handleExec(socket, message, peerInfo, watch.signal);
      else await this.handleRequest(socket, message, peerInfo, watch.signal);
    } catch (err) {
      this.audit({ event: 'error', peer: peerInfo, error: (err as Error).message });
      socket.destroy();
    } finally {
      watch.stop();
    }
  }

  private async handleRequest(
    socket: net.Socket,
    msg: Record<string, unknown>,
    peer: object,
    gone: AbortSignal,
  ): Promise<void> {
    if (!isPromptLine(msg)) {
      this.stats.dropped++;
      socket.destroy();
      return;
    }
    const { id, token, request } = msg as PromptLine & { request: Record<string, unknown> };
    this.readPolicy(); // picks up a rotated token
    if (!timingSafeEqualString(token, this.ctx.token)) {
      this.stats.authFailures++;
      this.audit({ event: 'request', peer, id, outcome: 'deny', reason: 'token' });
      this.reply(socket, { type: 'decision', id, decision: 'deny' });
      return;
    }
    const offered = Array.isArray(request.allowedDecisions)
      ? APPROVAL_DECISIONS.filter((d) => (request.allowedDecisions as unknown[]).includes(d))
      : request.ask === 'always'
        ? (['allow-once', 'deny'] as ApprovalDecision[])
        : [...APPROVAL_DECISIONS];
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const prompt: ApprovalPrompt = {
      id: crypto.randomUUID(),
      command: [request.command],
      commandText: request.command,
      shellText: true,
      cwd: str(request.cwd),
      agentId: str(request.agentId) ?? 'main',
      resolvedPath: str(request.resolvedPath),
      host: str(request.host) ?? 'node',
      security: str(request.security) ?? '',
      ask: str(request.ask) ?? '',
      requester: peerSummary(peer),
      allowedDecisions: offered.length > 0 ? offered : ['deny'],
    };
    const asked = await this.askHuman(prompt, gone);
    const decision = asked.decision;
    if (asked.end === 'withdrawn') this.stats.withdrawn++;
    this.audit({
      event: 'request',
      peer,
      id,
      outcome: decision ?? 'no-decision',
      prompt: asked,
      command: prompt.commandText.slice(0, 1000),
    });
    if (decision === null) {
      socket.destroy(); // upstream: a prompt closed without a decision gets no reply
      return;
    }
    this.reply(socket, { type: 'decision', id, decision });
  }

  /** Asks the humans; the prompt is withdrawn as soon as the client goes away (`gone`). */
  private askHuman(prompt: ApprovalPrompt, gone: AbortSignal): Promise<AskOutcome> {
    return askForDecision(this.approver, prompt, this.promptTimeoutMs, gone);
  }

  /** The timeout a run gets: the request's, else the default, never above the maximum. */
  private runTimeoutMs(requested: number | undefined): number {
    const max = this.options.maxRunTimeoutMs ?? MAX_RUN_TIMEOUT_MS;
    return Math.min(requested ?? this.options.defaultRunTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS, max);
  }

  /** Nobody is left to answer: record it and end the exchange. */
  private withdrawn(ex: ExecExchange, record: Record<string, unknown>): void {
    this.stats.withdrawn++;
    this.audit({ event: 'exec', outcome: 'withdrawn', peer: ex.peer, id: ex.id, ...record });
    ex.drop();
  }

  /** A denial: counted, audited with what was asked (`audited`), answered with the typed error. */
  private fail(ex: ExecExchange, error: ExecError, extra: Record<string, unknown> = {}): void {
    this.stats.denied++;
    const detail = 'detail' in error ? error.detail : undefined;
    this.audit({ event: 'exec', peer: ex.peer, id: ex.id, outcome: 'denied', reason: error.reason, detail, ...extra });
    ex.answer({ type: 'exec-res', id: ex.id, ok: false, error });
  }

  /** A signed dry run: the request was authenticated and evaluated; nothing is prompted, persisted or run. */
  private replyDryRun(ex: ExecExchange, evaluation: Evaluation): void {
    const wouldPrompt = evaluation.outcome === 'prompt';
    this.audit({ event: 'exec', peer: ex.peer, id: ex.id, outcome: 'dry-run', evaluation: evaluation.outcome });
    ex.answer({
      type: 'exec-res',
      id: ex.id,
      ok: true,
      payload: {
        dryRun: true,
        outcome: evaluation.outcome,
        ...(wouldPrompt ? {} : evaluation.denial ? { reason: evaluation.denial.reason } : {}),
        ...(evaluation.policy ? { security: evaluation.policy.security, ask: evaluation.policy.ask } : {}),
        ...(evaluation.plan?.file ? { file: evaluation.plan.file } : {}),
      },
    });
  }

  /**
   * The socket's `exec`: strict decode, TTL, HMAC, replay cache and JSON authenticate the line; then the
   * request takes the same path as an in-process one (execute).
   */
  private async handleExec(
    socket: net.Socket,
    msg: Record<string, unknown>,
    peer: PeerInfo,
    gone: AbortSignal,
  ): Promise<void> {
    const arrivedAt = Date.now();
    if (!isExecLine(msg)) {
      this.stats.dropped++;
      this.audit({ event: 'dropped', peer, reason: 'strict-decode' });
      socket.destroy();
      return;
    }
    const { id, nonce, ts, hmac, requestJson } = msg;
    const ex: ExecExchange = {
      id,
      peer,
      arrivedAt,
      gone,
      answer: (message) => this.reply(socket, message),
      drop: () => socket.destroy(),
    };
    if (Math.abs(Date.now() - ts) > this.ttlMs) return this.fail(ex, errors.ttl);
    // One (cached) read of the approvals file serves both the token and the policy.
    const policy = this.readPolicy();
    if (!verifyExecRequest(this.ctx.token, nonce, ts, requestJson, hmac)) {
      this.stats.authFailures++;
      return this.fail(ex, errors.hmac);
    }
    const seen = this.replay.remember(nonce);
    if (seen !== 'ok') {
      this.stats.replays++;
      return this.fail(ex, errors.replay, {
        reason: seen === 'replay' ? 'replay' : seen === 'full' ? 'replay-cache-full' : `replay-${seen}`,
      });
    }
    let parsed: unknown;
    try {
      parsed = parseUntrustedJson(requestJson);
    } catch {
      return this.fail(ex, errors.json);
    }
    if (TRACE) traceMark('exec.authenticated');
    return this.execute(ex, parsed, policy);
  }

  /**
   * An `exec` from this process (`up`'s own node host): the caller is this process, so there is no line
   * to authenticate (no HMAC, TTL or replay cache: those prove a socket peer holds the token). Everything
   * after that is the socket's path: policy, prompt, run slots (keyed by this pid), pinned exec, audit.
   * Resolves with the reply the socket would have sent, or null when the host is closing or failed.
   */
  execInProcess(request: ExecHostRequest, signal: AbortSignal): Promise<ExecResponse | null> {
    if (this.closing) return Promise.resolve(null);
    return new Promise<ExecResponse | null>((resolve) => {
      const ex: ExecExchange = {
        id: crypto.randomUUID(),
        peer: this.selfPeer,
        arrivedAt: Date.now(),
        gone: signal,
        answer: resolve,
        drop: () => resolve(null),
      };
      this.execute(ex, request, this.readPolicy()).then(
        () => resolve(null), // answered already unless it ended without an answer
        (err: unknown) => {
          this.audit({ event: 'error', peer: ex.peer, error: (err as Error).message });
          resolve(null);
        },
      );
    });
  }

  evaluateInProcess(request: ExecHostRequest): InProcessVerdict {
    const policy = this.readPolicy();
    if (!policy.ok) return policy;
    const evaluation = evaluateSystemRun(request, policy.data, this.options.evaluate);
    // A screen-recording check is asynchronous (decide makes it): such a request is evaluated again there.
    if (request.needsScreenRecording !== true) this.verdicts.set(request, { evaluation, approvals: policy.data });
    return { ok: true, evaluation };
  }

  /** Policy → prompt → pinned run → audit, for an authenticated request (socket or in-process). */
  private async execute(
    ex: ExecExchange,
    parsed: unknown,
    policy: ReturnType<ExecHostServer['readPolicy']>,
  ): Promise<void> {
    if (!policy.ok) return this.fail(ex, errors.policyUnreadable, { error: policy.error });
    // Everything below reads fields of the request: a signed `null` must get the typed denial, not a TypeError.
    if (!isRecord(parsed)) return this.fail(ex, validateRequest(parsed) ?? errors.json);
    const request = parsed as unknown as ExecHostRequest;
    // Denials from here on are recorded with what was asked.
    const audited = auditedRequest(request);
    const decided = await this.decide(ex, request, policy.data);
    if (!decided) return;
    const { evaluation, decision, asked } = decided;
    const commandText = Array.isArray(request.command)
      ? canonicalCommandText(request.command.map(String)).slice(0, 1000)
      : undefined;
    if (ex.gone.aborted) return this.withdrawn(ex, { ...audited, command: commandText, prompt: asked });
    if (evaluation.outcome !== 'allow' || !evaluation.plan) {
      const denial: ExecError = evaluation.denial ?? errors.json;
      const detailed = asked ? { ...denial, detail: denialDetail(asked, evaluation.policy?.askFallback) } : denial;
      return this.fail(ex, detailed, { ...audited, command: commandText, decision, prompt: asked });
    }
    const plan = evaluation.plan;
    // The binary may have been swapped while a human was deciding: run only the inode that was checked.
    if (plan.file && !sameFile(plan.file, plan.fileIdentity)) {
      return this.fail(ex, denials.executableChanged, { command: commandText, file: plan.file });
    }
    if (decision === 'allow-always' && evaluation.policy?.security === 'allowlist' && plan.file) {
      this.persist(evaluation, plan.file, plan.commandText, true);
    } else if (evaluation.match && plan.file) {
      this.persist(evaluation, plan.file, plan.commandText, false);
    }
    const ran = await this.runPlan(ex, plan, audited, commandText);
    if (!ran) return;
    const { result, durationMs } = ran;
    this.stats.executed++;
    this.audit({
      event: 'exec',
      peer: ex.peer,
      id: ex.id,
      outcome: 'ran',
      command: commandText,
      ...audited,
      argv: auditArgv(plan.argv),
      cwd: plan.cwd,
      agentId: evaluation.policy?.agentId,
      file: plan.file,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs,
      decision,
    });
    if (TRACE) traceMark('exec.reply');
    ex.answer({ type: 'exec-res', id: ex.id, ok: true, payload: result });
  }

  /** Evaluates the policy and, when it asks, a human. Undefined when a dry run was answered instead. */
  private async decide(
    ex: ExecExchange,
    request: ExecHostRequest,
    approvals: ApprovalsFile | undefined,
  ): Promise<
    { evaluation: Evaluation; decision: ApprovalDecision | null | undefined; asked?: AskOutcome } | undefined
  > {
    const evaluateOptions: EvaluateOptions = { ...this.options.evaluate };
    if (request.needsScreenRecording === true && evaluateOptions.screenRecordingGranted === undefined) {
      evaluateOptions.screenRecordingGranted = await screenRecordingGranted();
    }
    if (TRACE) traceMark('exec.policy');
    // A verdict this host gave for this very request object moments ago (evaluateInProcess), against the
    // approvals object it reads now (the stat-keyed cache returns a new one for any change), is this
    // evaluation; anything else (socket requests, a changed file) is evaluated here.
    const given = this.verdicts.get(request);
    this.verdicts.delete(request);
    let evaluation: Evaluation =
      given && given.approvals === approvals && request.needsScreenRecording !== true
        ? given.evaluation
        : evaluateSystemRun(request, approvals, evaluateOptions);
    if (TRACE) traceMark('exec.policy.done');
    if (request.dryRun === true) {
      this.replyDryRun(ex, evaluation);
      return undefined;
    }
    const decision: ApprovalDecision | null | undefined = request.approvalDecision ?? undefined;
    if (evaluation.outcome !== 'prompt' || !evaluation.policy || !evaluation.plan) return { evaluation, decision };
    const prompt: ApprovalPrompt = {
      id: crypto.randomUUID(),
      command: evaluation.plan.argv,
      commandText: evaluation.plan.commandText,
      cwd: evaluation.plan.cwd,
      agentId: evaluation.policy.agentId,
      resolvedPath: evaluation.plan.file,
      host: 'app',
      security: evaluation.policy.security,
      ask: evaluation.policy.ask,
      askFallback: evaluation.policy.askFallback,
      requester: peerSummary(ex.peer),
      allowedDecisions: evaluation.allowedDecisions ?? ['allow-once', 'deny'],
      env: evaluation.envOverrides,
      notes: promptNotes(evaluation),
    };
    const asked = await this.askHuman(prompt, ex.gone);
    evaluation = applyDecision(evaluation, asked.decision, request, evaluateOptions);
    return { evaluation, decision: asked.decision, asked };
  }

  /**
   * Runs an allowed plan in a run slot, pinned to the checked inode. Undefined when the exchange was
   * already ended (busy, withdrawn, binary changed); a plan without a file is answered "failed to start".
   */
  private async runPlan(
    ex: ExecExchange,
    plan: NonNullable<Evaluation['plan']>,
    audited: Record<string, unknown>,
    command: string | undefined,
  ): Promise<{ result: ExecResult; durationMs?: number } | undefined> {
    if (!plan.file) {
      const why = describeResolveFailure(
        plan.argv[0]!,
        plan.resolveFailure ?? 'not-found',
        plan.searchPath ?? '',
        plan.cwd,
      );
      return { result: { timedOut: false, success: false, stdout: '', stderr: '', error: `failed to start: ${why}` } };
    }
    const file = plan.file;
    // Name-dispatching binaries must not see a disguised argv[0]: keep it only if it names the same file.
    const argv = path.basename(plan.argv[0]) === path.basename(file) ? plan.argv : [file, ...plan.argv.slice(1)];
    this.stats.queuedRuns++;
    // Peers without a pid (an OS that cannot tell) share one allowance. The busy answer must reach the
    // client before it gives up: upstream clients wait EXEC_TIMEOUT_MS in all, prompts included.
    const waitMs = Math.max(MIN_QUEUE_WAIT_MS, ex.arrivedAt + EXEC_TIMEOUT_MS - ANSWER_MARGIN_MS - Date.now());
    const slot = await this.slots
      .acquire(`pid:${ex.peer.pid ?? 'unknown'}`, ex.gone, waitMs)
      .finally(() => this.stats.queuedRuns--);
    if ('refused' in slot) {
      if (slot.refused === 'withdrawn') return void this.withdrawn(ex, { ...audited, command });
      this.stats.busy++;
      return void this.fail(ex, busyError(slot.refused, this.slots), { command });
    }
    let result: ExecResult;
    let durationMs: number;
    try {
      const started = performance.now();
      // Checked again once a run slot is free, and held open from that check to the exec (Linux), so
      // neither the wait for a slot nor anything later can swap the binary.
      const pinned = openPinnedExecutable(file, plan.fileIdentity);
      if (!pinned) return void this.fail(ex, denials.executableChanged, { command, file });
      if (TRACE) traceMark('exec.spawn');
      try {
        result = await runCommand({
          file,
          execFd: pinned.execFd,
          argv,
          cwd: plan.cwd,
          env: plan.env,
          timeoutMs: this.runTimeoutMs(plan.timeoutMs),
          backend: this.options.runner?.backend,
          maxOutputBytes: this.options.runner?.maxOutputBytes,
          killGraceMs: this.options.runner?.killGraceMs,
          // The requester leaving kills the run's process group: nobody would get its result.
          signal: ex.gone,
        });
      } finally {
        pinned.close();
      }
      if (TRACE) traceMark('exec.spawn.done');
      durationMs = Math.round(performance.now() - started);
    } finally {
      slot.release();
    }
    if (ex.gone.aborted) return void this.withdrawn(ex, { ...audited, command, file });
    return { result, durationMs };
  }

  /**
   * Always Allow → a new allowlist entry, written at once (it is policy). An allowlist hit → lastUsed*
   * through the batched usage recorder: an fsync'd rewrite per run would sit on the hot path.
   */
  private persist(evaluation: Evaluation, resolvedPath: string, commandText: string, addPattern: boolean): void {
    const agentId = evaluation.policy?.agentId ?? 'main';
    const usage = { lastUsedAt: Date.now(), lastUsedCommand: commandText, lastResolvedPath: resolvedPath };
    if (addPattern) {
      const patterns = alwaysAllowPatterns(evaluation, resolvedPath);
      if (patterns.length === 0) return;
      // The human was told in the prompt (promptNotes); the log keeps a record of the broad entry.
      for (const pattern of patterns)
        if (isExecCapableProgram(pattern))
          this.audit({ event: 'allowlist-warning', agentId, pattern, warning: 'can run other programs' });
      this.writeApprovals((data) => {
        for (const pattern of patterns)
          addAllowlistPattern(data, agentId, pattern, { ...usage, lastResolvedPath: pattern });
        return true;
      });
      return;
    }
    const match = evaluation.match;
    if (match) this.usage.record(match.sectionKey, match.entry, usage);
  }

  private writeApprovals(mutate: (data: ApprovalsFile) => boolean): void {
    try {
      updateApprovals(this.approvalsFile, mutate);
    } catch (err) {
      this.audit({ event: 'persist-failed', error: (err as Error).message });
    }
  }
}
