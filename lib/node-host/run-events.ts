// The node host's exec.denied / exec.finished events and the errors that go with them: every denial of a
// system.run both tells the Gateway (exec.denied) and throws the typed error the invoke answers with.
// Plain functions over the service's event sink, so the run path allocates no closures for them.
import type { Denial } from '../exec-host/policy.js';
import { NodeCommandError } from './invoke-error.js';
import type { RunParams } from './run-params.js';

/** Where the events go: the service's options (called as a method, as before the split). */
export interface RunEventSink {
  emitEvent: (event: 'exec.finished' | 'exec.denied', payload: Record<string, unknown>) => void;
}

/** The node host's system.run result (node-commands.md §2.3, TS column). */
export interface SystemRunResult {
  exitCode?: number;
  timedOut: boolean;
  success: boolean;
  stdout: string;
  stderr: string;
  error: string | null;
}

const EVENT_OUTPUT_CHARS = 20_000;

/** Emits exec.denied and throws the error the invoke answers with. */
export function deny(
  sink: RunEventSink,
  params: RunParams,
  commandText: string,
  code: 'SYSTEM_RUN_DENIED' | 'INVALID_REQUEST',
  message: string,
  reason: string,
): never {
  sink.emitEvent('exec.denied', {
    sessionKey: params.sessionKey ?? 'node',
    runId: params.runId,
    host: 'node',
    command: commandText,
    reason,
    suppressNotifyOnExit: params.suppressNotifyOnExit,
  });
  throw new NodeCommandError(code, message);
}

/** A policy denial: malformed requests are INVALID_REQUEST (no event), the rest SYSTEM_RUN_DENIED. */
export function denyWith(sink: RunEventSink, params: RunParams, commandText: string, denial: Denial): never {
  if (denial.code === 'INVALID_REQUEST')
    throw new NodeCommandError(
      'INVALID_REQUEST',
      denial.message.startsWith('INVALID_REQUEST') || denial.message.startsWith('SYSTEM_RUN_DENIED')
        ? denial.message
        : `INVALID_REQUEST: ${denial.message}`,
    );
  return deny(sink, params, commandText, 'SYSTEM_RUN_DENIED', denial.message, denial.reason);
}

/** An unreadable or unsafe policy never means "no policy": fail closed. */
export function policyUnreadable(sink: RunEventSink, params: RunParams, commandText: string, why: string): never {
  return deny(
    sink,
    params,
    commandText,
    'SYSTEM_RUN_DENIED',
    `SYSTEM_RUN_DENIED: approvals policy unreadable (${why})`,
    'approval-required',
  );
}

/** No exec host app to run through (app mode without an app, or the app gone mid-run). */
export function companionUnavailable(sink: RunEventSink, params: RunParams, commandText: string): never {
  return deny(
    sink,
    params,
    commandText,
    'SYSTEM_RUN_DENIED',
    'COMPANION_APP_UNAVAILABLE: macOS app exec host unreachable',
    'companion-unavailable',
  );
}

/** Emits exec.finished (key order as OpenClaw sends it: exitCode only when there is one) and returns the result. */
export function finished(
  sink: RunEventSink,
  params: RunParams,
  commandText: string,
  result: SystemRunResult,
): SystemRunResult {
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
  sink.emitEvent('exec.finished', payload);
  return result;
}
