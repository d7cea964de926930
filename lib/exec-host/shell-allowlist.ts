// Allowlist matching for shell wrappers (exec-approvals.md §3: "a shell-wrapper payload is split into
// segments and every segment must match"). The Gateway sends every POSIX command as
// `["/bin/sh", "-lc", <text>]`, so without this only an allowlisted shell could ever run, and an
// allowlisted shell runs anything.
//
// How a wrapper is judged:
// - It is `[<shell>, -c | -<flags>c, <script>]` with nothing after the script; the shell is known by
//   the basename of its canonical path. Any other shell argv is not analysable (judged as the shell).
// - The script must parse (shell-analysis.ts); each segment's program is resolved like a plain argv[0]
//   (same trusted PATH, realpath) and must match the allowlist, and option injection is checked per
//   segment. A wrapper or interpreter (env, xargs, sh, python, awk, sudo, …) runs whatever its arguments
//   say, so it matches only an allowlist entry that names it exactly (or the bare `*`), never a glob
//   such as `/usr/bin/*`; this holds for argv[0] too, so a glob-matched shell is analysed, not trusted.
//   Allowlisting an interpreter exactly allows anything it runs.
// - Segments are resolved with the daemon's PATH, but the shell would search its own PATH and could
//   find a function, builtin or a different file (a login shell's profile may change PATH or define
//   functions). So an allowed wrapper runs an enforced script instead: the same segments and operators
//   with each program replaced by the absolute path that was checked and every word single-quoted.
//   The shell then runs exactly the checked programs with exactly the parsed arguments.
// - The shell's startup files come from the daemon user's HOME; a request that overrides HOME (or any
//   shell-startup variable) would choose which profile runs, so such a request is not analysable.
import path from 'node:path';

import { findOptionInjection } from './option-injection.js';
import { resolveExecutable, type ResolveFailure } from './resolve-executable.js';
import { parseShellScript, renderScript, type ChainOperator } from './shell-analysis.js';

/** Shells whose `-c` script is analysed (basename of the canonical executable). */
export const WRAPPER_SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ksh93', 'mksh']);
/**
 * `-c` or single-letter flags ending in c. Allowed letters only: l (login), e, u, x, v, f, a. Refused:
 * i (interactive: rc files, aliases), k (assignments anywhere), o/O (take a value), s, r and the rest.
 */
const WRAPPER_FLAG = /^-[aefluvx]*c$/;

/**
 * Programs that run other commands or code given in their arguments. Matched by basename (a trailing
 * version such as python3.12 or node20 is ignored). In a segment they count as allowlisted only through
 * an exact entry for that program, because allowlisting one allows anything it runs.
 */
export const INTERPRETERS: ReadonlySet<string> = new Set([
  // shells and multi-call binaries
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'ksh93',
  'mksh',
  'ash',
  'fish',
  'csh',
  'tcsh',
  'rbash',
  'busybox',
  'toybox',
  // dispatch wrappers
  'env',
  'sudo',
  'doas',
  'su',
  'runuser',
  'pkexec',
  'nice',
  'nohup',
  'timeout',
  'time',
  'stdbuf',
  'setsid',
  'chrt',
  'ionice',
  'taskset',
  'chroot',
  'unshare',
  'nsenter',
  'flock',
  'watch',
  'script',
  'strace',
  'ltrace',
  'gdb',
  'valgrind',
  'xargs',
  'parallel',
  'ssh',
  'command',
  'builtin',
  'exec',
  'eval',
  'source',
  '.',
  // language interpreters and programmable tools
  'python',
  'pypy',
  'node',
  'nodejs',
  'deno',
  'bun',
  'perl',
  'ruby',
  'php',
  'lua',
  'luajit',
  'tclsh',
  'wish',
  'expect',
  'osascript',
  'awk',
  'gawk',
  'mawk',
  'nawk',
  'sed',
  'gsed',
  'rscript',
  'r',
  'julia',
  'make',
  'gmake',
  'vi',
  'vim',
  'nvim',
  'ex',
  'emacs',
]);

/** Environment keys that decide which startup files a shell reads or how it parses (on top of env.ts's blocklist). */
const SHELL_STARTUP_ENV =
  /^(HOME|ENV|BASH_ENV|ZDOTDIR|FPATH|CDPATH|GLOBIGNORE|POSIXLY_CORRECT|SHELLOPTS|BASHOPTS|INPUTRC|IFS|PS4|(BASH|ZSH|KSH)_.*)$/i;

export function isInterpreter(name: string): boolean {
  const base = path.basename(name).toLowerCase();
  const unversioned = base.replace(/-?\d+(\.\d+)*$/, '');
  // No one-letter names from stripping: r2 (radare2) is not R.
  return INTERPRETERS.has(base) || (unversioned.length > 1 && INTERPRETERS.has(unversioned));
}

/** True when the pattern names one file (no glob). */
export function isExactPattern(pattern: string): boolean {
  const p = pattern.trim();
  return p.length > 0 && !/[*?]/.test(p);
}

/**
 * Which allowlist patterns may match a program: any, unless one of its names is an interpreter; then
 * only an exact entry for it, or the bare `*` (which by definition allows every command). A directory
 * glob such as `/usr/bin/*` never allows an interpreter, neither as argv[0] nor in a segment.
 */
export function patternFilterFor(...names: (string | undefined)[]): (pattern: string) => boolean {
  if (!names.some((name) => name !== undefined && isInterpreter(name))) return () => true;
  return (pattern) => isExactPattern(pattern) || pattern.trim() === '*';
}

/** Finds the allowlist entry for a canonical file among the patterns `accept` admits. */
export type SegmentMatcher<M> = (file: string, accept: (pattern: string) => boolean) => M | undefined;

export type SegmentMiss = ResolveFailure | 'not-allowlisted' | 'interpreter-needs-exact-entry' | 'option-injection';

export interface SegmentVerdict<M> {
  /** The literal argv the shell would pass (words[0] as written). */
  argv: string[];
  raw: string;
  /** Canonical program (realpath), when it resolved. */
  file?: string;
  /** The path the enforced script executes (the lookup hit, not the realpath: multi-call binaries dispatch on its name). */
  execPath?: string;
  match?: M;
  pattern?: string;
  miss?: SegmentMiss;
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
  /** The request's env overrides (already validated by env.ts). */
  envOverrides?: Record<string, string> | null;
  searchPath: string;
  match: SegmentMatcher<M>;
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
  if (!WRAPPER_SHELLS.has(path.basename(file))) return undefined;
  if (argv.length !== 3 || !WRAPPER_FLAG.test(argv[1])) return undefined;
  return { flag: argv[1], script: argv[2] };
}

/**
 * Judges a shell-wrapper request segment by segment. Undefined when argv[0] is not a known shell;
 * otherwise an evaluation that is `analysable:false` for a shape or script it does not understand.
 */
export function evaluateShellWrapper<M extends { entry: { pattern?: unknown } }>(
  input: ShellWrapperInput<M>,
): ShellWrapperEvaluation<M> | undefined {
  if (!WRAPPER_SHELLS.has(path.basename(input.file))) return undefined;
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
  const startupKey = Object.keys(input.envOverrides ?? {}).find((key) => SHELL_STARTUP_ENV.test(key));
  if (startupKey)
    return {
      ...base,
      script: parts.script,
      reason: `environment override of ${startupKey} changes how the shell starts`,
    };
  const parsed = parseShellScript(parts.script);
  if (!parsed.ok) return { ...base, script: parts.script, reason: parsed.reason };

  const segments = parsed.segments.map((segment): SegmentVerdict<M> => {
    const verdict: SegmentVerdict<M> = { argv: segment.words, raw: segment.raw };
    const located = locateProgram(segment.words[0], input.cwd, input.searchPath);
    if ('failure' in located) return { ...verdict, miss: located.failure };
    Object.assign(verdict, located);
    const accept = patternFilterFor(segment.words[0], located.execPath, located.file);
    const match = input.match(located.file, accept);
    if (!match) {
      const anyMatch = input.match(located.file, () => true) !== undefined;
      return { ...verdict, miss: anyMatch ? 'interpreter-needs-exact-entry' : 'not-allowlisted' };
    }
    if (findOptionInjection(located.file, segment.words) !== undefined) return { ...verdict, miss: 'option-injection' };
    return { ...verdict, match, pattern: typeof match.entry.pattern === 'string' ? match.entry.pattern : undefined };
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
      segments.map((s) => [s.execPath!, ...s.argv.slice(1)]),
      parsed.operators,
    );
    evaluation.enforcedArgv = [input.argv[0], parts.flag, enforced];
  }
  return evaluation;
}
