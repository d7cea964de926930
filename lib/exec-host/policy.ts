// The approval policy for one system.run request: validate the request, resolve the executable,
// match the allowlist and decide allow / deny / prompt. Pure apart from filesystem lookups of the
// executable; persistence of "Always Allow" and lastUsed* lives in the caller (exec-approvals-file.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { ApprovalDecision } from '../common/approval-queue.js';
import { MAX_TIMEOUT_MS } from '../protocol/constants.js';
import type { AllowlistEntry, ApprovalsFile, Ask, PolicySection, Security } from './exec-approvals-file.js';
import { EnvOverrideError, buildChildEnv, refusedOverrides, validateEnvOverrides } from './env.js';
import {
  fileIdentity,
  resolveExecutable,
  trustedSearchPath,
  type FileIdentity,
  type ResolveFailure,
} from './resolve-executable.js';
import { identifyProgram } from './program-identity.js';
import { judgeProgram, type ProgramMiss } from './program-match.js';
import { evaluateShellWrapper, type ShellWrapperEvaluation } from './shell-allowlist.js';

/** An ExecHostRequest as it arrives in `requestJson` (absent fields may be null). */
export interface ExecHostRequest {
  command: string[];
  rawCommand?: string | null;
  cwd?: string | null;
  env?: Record<string, string> | null;
  timeoutMs?: number | null;
  needsScreenRecording?: boolean | null;
  agentId?: string | null;
  sessionKey?: string | null;
  approvalDecision?: ApprovalDecision | null;
  /**
   * Ours, not upstream's: authenticate and evaluate the policy, then answer what would happen without
   * prompting or running anything (`openclaw-ipc doctor`'s signed no-op round trip).
   */
  dryRun?: boolean | null;
}

export interface Denial {
  code: 'INVALID_REQUEST' | 'UNAVAILABLE';
  message: string;
  reason: string;
}

export interface EffectivePolicy {
  agentId: string;
  security: Security;
  ask: Ask;
  askFallback: Security;
  autoAllowSkills: boolean;
  /** `agents.*` entries then `agents.<agentId>` entries, each with the section it came from. */
  allowlist: { entry: AllowlistEntry; sectionKey: string }[];
}

/** Project defaults: fail closed. */
export const DEFAULT_POLICY = {
  security: 'deny',
  ask: 'on-miss',
  askFallback: 'deny',
  autoAllowSkills: false,
} as const;
export const DEFAULT_AGENT_ID = 'main';
export { MAX_TIMEOUT_MS };

export const denials = {
  securityDeny: { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DISABLED: security=deny', reason: 'security=deny' },
  userDenied: { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DENIED: user denied', reason: 'user-denied' },
  allowlistMiss: { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DENIED: allowlist miss', reason: 'allowlist-miss' },
  approvalRequired: {
    code: 'UNAVAILABLE',
    message: 'SYSTEM_RUN_DENIED: approval required',
    reason: 'approval-required',
  },
  screenRecording: {
    code: 'UNAVAILABLE',
    message: 'PERMISSION_MISSING: screenRecording',
    reason: 'permission:screenRecording',
  },
  executableChanged: {
    code: 'UNAVAILABLE',
    message: 'SYSTEM_RUN_DENIED: execution plan mismatch (executable changed after the policy check)',
    reason: 'execution-plan-miss',
  },
  commandRequired: { code: 'INVALID_REQUEST', message: 'command required', reason: 'invalid' },
} as const satisfies Record<string, Denial>;

/**
 * Why a request is not covered by the allowlist, beyond "no entry names it". Stable codes:
 * ENV_NOT_ALLOWLISTED (an environment override not on env.ts's allowlist), OPTION_NOT_ALLOWED (an option
 * outside a tool's positive model), EXEC_CAPABLE_NEEDS_EXACT_ENTRY (only a glob covers a program that can
 * run others), GLOB_NEEDS_EXEC_FREE (only a glob covers a program not known to be exec-free).
 */
export interface PolicyMiss {
  code: 'ENV_NOT_ALLOWLISTED' | 'OPTION_NOT_ALLOWED' | 'EXEC_CAPABLE_NEEDS_EXACT_ENTRY' | 'GLOB_NEEDS_EXEC_FREE';
  /** What missed: the variable, the option, the program. */
  subject: string;
  /** One line for the human who decides. */
  text: string;
}

const MISS_CODES: Partial<Record<ProgramMiss, PolicyMiss['code']>> = {
  'option-not-allowed': 'OPTION_NOT_ALLOWED',
  'exec-capable-needs-exact-entry': 'EXEC_CAPABLE_NEEDS_EXACT_ENTRY',
  'glob-needs-exec-free': 'GLOB_NEEDS_EXEC_FREE',
};

/** The allowlist-miss denial, naming the miss when it is one of the classes above (upstream wording otherwise). */
export function allowlistMissDenial(miss: PolicyMiss | undefined): Denial {
  if (!miss) return denials.allowlistMiss;
  return { ...denials.allowlistMiss, message: `${denials.allowlistMiss.message} (${miss.code}: ${miss.text})` };
}

function invalid(message: string): Denial {
  return { code: 'INVALID_REQUEST', message, reason: 'invalid' };
}

/** Per field: agents.<id> > agents.* > defaults > project default. Legacy `agents.default` merges into `main`. */
export function resolveEffectivePolicy(file: ApprovalsFile | undefined, agentId?: string | null): EffectivePolicy {
  const id = agentId?.trim() || DEFAULT_AGENT_ID;
  const agents = file?.agents ?? {};
  const layers: { key: string; section: PolicySection }[] = [];
  const own = Object.hasOwn(agents, id) ? agents[id] : undefined;
  const legacy = id === DEFAULT_AGENT_ID && Object.hasOwn(agents, 'default') ? agents.default : undefined;
  if (own) layers.push({ key: id, section: own });
  if (legacy) layers.push({ key: 'default', section: legacy });
  if (Object.hasOwn(agents, '*')) layers.push({ key: '*', section: agents['*'] });
  if (file?.defaults) layers.push({ key: 'defaults', section: file.defaults });
  const pick = <K extends 'security' | 'ask' | 'askFallback' | 'autoAllowSkills'>(
    field: K,
  ): NonNullable<PolicySection[K]> | undefined =>
    layers.find((layer) => layer.section[field] !== undefined)?.section[field] as
      NonNullable<PolicySection[K]> | undefined;
  const allowlist: EffectivePolicy['allowlist'] = [];
  for (const key of ['*', 'default', id]) {
    if (key === 'default' && !legacy) continue;
    const section = Object.hasOwn(agents, key) ? agents[key] : undefined;
    for (const entry of section?.allowlist ?? [])
      if (typeof entry === 'object' && entry) allowlist.push({ entry, sectionKey: key });
  }
  return {
    agentId: id,
    security: pick('security') ?? DEFAULT_POLICY.security,
    ask: pick('ask') ?? DEFAULT_POLICY.ask,
    askFallback: pick('askFallback') ?? DEFAULT_POLICY.askFallback,
    autoAllowSkills: pick('autoAllowSkills') ?? DEFAULT_POLICY.autoAllowSkills,
    allowlist,
  };
}

/** Canonical command text: args joined by spaces; args with whitespace or `"` quoted; empty → `""`. */
export function canonicalCommandText(argv: readonly string[]): string {
  return argv
    .map((arg) => {
      if (arg === '') return '""';
      if (/[\s"]/.test(arg)) return `"${arg.replace(/"/g, '\\"')}"`;
      return arg;
    })
    .join(' ');
}

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh']);

/** rawCommand must be the canonical text of argv, or the script of a `sh -c` / `cmd /c` wrapper. */
export function rawCommandMatches(argv: readonly string[], rawCommand: string | null | undefined): boolean {
  if (rawCommand === undefined || rawCommand === null) return true;
  if (rawCommand === canonicalCommandText(argv)) return true;
  const shell = argv[0]?.split('/').pop() ?? '';
  if (SHELLS.has(shell) && argv.length === 3 && /^-[a-z]*c$/.test(argv[1]) && argv[2] === rawCommand) return true;
  if (
    /^cmd(\.exe)?$/i.test(shell) &&
    argv.length >= 3 &&
    argv.slice(1, -1).some((a) => a.toLowerCase() === '/c') &&
    argv[argv.length - 1] === rawCommand
  )
    return true;
  return false;
}

/**
 * Glob over a whole canonical path: `*` = one segment's characters, `**` = anything, `?` = one
 * non-`/` character, a leading `~` is the home dir. Patterns without `/`, `\` or `~` are ignored
 * (null), except a bare `*`. Case-sensitive.
 */
export function globToRegExp(pattern: string, home = os.homedir()): RegExp | null {
  let p = pattern.trim();
  if (p === '*') return /^.*$/s;
  if (!/[/\\~]/.test(p)) return null;
  if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      if (p[i + 1] === '*') {
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

const GLOB_META = /[*?]/;

/** True when the pattern matches the canonical path. A literal pattern is canonicalised too (/bin → /usr/bin). */
export function patternMatches(
  pattern: string,
  resolvedPath: string,
  canonicalize: (p: string) => string | undefined,
): boolean {
  const re = globToRegExp(pattern);
  if (!re) return false;
  if (re.test(resolvedPath)) return true;
  if (!GLOB_META.test(pattern)) {
    const expanded = pattern.trim().startsWith('~') ? pattern.trim().replace(/^~/, os.homedir()) : pattern.trim();
    const canonical = canonicalize(expanded);
    return canonical !== undefined && canonical === resolvedPath;
  }
  return false;
}

/** The first entry matching the canonical path, among the patterns `accept` admits (program-match.ts decides which). */
export function matchAllowlist(
  policy: EffectivePolicy,
  resolvedPath: string,
  canonicalize: (p: string) => string | undefined,
  accept: (pattern: string) => boolean = () => true,
): EffectivePolicy['allowlist'][number] | undefined {
  return policy.allowlist.find(
    ({ entry }) =>
      typeof entry.pattern === 'string' &&
      accept(entry.pattern) &&
      patternMatches(entry.pattern, resolvedPath, canonicalize),
  );
}

export interface EvaluateOptions {
  /** The PATH used to find bare command names (default: the daemon's PATH minus relative entries). */
  searchPath?: string;
  /** The environment the allowlisted inherited keys come from (default: process.env). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Whether screen recording is granted; undefined = not checkable here (treated as granted off macOS). */
  screenRecordingGranted?: boolean;
  canonicalize?: (p: string) => string | undefined;
}

export interface RunPlan {
  argv: string[];
  /** Canonical executable to run; undefined when it could not be resolved (the run reports "failed to start"). */
  file?: string;
  resolveFailure?: ResolveFailure;
  /** Where argv[0] was looked up (the trusted PATH), for the "failed to start" message. */
  searchPath?: string;
  /** The checked inode of `file`; the runner's caller re-compares it right before spawning. */
  fileIdentity?: FileIdentity;
  cwd?: string;
  env: Record<string, string>;
  timeoutMs?: number;
  commandText: string;
}

export interface Evaluation {
  outcome: 'allow' | 'deny' | 'prompt';
  denial?: Denial;
  policy?: EffectivePolicy;
  plan?: RunPlan;
  /** The allowlist entry that matched (for lastUsed* write-back). */
  match?: EffectivePolicy['allowlist'][number];
  /** Decisions to offer when prompting (Always Allow is not offered under ask=always). */
  allowedDecisions?: ApprovalDecision[];
  /**
   * For a shell wrapper under security=allowlist whose shell is not itself allowlisted: the segment
   * analysis (segments, matched patterns, or why it is not analysable). When every segment matched,
   * `plan.argv` is the enforced script and `match` is the first segment's entry.
   */
  shell?: ShellWrapperEvaluation<EffectivePolicy['allowlist'][number]>;
  /** Why the allowlist did not cover the request, when the reason is more than "no entry names it". */
  miss?: PolicyMiss;
  /** The request's (validated) environment overrides, for the prompt: a human must see what they approve. */
  envOverrides?: Record<string, string>;
}

function defaultCanonicalize(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/** Validates the request shape; a Denial (INVALID_REQUEST, reason invalid) or undefined. */
export function validateRequest(request: unknown): Denial | undefined {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return invalid('invalid payload');
  const r = request as Record<string, unknown>;
  if (!Array.isArray(r.command) || r.command.length === 0 || !r.command.every((arg) => typeof arg === 'string'))
    return denials.commandRequired;
  const argv = r.command as string[];
  if (argv[0].trim() === '') return denials.commandRequired;
  if (argv.some((arg) => arg.includes('\0'))) return invalid('NUL byte in command');
  if (argv.length > 4096 || argv.reduce((n, a) => n + a.length, 0) > 1_000_000) return invalid('command too large');
  if (r.rawCommand !== undefined && r.rawCommand !== null && typeof r.rawCommand !== 'string')
    return invalid('rawCommand must be a string');
  if (!rawCommandMatches(argv, r.rawCommand as string | null | undefined))
    return invalid('SYSTEM_RUN_DENIED: rawCommand does not match command');
  if (r.cwd !== undefined && r.cwd !== null && (typeof r.cwd !== 'string' || r.cwd.includes('\0')))
    return invalid('cwd must be a string');
  if (
    r.timeoutMs !== undefined &&
    r.timeoutMs !== null &&
    (typeof r.timeoutMs !== 'number' || !Number.isInteger(r.timeoutMs) || r.timeoutMs <= 0)
  )
    return invalid('timeoutMs must be a positive integer');
  for (const key of ['agentId', 'sessionKey'] as const) {
    if (r[key] !== undefined && r[key] !== null && typeof r[key] !== 'string')
      return invalid(`${key} must be a string`);
  }
  if (
    r.approvalDecision !== undefined &&
    r.approvalDecision !== null &&
    !['allow-once', 'allow-always', 'deny'].includes(r.approvalDecision as string)
  )
    return invalid('invalid approvalDecision');
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== 'boolean')
    return invalid('dryRun must be a boolean');
  return undefined;
}

/**
 * Decides one request against the approvals file. `prompt` means a human must answer (then call
 * applyDecision); `allow` carries the run plan (canonical executable, sanitised env).
 */
export function evaluateSystemRun(
  request: ExecHostRequest,
  approvals: ApprovalsFile | undefined,
  options: EvaluateOptions = {},
): Evaluation {
  const bad = validateRequest(request);
  if (bad) return { outcome: 'deny', denial: bad };
  const searchPath = options.searchPath ?? trustedSearchPath(options.baseEnv ?? process.env);
  let env: Record<string, string>;
  let overrides: Record<string, string>;
  try {
    overrides = validateEnvOverrides(request.env);
    env = buildChildEnv(overrides, options.baseEnv ?? process.env, searchPath);
  } catch (err) {
    if (err instanceof EnvOverrideError)
      return { outcome: 'deny', denial: { code: 'INVALID_REQUEST', message: err.message, reason: 'invalid' } };
    throw err;
  }
  const policy = resolveEffectivePolicy(approvals, request.agentId);
  const cwd = request.cwd ?? undefined;
  const resolved = resolveExecutable(request.command[0], cwd, searchPath);
  const plan: RunPlan = {
    argv: [...request.command],
    cwd,
    env,
    timeoutMs: request.timeoutMs ? Math.min(request.timeoutMs, MAX_TIMEOUT_MS) : undefined,
    commandText: request.rawCommand ?? canonicalCommandText(request.command),
  };
  if ('path' in resolved) {
    plan.file = resolved.path;
    plan.fileIdentity = fileIdentity(resolved.path);
  } else {
    plan.resolveFailure = resolved.failure;
    plan.searchPath = searchPath;
  }

  if (policy.security === 'deny') return { outcome: 'deny', denial: denials.securityDeny, policy };
  if (request.approvalDecision === 'deny') return { outcome: 'deny', denial: denials.userDenied, policy };

  const judged = judgeRequest(request, plan, policy, searchPath, options.canonicalize ?? defaultCanonicalize);
  let { match, miss } = judged;
  const { shell } = judged;
  const refusedEnv = refusedOverrides(overrides)[0];
  if (refusedEnv) {
    match = undefined; // askFallback=allowlist must not run it either
    miss = {
      code: 'ENV_NOT_ALLOWLISTED',
      subject: refusedEnv.key,
      text:
        refusedEnv.why === 'not-allowlisted'
          ? `environment variable ${refusedEnv.key} is not on the override allowlist`
          : `environment variable ${refusedEnv.key} has a value outside its allowed shape`,
    };
  }
  const allowlistSatisfied = policy.security === 'full' || match !== undefined;
  const preApproved = request.approvalDecision === 'allow-once' || request.approvalDecision === 'allow-always';
  const needsPrompt =
    policy.ask === 'always' || (policy.ask === 'on-miss' && policy.security === 'allowlist' && !allowlistSatisfied);
  const envOverrides = Object.keys(overrides).length > 0 ? overrides : undefined;
  if (policy.security !== 'allowlist' || allowlistSatisfied) miss = undefined;

  if (needsPrompt && !preApproved) {
    return {
      outcome: 'prompt',
      policy,
      plan,
      match,
      shell,
      miss,
      envOverrides,
      allowedDecisions: policy.ask === 'always' ? ['allow-once', 'deny'] : ['allow-once', 'allow-always', 'deny'],
    };
  }
  if (!allowlistSatisfied && !preApproved)
    return { outcome: 'deny', denial: allowlistMissDenial(miss), policy, plan, shell, miss, envOverrides };
  return finishAllow({ outcome: 'allow', policy, plan, match, shell, envOverrides }, request, options);
}

/**
 * The request's program against the allowlist (program-match.ts), or, for a shell wrapper whose shell is not
 * itself allowlisted, every segment of its script. Sets plan.argv to what an auto-allowed run executes.
 */
function judgeRequest(
  request: ExecHostRequest,
  plan: RunPlan,
  policy: EffectivePolicy,
  searchPath: string,
  canonicalize: (p: string) => string | undefined,
): { match?: EffectivePolicy['allowlist'][number]; miss?: PolicyMiss; shell?: Evaluation['shell'] } {
  if (!plan.file) return {};
  const find = (file: string, accept: (pattern: string) => boolean): EffectivePolicy['allowlist'][number] | undefined =>
    matchAllowlist(policy, file, canonicalize, accept);
  const judged = judgeProgram(plan.file, request.command, find, { cwd: plan.cwd });
  if (judged.match) {
    plan.argv = judged.argv;
    return { match: judged.match };
  }
  if (policy.security !== 'allowlist') return {};
  const shell = evaluateShellWrapper({
    argv: request.command,
    file: plan.file,
    cwd: plan.cwd,
    searchPath,
    match: find,
  });
  if (shell?.satisfied && shell.enforcedArgv) {
    plan.argv = shell.enforcedArgv;
    return { match: shell.segments[0].match, shell };
  }
  return { shell, miss: programMiss(judged.miss, judged.detail, judged.identity.name, shell) };
}

/** The miss worth naming for a program (or, for an analysed wrapper, its first missing segment). */
function programMiss(
  judged: ProgramMiss | undefined,
  detail: string | undefined,
  name: string,
  shell: Evaluation['shell'],
): PolicyMiss | undefined {
  const segment = shell?.analysable ? shell.segments.find((s) => s.match === undefined) : undefined;
  const [kind, text, subject] = segment
    ? [segment.miss as ProgramMiss | undefined, segment.detail, path.basename(segment.file ?? segment.argv[0])]
    : shell
      ? [undefined, undefined, name]
      : [judged, detail, name];
  const code = kind ? MISS_CODES[kind] : undefined;
  return code ? { code, subject, text: text ?? code } : undefined;
}

/** Notes for the human deciding a prompt: what missed, and what "Always Allow" would add. */
export function promptNotes(evaluation: Evaluation): string[] {
  const notes: string[] = [];
  if (evaluation.miss) notes.push(`Not covered by the allowlist: ${evaluation.miss.text} (${evaluation.miss.code})`);
  const file = evaluation.plan?.file;
  if (file && !evaluation.shell && evaluation.allowedDecisions?.includes('allow-always')) {
    const identity = identifyProgram(file);
    if (identity.kind === 'exec-capable')
      notes.push(
        `Always Allow would add ${file}: ${identity.name} can run other programs, so that entry allows anything it is asked to run`,
      );
  }
  return notes;
}

function finishAllow(evaluation: Evaluation, request: ExecHostRequest, options: EvaluateOptions): Evaluation {
  if (request.needsScreenRecording && options.screenRecordingGranted === false) {
    return { outcome: 'deny', denial: denials.screenRecording, policy: evaluation.policy, plan: evaluation.plan };
  }
  return evaluation;
}

/**
 * Turns a `prompt` evaluation into allow/deny given the human's answer. `null` (timeout, no UI,
 * dismissed) applies askFallback: deny → approval required; allowlist → the allowlist result; full → run.
 */
export function applyDecision(
  evaluation: Evaluation,
  decision: ApprovalDecision | null,
  request: ExecHostRequest,
  options: EvaluateOptions = {},
): Evaluation {
  if (evaluation.outcome !== 'prompt') return evaluation;
  const base = {
    policy: evaluation.policy,
    plan: evaluation.plan,
    match: evaluation.match,
    shell: evaluation.shell,
    miss: evaluation.miss,
    envOverrides: evaluation.envOverrides,
  };
  if (decision === 'deny') return { outcome: 'deny', denial: denials.userDenied, ...base };
  if (decision === 'allow-once' || decision === 'allow-always')
    return finishAllow({ outcome: 'allow', ...base }, request, options);
  const fallback = evaluation.policy?.askFallback ?? 'deny';
  if (fallback === 'full') return finishAllow({ outcome: 'allow', ...base }, request, options);
  if (fallback === 'allowlist' && evaluation.match) return finishAllow({ outcome: 'allow', ...base }, request, options);
  return {
    outcome: 'deny',
    denial: fallback === 'allowlist' ? allowlistMissDenial(evaluation.miss) : denials.approvalRequired,
    ...base,
  };
}
