// Allowlist matching for shell wrappers (exec-approvals.md §3: "a shell-wrapper payload is split into
// segments and every segment must match"). The Gateway sends every POSIX command as
// `["/bin/sh", "-lc", <text>]`, so without this only an allowlisted shell could ever run, and an
// allowlisted shell runs anything.
//
// How a wrapper is judged:
// - It is `[<shell>, -c | -<flags>c, <script>]` with nothing after the script, and the shell is a TRUSTED
//   system shell (program-identity.ts: a shell by canonical name, listed in /etc/shells, installed by root).
//   A file the agent wrote and named `sh` is an ordinary program that must match the allowlist itself.
// - The script must parse (shell-analysis.ts); each segment's program is resolved like a plain argv[0]
//   (same trusted PATH, realpath) and judged like one (program-match.ts): exact entries, globs only for
//   exec-free programs, positive option models for inspected tools.
// - An allowed wrapper runs an enforced script: the same segments and operators with each program
//   replaced by the CANONICAL path that was checked (not the path as written: an earlier segment could
//   re-point a symlink on that path) and every word single-quoted. The shell's own PATH, functions,
//   aliases and builtins cannot substitute another program.
// - Environment overrides are judged once for the whole request by env.ts's allowlist, which admits no
//   variable that changes how a shell starts (HOME, ENV, BASH_ENV, ZDOTDIR …).
import path from 'node:path';

import { MULTI_CALL } from './program-catalogue.js';
import { identifyProgram, isTrustedShell } from './program-identity.js';
import { judgeProgram, type EntryFinder, type ProgramMiss } from './program-match.js';
import { resolveExecutable, type ResolveFailure } from './resolve-executable.js';
import { parseShellScript, renderScript, type ChainOperator } from './shell-analysis.js';

/**
 * `-c` or single-letter flags ending in c. Allowed letters only: l (login), e, u, x, v, f, a. Refused:
 * i (interactive: rc files, aliases), k (assignments anywhere), o/O (take a value), s, r and the rest.
 */
const WRAPPER_FLAG = /^-[aefluvx]*c$/;

/** Whether `file` (canonical) can run other programs: such programs are never persisted by an Always Allow on a script. */
export function isExecCapableProgram(file: string): boolean {
  return identifyProgram(file).kind === 'exec-capable';
}

export type SegmentMiss = ResolveFailure | ProgramMiss;

export interface SegmentVerdict<M> {
  /** The literal argv the shell would pass (words[0] as written). */
  argv: string[];
  raw: string;
  /** Canonical program (realpath), when it resolved. */
  file?: string;
  /** The path the lookup found (before realpath): a multi-call binary's applet name. */
  execPath?: string;
  match?: M;
  pattern?: string;
  miss?: SegmentMiss;
  /** What exactly missed (the refused option, why a glob does not cover the program). */
  detail?: string;
  /** When matched: the argv the enforced script runs (canonical program; a model may add options). */
  runArgv?: string[];
}

export interface ShellWrapperEvaluation<M> {
  shell: string;
  script: string;
  analysable: boolean;
  /** Why the script is not analysable. */
  reason?: string;
  segments: SegmentVerdict<M>[];
  operators: ChainOperator[];
  /** Every segment matched. */
  satisfied: boolean;
  /** When satisfied: the argv to run instead of the request's (same shell and flag, enforced script). */
  enforcedArgv?: string[];
  /** Canonical programs of the segments, for an "Always Allow" that should not allowlist the shell itself. */
  programs: string[];
}

export interface ShellWrapperInput<M> {
  /** The request argv and the canonical file argv[0] resolved to. */
  argv: readonly string[];
  file: string;
  cwd?: string;
  searchPath: string;
  match: EntryFinder<M>;
}

/** Resolves a program word as the enforced script will exec it: the checked canonical file and the path to exec. */
function locateProgram(
  word: string,
  cwd: string | undefined,
  searchPath: string,
): { file: string; execPath: string } | { failure: ResolveFailure } {
  if (word === '.' || word === '..') return { failure: 'invalid' };
  const resolved = resolveExecutable(word, cwd, searchPath);
  return 'path' in resolved ? { file: resolved.path, execPath: resolved.found } : resolved;
}

/** Returns the wrapper's flag and script when argv has the analysable shape, else undefined. */
export function shellWrapperParts(argv: readonly string[], file: string): { flag: string; script: string } | undefined {
  if (!isTrustedShell(file)) return undefined;
  if (argv.length !== 3 || !WRAPPER_FLAG.test(argv[1])) return undefined;
  return { flag: argv[1], script: argv[2] };
}

/**
 * What the enforced script runs for a matched segment: the canonical file, never the path as written. A
 * multi-call binary (busybox) is given its applet as the first argument, since its argv[0] will be its own path.
 */
function enforcedSegmentArgv(file: string, execPath: string, runArgv: readonly string[]): string[] {
  const applet = path.basename(execPath);
  if (MULTI_CALL.has(path.basename(file)) && applet !== path.basename(file)) return [file, applet, ...runArgv.slice(1)];
  return [file, ...runArgv.slice(1)];
}

/**
 * Judges a shell-wrapper request segment by segment. Undefined when argv[0] is not a trusted system shell;
 * otherwise an evaluation that is `analysable:false` for a shape or script it does not understand.
 */
export function evaluateShellWrapper<M extends { entry: { pattern?: unknown } }>(
  input: ShellWrapperInput<M>,
): ShellWrapperEvaluation<M> | undefined {
  if (!isTrustedShell(input.file)) return undefined;
  const base = {
    shell: input.file,
    script: '',
    analysable: false,
    segments: [],
    operators: [],
    satisfied: false,
    programs: [],
  };
  const parts = shellWrapperParts(input.argv, input.file);
  if (!parts) return { ...base, reason: 'not of the form <shell> -c <script> (extra arguments or unsupported flags)' };
  const parsed = parseShellScript(parts.script);
  if (!parsed.ok) return { ...base, script: parts.script, reason: parsed.reason };

  const segments = parsed.segments.map((segment): SegmentVerdict<M> => {
    const verdict: SegmentVerdict<M> = { argv: segment.words, raw: segment.raw };
    const located = locateProgram(segment.words[0], input.cwd, input.searchPath);
    if ('failure' in located) return { ...verdict, miss: located.failure };
    Object.assign(verdict, located);
    const judged = judgeProgram(located.file, segment.words, input.match, { cwd: input.cwd });
    if (!judged.match) return { ...verdict, miss: judged.miss, detail: judged.detail };
    return {
      ...verdict,
      match: judged.match,
      pattern: typeof judged.match.entry.pattern === 'string' ? judged.match.entry.pattern : undefined,
      runArgv: enforcedSegmentArgv(located.file, located.execPath, judged.argv),
    };
  });
  const satisfied = segments.every((s) => s.match !== undefined);
  const programs = [...new Set(segments.flatMap((s) => (s.file ? [s.file] : [])))];
  const evaluation: ShellWrapperEvaluation<M> = {
    ...base,
    script: parts.script,
    analysable: true,
    segments,
    operators: parsed.operators,
    satisfied,
    programs,
  };
  if (satisfied) {
    const enforced = renderScript(
      segments.map((s) => s.runArgv!),
      parsed.operators,
    );
    evaluation.enforcedArgv = [input.argv[0], parts.flag, enforced];
  }
  return evaluation;
}
