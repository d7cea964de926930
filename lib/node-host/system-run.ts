// system.run, system.run.prepare and system.execApprovals.get/set for the node host. The node applies
// the exec-approvals policy itself (it never prompts: a needed approval is `approval-required`),
// then runs the command either through the app's exec socket or with the local runner. Both paths
// produce the TS node host's result shape and the same SYSTEM_RUN_DENIED messages.
import {
  AllowlistUsageRecorder,
  ApprovalsCache,
  approvalsFilePath,
  socketPathFor,
  type ApprovalsFile,
} from '../exec-host/exec-approvals-file.js';
import {
  canonicalCommandText,
  denials,
  evaluateSystemRun,
  type Evaluation,
  type ExecHostRequest,
} from '../exec-host/policy.js';
import { describeResolveFailure, openPinnedExecutable } from '../exec-host/resolve-executable.js';
import { runCommand, type ExecResult } from '../exec-host/runner.js';
import { NodeCommandError } from './invoke-error.js';
import { parseRunParams, type RunParams } from './run-params.js';
import { getExecApprovals, setExecApprovals } from './approvals-rpc.js';
import {
  companionUnavailable,
  deny,
  denyWith,
  finished,
  policyUnreadable,
  type SystemRunResult,
} from './run-events.js';
import { checkApprovedPlan, prepareSystemRun } from './run-prepare.js';
import { appExecAvailable, execThroughApp, type AppExecReply } from './app-exec.js';
import { EXEC_TIMEOUT_MS, ExecHostClientError } from '../exec-host/client.js';
import { DEFAULT_RUN_TIMEOUT_MS, MAX_RUN_TIMEOUT_MS } from '../exec-host/run-slots.js';
import type { ExecResponse, InProcessVerdict } from '../exec-host/server.js';
import { TRACE, traceMark } from '../common/trace.js';

export type ExecHostMode = 'auto' | 'app' | 'local';

export type { SystemRunResult } from './run-events.js';

export const OUTPUT_CAP_BYTES = 200_000;
const TRUNCATION_MARK = '\n... (truncated)';
/** The app may spend this long asking a human (15 s) before the command even starts. */
const APP_PROMPT_ALLOWANCE_MS = 20_000;
const KNOWN_APP_REASONS = new Set([
  'security=deny',
  'user-denied',
  'allowlist-miss',
  'approval-required',
  'permission:screenRecording',
  'approval-cancelled',
  'execution-plan-miss',
  'companion-unavailable',
  'busy',
]);

export interface SystemRunServiceOptions {
  stateDir: string;
  mode: ExecHostMode;
  emitEvent: (event: 'exec.finished' | 'exec.denied', payload: Record<string, unknown>) => void;
  log?: (message: string) => void;
  /** Overrides for tests and for `up` (which knows its app socket path). */
  appTimeoutMs?: number;
  /**
   * The app's exec host in this process (`up`): runs go to it directly, through the same policy, prompt,
   * run-slot and audit code as the socket, without the socket and its signing. Not used in mode local.
   */
  inProcessApp?: InProcessApp;
}

/** What the node host needs of an exec host in its own process. */
export interface InProcessApp {
  /** The exec host's own verdict, which it reuses when the same request object reaches execInProcess. */
  evaluateInProcess(request: ExecHostRequest): InProcessVerdict;
  execInProcess(request: ExecHostRequest, signal: AbortSignal): Promise<ExecResponse | null>;
}

export interface RunContext {
  invokeId: string;
  timeoutMs?: number;
  /** Aborts when the Gateway cancels the invoke (node.invoke.cancel): the run is killed, the prompt withdrawn. */
  signal?: AbortSignal;
}

/** What a cancelled run answers (the Gateway has stopped waiting; this only reaches logs). */
function cancelledError(): NodeCommandError {
  return new NodeCommandError('UNAVAILABLE', 'UNAVAILABLE: cancelled: the caller withdrew the request');
}

export interface SystemRunService {
  readonly mode: ExecHostMode;
  run(params: unknown, context: RunContext): Promise<SystemRunResult>;
  prepare(params: unknown): Promise<Record<string, unknown>>;
  approvalsGet(): Record<string, unknown>;
  approvalsSet(params: unknown): Record<string, unknown>;
  /** Which path the next run takes: 'app' or 'local' (undefined: app mode with no app → fail closed). */
  route(): 'app' | 'local' | undefined;
  close(): Promise<void>;
}

/** Applies the TS node host's shared 200 000-byte cap over stdout + stderr. */
export function capOutput(stdout: string, stderr: string, cap = OUTPUT_CAP_BYTES): { stdout: string; stderr: string } {
  const outBytes = Buffer.byteLength(stdout);
  const errBytes = Buffer.byteLength(stderr);
  if (outBytes + errBytes <= cap) return { stdout, stderr };
  const keepOut = Math.min(outBytes, cap);
  const cut = (text: string, bytes: number): string =>
    Buffer.from(text)
      .subarray(0, bytes)
      .toString('utf8')
      .replace(/\uFFFD$/, '');
  const out = cut(stdout, keepOut);
  const err = cut(stderr, cap - keepOut);
  if (stderr === '') return { stdout: out + TRUNCATION_MARK, stderr: '' };
  return { stdout: out, stderr: err + TRUNCATION_MARK };
}

/** Normalises a runner or app result to the node host's shape. */
export function toNodeResult(result: Partial<ExecResult> & { error?: string | null }): SystemRunResult {
  const capped = capOutput(
    typeof result.stdout === 'string' ? result.stdout : '',
    typeof result.stderr === 'string' ? result.stderr : '',
  );
  const timedOut = result.timedOut === true;
  const out: SystemRunResult = {
    timedOut,
    success: false,
    stdout: capped.stdout,
    stderr: capped.stderr,
    error: null,
  };
  if (typeof result.exitCode === 'number' && !timedOut) out.exitCode = result.exitCode;
  out.success =
    out.exitCode === 0 &&
    !timedOut &&
    !(typeof result.error === 'string' && result.error.startsWith('failed to start'));
  if (timedOut) out.error = 'timeout';
  else if (typeof result.error === 'string' && !/^exit \d+$/.test(result.error)) out.error = result.error;
  // Key order as OpenClaw sends it: exitCode first.
  return out.exitCode === undefined
    ? out
    : {
        exitCode: out.exitCode,
        timedOut: out.timedOut,
        success: out.success,
        stdout: out.stdout,
        stderr: out.stderr,
        error: out.error,
      };
}

/**
 * One node host's system.run service. A class rather than a closure so that each phase is its own short
 * method and a run allocates no closures; the events and errors live in run-events.ts, system.run.prepare
 * in run-prepare.ts, system.execApprovals.get/set in approvals-rpc.ts.
 */
class NodeSystemRunService implements SystemRunService {
  readonly mode: ExecHostMode;
  private readonly log: (message: string) => void;
  private readonly usage: AllowlistUsageRecorder;
  /** Stat-keyed: an unchanged file is not re-read or re-parsed per run (every check of readApprovals still applies). */
  private readonly policyFile: ApprovalsCache;

  constructor(private readonly options: SystemRunServiceOptions) {
    this.mode = options.mode;
    const approvalsFile = approvalsFilePath(options.stateDir);
    const log = options.log ?? (() => {});
    this.log = log;
    this.usage = new AllowlistUsageRecorder(approvalsFile, (err) =>
      log(`could not record allowlist use: ${err.message}`),
    );
    this.policyFile = new ApprovalsCache(approvalsFile);
  }

  async run(rawParams: unknown, context: RunContext): Promise<SystemRunResult> {
    if (TRACE) traceMark('node.run');
    const params = parseRunParams(rawParams);
    const commandText = params.rawCommand ?? canonicalCommandText(params.command);
    const preApproved = params.approved && params.approvalDecision !== undefined;
    await checkApprovedPlan(this.options, params, commandText);

    const request: ExecHostRequest = {
      command: params.command,
      rawCommand: params.rawCommand ?? null,
      cwd: params.cwd ?? null,
      env: params.env ?? null,
      timeoutMs: params.timeoutMs ?? null,
      needsScreenRecording: params.needsScreenRecording || null,
      agentId: params.agentId ?? null,
      sessionKey: params.sessionKey ?? null,
      approvalDecision: preApproved ? params.approvalDecision! : null,
    };
    if (this.options.inProcessApp && this.options.mode !== 'local')
      return this.runInProcess(params, commandText, request, this.options.inProcessApp, context);

    let file: ApprovalsFile | undefined;
    try {
      file = this.policyFile.get();
    } catch (err) {
      policyUnreadable(this.options, params, commandText, (err as Error).message);
    }
    const evaluation = evaluateSystemRun(request, file);
    if (evaluation.outcome === 'deny') denyWith(this.options, params, commandText, evaluation.denial!);

    const path = this.routeFor(file);
    if (path === undefined) companionUnavailable(this.options, params, commandText);
    if (path === 'app') return this.runThroughApp(params, commandText, request, file, context);
    return this.runLocally(params, commandText, evaluation, context);
  }

  prepare(params: unknown): Promise<Record<string, unknown>> {
    return prepareSystemRun(params, this.safeLoad());
  }

  approvalsGet(): Record<string, unknown> {
    return getExecApprovals(this.options.stateDir);
  }

  approvalsSet(params: unknown): Record<string, unknown> {
    return setExecApprovals(this.options.stateDir, params);
  }

  route(): 'app' | 'local' | undefined {
    return this.routeFor();
  }

  async close(): Promise<void> {
    this.usage.flush();
  }

  private routeFor(file: ApprovalsFile | undefined = this.safeLoad()): 'app' | 'local' | undefined {
    if (this.options.mode === 'local') return 'local';
    if (this.options.inProcessApp) return 'app';
    const available = appExecAvailable(this.appSocketPath(file), file);
    if (available) return 'app';
    return this.options.mode === 'app' ? undefined : 'local';
  }

  private appSocketPath(file: ApprovalsFile | undefined): string {
    return socketPathFor(file ?? { version: 1 }, this.options.stateDir);
  }

  private safeLoad(): ApprovalsFile | undefined {
    try {
      return this.policyFile.get();
    } catch {
      return undefined;
    }
  }

  /**
   * `up`: the exec host in this process evaluates once; its denials are answered here with the node
   * host's messages, and the same request object then carries that verdict into the exec host, which
   * enforces it (and re-evaluates if the approvals file changed in between).
   */
  private async runInProcess(
    params: RunParams,
    commandText: string,
    request: ExecHostRequest,
    app: InProcessApp,
    context: RunContext,
  ): Promise<SystemRunResult> {
    const appRequest: ExecHostRequest = { ...request, timeoutMs: request.timeoutMs ?? context.timeoutMs ?? null };
    const verdict = app.evaluateInProcess(appRequest);
    if (!verdict.ok) policyUnreadable(this.options, params, commandText, verdict.error);
    if (verdict.evaluation.outcome === 'deny') denyWith(this.options, params, commandText, verdict.evaluation.denial!);
    if (TRACE) traceMark('node.exec');
    // The exec host bounds the prompt and the run itself; the Gateway's cancel aborts both.
    const signal = context.signal ?? new AbortController().signal;
    const response = await app.execInProcess(appRequest, signal);
    if (signal.aborted) throw cancelledError();
    const reply: AppExecReply | null =
      response && (response.ok ? { ok: true, payload: response.payload } : { ok: false, error: response.error });
    if (TRACE) traceMark('node.exec.done');
    return finished(this.options, params, commandText, this.fromAppReply(params, commandText, reply));
  }

  /** The app re-checks the same policy and may prompt its user; it kills the command at its timeout. */
  private async runThroughApp(
    params: RunParams,
    commandText: string,
    request: ExecHostRequest,
    file: ApprovalsFile | undefined,
    context: RunContext,
  ): Promise<SystemRunResult> {
    const appRequest: ExecHostRequest = { ...request, timeoutMs: request.timeoutMs ?? context.timeoutMs ?? null };
    let reply: AppExecReply | null;
    if (TRACE) traceMark('node.exec');
    // Our wait outlasts the app's own timeout a little.
    const timeoutMs =
      this.options.appTimeoutMs ?? Math.max(EXEC_TIMEOUT_MS, (appRequest.timeoutMs ?? 0) + APP_PROMPT_ALLOWANCE_MS);
    try {
      reply = await execThroughApp(this.appSocketPath(file), file, appRequest, {
        timeoutMs,
        log: this.log,
        signal: context.signal,
      });
    } catch (err) {
      if (err instanceof ExecHostClientError && err.code === 'ERR_EXEC_HOST_CANCELLED') throw cancelledError();
      throw err;
    }
    if (TRACE) traceMark('node.exec.done');
    return finished(this.options, params, commandText, this.fromAppReply(params, commandText, reply));
  }

  /** The in-process runner: the node host never prompts, and runs the file the policy judged. */
  private async runLocally(
    params: RunParams,
    commandText: string,
    evaluation: Evaluation,
    context: RunContext,
  ): Promise<SystemRunResult> {
    if (evaluation.outcome === 'prompt')
      deny(
        this.options,
        params,
        commandText,
        'SYSTEM_RUN_DENIED',
        'SYSTEM_RUN_DENIED: approval required (nobody to ask: this node host runs commands itself and never ' +
          'prompts; no exec host app is in use)',
        'approval-required',
      );
    const plan = evaluation.plan!;
    let result: ExecResult;
    if (!plan.file) {
      result = unresolvedResult(params, evaluation);
    } else {
      // The file that runs is the one the policy judged (held open from this check to the exec on Linux).
      const pinned = openPinnedExecutable(plan.file, plan.fileIdentity);
      if (!pinned) denyWith(this.options, params, commandText, denials.executableChanged);
      try {
        result = await runCommand({
          file: plan.file,
          execFd: pinned.execFd,
          argv: plan.argv,
          cwd: plan.cwd,
          env: plan.env,
          timeoutMs: Math.min(plan.timeoutMs ?? context.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS, MAX_RUN_TIMEOUT_MS),
          maxOutputBytes: OUTPUT_CAP_BYTES,
          signal: context.signal,
        });
      } finally {
        pinned.close();
      }
      if (context.signal?.aborted) throw cancelledError();
    }
    this.recordAllowlistUse(evaluation, commandText);
    return finished(this.options, params, commandText, toNodeResult(result));
  }

  private recordAllowlistUse(evaluation: Evaluation, commandText: string): void {
    const match = evaluation.match;
    if (!match) return;
    this.usage.record(match.sectionKey, match.entry, {
      lastUsedAt: Date.now(),
      lastUsedCommand: commandText,
      ...(evaluation.plan?.file ? { lastResolvedPath: evaluation.plan.file } : {}),
    });
  }

  private fromAppReply(params: RunParams, commandText: string, reply: AppExecReply | null): SystemRunResult {
    if (reply === null) return companionUnavailable(this.options, params, commandText);
    if (!reply.ok) {
      const error = reply.error ?? { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DENIED: approval required' };
      if (error.reason === 'busy') throw new NodeCommandError('UNAVAILABLE', error.message);
      if (error.code === 'INVALID_REQUEST') {
        throw new NodeCommandError(
          'INVALID_REQUEST',
          error.message.startsWith('SYSTEM_RUN_DENIED') ? error.message : `INVALID_REQUEST: ${error.message}`,
        );
      }
      const reason =
        typeof error.reason === 'string' && KNOWN_APP_REASONS.has(error.reason) ? error.reason : 'approval-required';
      // Our exec host says why in `detail` (who denied, or that nobody answered and which askFallback
      // applied): appended in parentheses, as upstream appends hints, so the message still starts as specified.
      const message = error.message || 'SYSTEM_RUN_DENIED: approval required';
      const detail = typeof error.detail === 'string' ? error.detail.slice(0, 300) : '';
      return deny(
        this.options,
        params,
        commandText,
        'SYSTEM_RUN_DENIED',
        detail ? `${message} (${detail})` : message,
        reason,
      );
    }
    return toNodeResult((reply.payload ?? {}) as Partial<ExecResult>);
  }
}

/** The run the policy allowed but whose executable does not resolve: reported as a failed start, not a denial. */
function unresolvedResult(params: RunParams, evaluation: Evaluation): ExecResult {
  const plan = evaluation.plan!;
  const why = describeResolveFailure(
    params.command[0]!,
    plan.resolveFailure ?? 'not-found',
    plan.searchPath ?? '',
    plan.cwd,
  );
  return { timedOut: false, success: false, stdout: '', stderr: '', error: `failed to start: ${why}` };
}

export function createSystemRunService(options: SystemRunServiceOptions): SystemRunService {
  return new NodeSystemRunService(options);
}
