// system.run, system.run.prepare and system.execApprovals.get/set for the node host. The node applies
// the exec-approvals policy itself (it never prompts: a needed approval is `approval-required`),
// then runs the command either through the app's exec socket or with the local runner. Both paths
// produce the TS node host's result shape and the same SYSTEM_RUN_DENIED messages.
import crypto from 'node:crypto';
import fs from 'node:fs';

import {
  AllowlistUsageRecorder,
  ApprovalsCache,
  approvalsFilePath,
  socketPathFor,
  type ApprovalsFile,
} from '../exec-host/exec-approvals-file.js';
import {
  APPROVALS_INVALID,
  BASE_HASH_CHANGED,
  BASE_HASH_REQUIRED,
  readApprovalsSnapshot,
  writeApprovalsSnapshot,
} from '../exec-host/exec-approvals-edit.js';
import {
  canonicalCommandText,
  denials,
  evaluateSystemRun,
  resolveEffectivePolicy,
  type Denial,
  type Evaluation,
  type ExecHostRequest,
} from '../exec-host/policy.js';
import {
  describeResolveFailure,
  openPinnedExecutable,
  resolveExecutable,
  trustedSearchPath,
} from '../exec-host/resolve-executable.js';
import { runCommand, type ExecResult } from '../exec-host/runner.js';
import { NodeCommandError } from './invoke-error.js';
import { parsePrepareParams, parseRunParams, type RunParams } from './run-params.js';
import { appExecAvailable, execThroughApp, type AppExecReply } from './app-exec.js';
import { EXEC_TIMEOUT_MS, ExecHostClientError } from '../exec-host/client.js';
import { DEFAULT_RUN_TIMEOUT_MS, MAX_RUN_TIMEOUT_MS } from '../exec-host/run-slots.js';
import type { ExecResponse, InProcessVerdict } from '../exec-host/server.js';
import { TRACE, traceMark } from '../common/trace.js';

export type ExecHostMode = 'auto' | 'app' | 'local';

/** The node host's system.run result (node-commands.md §2.3, TS column). */
export interface SystemRunResult {
  exitCode?: number;
  timedOut: boolean;
  success: boolean;
  stdout: string;
  stderr: string;
  error: string | null;
}

export const OUTPUT_CAP_BYTES = 200_000;
const EVENT_OUTPUT_CHARS = 20_000;
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

/** Streamed: an executable can be large, and reading it whole would stall the node's JS thread. */
async function sha256File(file: string): Promise<string | undefined> {
  try {
    const hash = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

function sameArgv(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);
}

export function createSystemRunService(options: SystemRunServiceOptions): SystemRunService {
  const approvalsFile = approvalsFilePath(options.stateDir);
  const log = options.log ?? (() => {});
  const usage = new AllowlistUsageRecorder(approvalsFile, (err) =>
    log(`could not record allowlist use: ${err.message}`),
  );
  // Stat-keyed: an unchanged file is not re-read or re-parsed per run (every check of readApprovals still applies).
  const policyFile = new ApprovalsCache(approvalsFile);

  function loadPolicyFile(): ApprovalsFile | undefined {
    return policyFile.get();
  }

  function appSocketPath(file: ApprovalsFile | undefined): string {
    return socketPathFor(file ?? { version: 1 }, options.stateDir);
  }

  function route(file: ApprovalsFile | undefined = safeLoad()): 'app' | 'local' | undefined {
    if (options.mode === 'local') return 'local';
    if (options.inProcessApp) return 'app';
    const available = appExecAvailable(appSocketPath(file), file);
    if (available) return 'app';
    return options.mode === 'app' ? undefined : 'local';
  }

  function safeLoad(): ApprovalsFile | undefined {
    try {
      return loadPolicyFile();
    } catch {
      return undefined;
    }
  }

  function deny(
    params: RunParams,
    commandText: string,
    code: 'SYSTEM_RUN_DENIED' | 'INVALID_REQUEST',
    message: string,
    reason: string,
  ): never {
    options.emitEvent('exec.denied', {
      sessionKey: params.sessionKey ?? 'node',
      runId: params.runId,
      host: 'node',
      command: commandText,
      reason,
      suppressNotifyOnExit: params.suppressNotifyOnExit,
    });
    throw new NodeCommandError(code, message);
  }

  function denyWith(params: RunParams, commandText: string, denial: Denial): never {
    if (denial.code === 'INVALID_REQUEST')
      throw new NodeCommandError(
        'INVALID_REQUEST',
        denial.message.startsWith('INVALID_REQUEST') || denial.message.startsWith('SYSTEM_RUN_DENIED')
          ? denial.message
          : `INVALID_REQUEST: ${denial.message}`,
      );
    return deny(params, commandText, 'SYSTEM_RUN_DENIED', denial.message, denial.reason);
  }

  function finished(params: RunParams, commandText: string, result: SystemRunResult): SystemRunResult {
    const combined = `${result.stdout}${result.stderr}`;
    const payload: Record<string, unknown> = {
      sessionKey: params.sessionKey ?? 'node',
      runId: params.runId,
      host: 'node',
      command: commandText,
    };
    if (result.exitCode !== undefined) payload.exitCode = result.exitCode;
    Object.assign(payload, {
      timedOut: result.timedOut,
      success: result.success,
      output: combined.slice(-EVENT_OUTPUT_CHARS).trim(),
      suppressNotifyOnExit: params.suppressNotifyOnExit,
    });
    options.emitEvent('exec.finished', payload);
    return result;
  }

  function recordAllowlistUse(evaluation: Evaluation, commandText: string): void {
    const match = evaluation.match;
    if (!match) return;
    usage.record(match.sectionKey, match.entry, {
      lastUsedAt: Date.now(),
      lastUsedCommand: commandText,
      ...(evaluation.plan?.file ? { lastResolvedPath: evaluation.plan.file } : {}),
    });
  }

  /** An approved run must be exactly the plan that was approved, and its executable unchanged. */
  async function checkApprovedPlan(params: RunParams, commandText: string): Promise<void> {
    const plan = params.systemRunPlan;
    if (!plan || !(params.approved && params.approvalDecision !== undefined)) return;
    const planCwd = typeof plan.cwd === 'string' ? plan.cwd : undefined;
    const operand = plan.mutableFileOperand as { path?: unknown; sha256?: unknown } | undefined;
    const operandChanged =
      operand &&
      typeof operand.path === 'string' &&
      typeof operand.sha256 === 'string' &&
      (await sha256File(operand.path)) !== operand.sha256;
    if (!sameArgv(plan.argv, params.command) || (planCwd ?? undefined) !== (params.cwd ?? planCwd) || operandChanged) {
      deny(
        params,
        commandText,
        'SYSTEM_RUN_DENIED',
        'SYSTEM_RUN_DENIED: execution plan mismatch',
        'execution-plan-miss',
      );
    }
  }

  async function run(rawParams: unknown, context: RunContext): Promise<SystemRunResult> {
    if (TRACE) traceMark('node.run');
    const params = parseRunParams(rawParams);
    const commandText = params.rawCommand ?? canonicalCommandText(params.command);
    const preApproved = params.approved && params.approvalDecision !== undefined;
    await checkApprovedPlan(params, commandText);

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
    if (options.inProcessApp && options.mode !== 'local')
      return runInProcess(params, commandText, request, options.inProcessApp, context);

    let file: ApprovalsFile | undefined;
    try {
      file = loadPolicyFile();
    } catch (err) {
      policyUnreadable(params, commandText, (err as Error).message);
    }
    const evaluation = evaluateSystemRun(request, file);
    if (evaluation.outcome === 'deny') denyWith(params, commandText, evaluation.denial!);

    const path = route(file);
    if (path === undefined) {
      deny(
        params,
        commandText,
        'SYSTEM_RUN_DENIED',
        'COMPANION_APP_UNAVAILABLE: macOS app exec host unreachable',
        'companion-unavailable',
      );
    }
    if (path === 'app') return runThroughApp(params, commandText, request, file, context);
    return runLocally(params, commandText, evaluation, context);
  }

  /** An unreadable or unsafe policy never means "no policy": fail closed. */
  function policyUnreadable(params: RunParams, commandText: string, why: string): never {
    return deny(
      params,
      commandText,
      'SYSTEM_RUN_DENIED',
      `SYSTEM_RUN_DENIED: approvals policy unreadable (${why})`,
      'approval-required',
    );
  }

  /**
   * `up`: the exec host in this process evaluates once; its denials are answered here with the node
   * host's messages, and the same request object then carries that verdict into the exec host, which
   * enforces it (and re-evaluates if the approvals file changed in between).
   */
  async function runInProcess(
    params: RunParams,
    commandText: string,
    request: ExecHostRequest,
    app: InProcessApp,
    context: RunContext,
  ): Promise<SystemRunResult> {
    const appRequest: ExecHostRequest = { ...request, timeoutMs: request.timeoutMs ?? context.timeoutMs ?? null };
    const verdict = app.evaluateInProcess(appRequest);
    if (!verdict.ok) policyUnreadable(params, commandText, verdict.error);
    if (verdict.evaluation.outcome === 'deny') denyWith(params, commandText, verdict.evaluation.denial!);
    if (TRACE) traceMark('node.exec');
    // The exec host bounds the prompt and the run itself; the Gateway's cancel aborts both.
    const signal = context.signal ?? new AbortController().signal;
    const response = await app.execInProcess(appRequest, signal);
    if (signal.aborted) throw cancelledError();
    const reply: AppExecReply | null =
      response && (response.ok ? { ok: true, payload: response.payload } : { ok: false, error: response.error });
    if (TRACE) traceMark('node.exec.done');
    return finished(params, commandText, fromAppReply(params, commandText, reply));
  }

  /** The app re-checks the same policy and may prompt its user; it kills the command at its timeout. */
  async function runThroughApp(
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
      options.appTimeoutMs ?? Math.max(EXEC_TIMEOUT_MS, (appRequest.timeoutMs ?? 0) + APP_PROMPT_ALLOWANCE_MS);
    try {
      reply = await execThroughApp(appSocketPath(file), file, appRequest, { timeoutMs, log, signal: context.signal });
    } catch (err) {
      if (err instanceof ExecHostClientError && err.code === 'ERR_EXEC_HOST_CANCELLED') throw cancelledError();
      throw err;
    }
    if (TRACE) traceMark('node.exec.done');
    return finished(params, commandText, fromAppReply(params, commandText, reply));
  }

  /** The in-process runner: the node host never prompts, and runs the file the policy judged. */
  async function runLocally(
    params: RunParams,
    commandText: string,
    evaluation: Evaluation,
    context: RunContext,
  ): Promise<SystemRunResult> {
    if (evaluation.outcome === 'prompt')
      deny(
        params,
        commandText,
        'SYSTEM_RUN_DENIED',
        'SYSTEM_RUN_DENIED: approval required (nobody to ask: this node host runs commands itself and never prompts; no exec host app is in use)',
        'approval-required',
      );
    const plan = evaluation.plan!;
    let result: ExecResult;
    if (!plan.file) {
      result = {
        timedOut: false,
        success: false,
        stdout: '',
        stderr: '',
        error: `failed to start: ${describeResolveFailure(params.command[0]!, plan.resolveFailure ?? 'not-found', plan.searchPath ?? '', plan.cwd)}`,
      };
    } else {
      // The file that runs is the one the policy judged (held open from this check to the exec on Linux).
      const pinned = openPinnedExecutable(plan.file, plan.fileIdentity);
      if (!pinned) denyWith(params, commandText, denials.executableChanged);
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
    recordAllowlistUse(evaluation, commandText);
    return finished(params, commandText, toNodeResult(result));
  }

  function fromAppReply(params: RunParams, commandText: string, reply: AppExecReply | null): SystemRunResult {
    if (reply === null) {
      return deny(
        params,
        commandText,
        'SYSTEM_RUN_DENIED',
        'COMPANION_APP_UNAVAILABLE: macOS app exec host unreachable',
        'companion-unavailable',
      );
    }
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
      return deny(params, commandText, 'SYSTEM_RUN_DENIED', detail ? `${message} (${detail})` : message, reason);
    }
    return toNodeResult((reply.payload ?? {}) as Partial<ExecResult>);
  }

  async function prepare(rawParams: unknown): Promise<Record<string, unknown>> {
    const p = parsePrepareParams(rawParams);
    const argv = p.command;
    const cwd = p.cwd ?? process.cwd();
    const agentId = p.agentId ?? null;
    const sessionKey = p.sessionKey ?? null;
    const rawCommand = p.rawCommand;
    if (rawCommand !== undefined && rawCommand !== canonicalCommandText(argv)) {
      throw new NodeCommandError('INVALID_REQUEST', 'INVALID_REQUEST: rawCommand does not match command');
    }
    const resolved = resolveExecutable(argv[0]!, cwd, trustedSearchPath());
    if (!('path' in resolved)) {
      throw new NodeCommandError(
        'INVALID_REQUEST',
        `INVALID_REQUEST: cannot resolve executable ${JSON.stringify(argv[0])} (${resolved.failure})`,
      );
    }
    const pinned = [resolved.path, ...argv.slice(1)];
    const policy = resolveEffectivePolicy(safeLoad(), agentId);
    const sha256 = await sha256File(resolved.path);
    const argPattern = crypto
      .createHash('sha256')
      .update(JSON.stringify([cwd, pinned]))
      .digest('hex');
    const plan: Record<string, unknown> = {
      argv: pinned,
      cwd,
      commandText: canonicalCommandText(pinned),
      commandPreview: null,
      agentId,
      sessionKey,
      mutableFileOperand: sha256 ? { argvIndex: 0, path: resolved.path, sha256 } : undefined,
      policySnapshot: {
        security: policy.security,
        ask: policy.ask,
        askFallback: policy.askFallback,
        autoAllowSkills: policy.autoAllowSkills,
        // Wire shape (strict on the 2026.9.6 Gateway): {pattern, argPattern?, source?: "allow-always"}.
        allowlistRules: policy.allowlist.map(({ entry }) => ({
          pattern: entry.pattern,
          ...(typeof entry.argPattern === 'string' ? { argPattern: entry.argPattern } : {}),
          ...(entry.source === 'allow-always' ? { source: 'allow-always' } : {}),
        })),
      },
    };
    return {
      plan,
      execPolicy: { security: policy.security, ask: policy.ask },
      allowAlwaysCoverage: {
        complete: true,
        patterns: [{ pattern: resolved.path, argPattern: `sha256:cwd-argv:v1:${argPattern}` }],
      },
    };
  }

  function approvalsGet(): Record<string, unknown> {
    try {
      return { ...readApprovalsSnapshot(options.stateDir) };
    } catch (err) {
      throw new NodeCommandError('UNAVAILABLE', `UNAVAILABLE: exec approvals unreadable: ${(err as Error).message}`);
    }
  }

  function approvalsSet(rawParams: unknown): Record<string, unknown> {
    const p = (rawParams ?? {}) as { file?: unknown; baseHash?: unknown };
    try {
      return { ...writeApprovalsSnapshot(options.stateDir, p) };
    } catch (err) {
      const code = (err as { code?: string }).code;
      const message = (err as Error).message;
      if (code === APPROVALS_INVALID)
        throw new NodeCommandError('INVALID_REQUEST', `INVALID_REQUEST: system.execApprovals.set ${message}`);
      if (code === BASE_HASH_REQUIRED)
        throw new NodeCommandError(
          'INVALID_REQUEST',
          'INVALID_REQUEST: exec approvals base hash required; reload and retry',
        );
      if (code === BASE_HASH_CHANGED)
        throw new NodeCommandError(
          'INVALID_REQUEST',
          'INVALID_REQUEST: exec approvals base hash changed; reload and retry',
        );
      throw new NodeCommandError('UNAVAILABLE', `UNAVAILABLE: exec approvals unreadable: ${message}`);
    }
  }

  return {
    mode: options.mode,
    run,
    prepare,
    approvalsGet,
    approvalsSet,
    route: () => route(),
    async close() {
      usage.flush();
    },
  };
}
