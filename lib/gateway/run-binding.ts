// What an exec approval is bound to (spec §11; upstream system-run-approval-binding.ts), and what a human
// is shown for it. Both come from one place, so what is shown is what may run: the argv, cwd, agent and
// session of the `systemRunPlan`, the env overrides (by hash, their keys shown), and the node. A request
// without that (no plan, host other than "node", text only) gets no binding and can authorise no run.
import crypto from 'node:crypto';

import { canonicalCommandText, rawCommandMatches } from '../exec-host/policy.js';
import type { ExecApprovalRequestParams, SystemRunPlan } from '../protocol/frames.js';

export interface RunBinding {
  nodeId: string;
  argv: string[];
  cwd: string | null;
  agentId: string | null;
  sessionKey: string | null;
  /** sha256 of the sorted [key, value] env overrides; null without overrides. */
  envHash: string | null;
  envKeys: string[];
  /** Text of argv shown to humans and forwarded as rawCommand: the plan's when it renders argv, else canonical. */
  commandText: string;
}

/** The display fields of an approval request, derived from the binding when there is one. */
export interface ApprovalDisplay {
  command: string;
  commandArgv?: string[];
  cwd: string | null;
  agentId: string | null;
  sessionKey: string | null;
  envKeys?: string[];
  /** The plan as forwarded to the node, its commandText replaced by the bound text. */
  systemRunPlan?: SystemRunPlan;
}

const orNull = (value: string | null | undefined): string | null =>
  value === undefined || value === '' ? null : value;

/** Sorted env override entries; {} and undefined are "no overrides". */
function envEntries(env: Record<string, unknown> | undefined): Array<[string, string]> | 'invalid' {
  if (env === undefined) return [];
  const entries: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== 'string') return 'invalid';
    entries.push([key, value]);
  }
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Hash and keys of env overrides (upstream's envHash: sha256 of the JSON of sorted entries). */
export function envBinding(env: unknown): { envHash: string | null; envKeys: string[] } | undefined {
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env))) return undefined;
  const entries = envEntries(env as Record<string, unknown> | undefined);
  if (entries === 'invalid') return undefined;
  if (entries.length === 0) return { envHash: null, envKeys: [] };
  const envHash = crypto.createHash('sha256').update(JSON.stringify(entries)).digest('hex');
  return { envHash, envKeys: entries.map(([key]) => key) };
}

/** The plan's text when it truly renders its argv (canonical, or the script of `sh -c`), else the canonical text. */
function boundText(argv: string[], claimed: string | undefined): string {
  return claimed !== undefined && rawCommandMatches(argv, claimed) ? claimed : canonicalCommandText(argv);
}

/**
 * Binding and display for an `exec.approval.request`. With host "node", a nodeId and a plan, everything
 * shown comes from the plan (caller-supplied command, commandArgv and cwd are not shown: they would be a
 * second, unbound description); otherwise there is no binding and the caller's description is shown as is.
 */
export function bindApprovalRequest(params: ExecApprovalRequestParams): {
  binding?: RunBinding;
  display: ApprovalDisplay;
} {
  const plan = params.systemRunPlan;
  const env = envBinding(params.env);
  if ((params.host ?? 'gateway') === 'node' && params.nodeId && plan && plan.argv.length > 0 && env) {
    const argv = [...plan.argv];
    const commandText = boundText(argv, plan.commandText);
    const binding: RunBinding = {
      nodeId: params.nodeId,
      argv,
      cwd: orNull(plan.cwd),
      agentId: orNull(plan.agentId),
      sessionKey: orNull(plan.sessionKey),
      ...env,
      commandText,
    };
    const display: ApprovalDisplay = {
      command: commandText,
      commandArgv: argv,
      cwd: binding.cwd,
      agentId: binding.agentId,
      sessionKey: binding.sessionKey,
      systemRunPlan: { ...plan, commandText, commandPreview: null },
    };
    if (env.envKeys.length > 0) display.envKeys = env.envKeys;
    return { binding, display };
  }
  const argv = params.commandArgv;
  const display: ApprovalDisplay = {
    command: params.command ?? (argv ? canonicalCommandText(argv) : ''),
    cwd: params.cwd ?? null,
    agentId: params.agentId ?? null,
    sessionKey: params.sessionKey ?? null,
  };
  if (argv) display.commandArgv = argv;
  if (env && env.envKeys.length > 0) display.envKeys = env.envKeys;
  return { display };
}

export interface RunClaim {
  nodeId: string;
  /** The caller's argv; it may repeat the bound argv or the argv it asked approval for (what runs is the bound one). */
  argv: readonly string[] | undefined;
  requestedArgv?: readonly string[];
  cwd: unknown;
  agentId: unknown;
  sessionKey: unknown;
  env: unknown;
}

const sameArgv = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((arg, i) => arg === b[i]);

/** Absent fields take the bound value; present ones must equal it (null and "" mean "none"). */
const sameOptional = (given: unknown, bound: string | null): boolean =>
  given === undefined || (given === null || given === '' ? bound === null : given === bound);

/** The first field of a run that differs from its approval's binding, or undefined when it matches. */
export function runBindingMismatch(binding: RunBinding, claim: RunClaim): string | undefined {
  if (claim.nodeId !== binding.nodeId) return 'nodeId';
  if (!sameArgv(claim.argv, binding.argv) && !sameArgv(claim.argv, claim.requestedArgv)) return 'argv';
  if (!sameOptional(claim.cwd, binding.cwd)) return 'cwd';
  if (!sameOptional(claim.agentId, binding.agentId)) return 'agentId';
  if (!sameOptional(claim.sessionKey, binding.sessionKey)) return 'sessionKey';
  const env = envBinding(claim.env);
  if (!env || env.envHash !== binding.envHash) return 'env';
  return undefined;
}
