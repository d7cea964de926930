// system.run.prepare's execution plan, and the check that an approved system.run is exactly that plan:
// the Gateway asks the node to pin the executable (path + sha256) and cwd before a human approves, and the
// approved run is refused if its argv, cwd or executable no longer match.
import crypto from 'node:crypto';
import fs from 'node:fs';

import type { ApprovalsFile } from '../exec-host/exec-approvals-file.js';
import { canonicalCommandText, resolveEffectivePolicy } from '../exec-host/policy.js';
import { resolveExecutable, trustedSearchPath } from '../exec-host/resolve-executable.js';
import { NodeCommandError } from './invoke-error.js';
import { deny, type RunEventSink } from './run-events.js';
import { parsePrepareParams, type RunParams } from './run-params.js';

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

/** An approved run must be exactly the plan that was approved, and its executable unchanged. */
export async function checkApprovedPlan(sink: RunEventSink, params: RunParams, commandText: string): Promise<void> {
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
      sink,
      params,
      commandText,
      'SYSTEM_RUN_DENIED',
      'SYSTEM_RUN_DENIED: execution plan mismatch',
      'execution-plan-miss',
    );
  }
}

/** system.run.prepare: the plan, the effective policy, and the allow-always pattern that would cover it. */
export async function prepareSystemRun(
  rawParams: unknown,
  file: ApprovalsFile | undefined,
): Promise<Record<string, unknown>> {
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
  const policy = resolveEffectivePolicy(file, agentId);
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
