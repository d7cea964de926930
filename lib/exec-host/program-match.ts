// One program against the allowlist, the same way for a request's argv[0] and for every segment of an
// analysed `sh -c` script. The rules, which hold by construction rather than by a list of bad programs:
// - an EXACT entry (a pattern with no `*`/`?`) names one file the user chose: it matches that file;
// - a GLOB (`/usr/bin/*`, `~/bin/*`) matches only a program that is exec-free (program-identity.ts:
//   catalogued, root-installed, no exec-capable imports), or a modelled tool that is glob-safe, installed
//   by root as a real (ELF) program, and whose argv passes its model. Every other program under a glob — an interpreter, a wrapper
//   such as setpriv/runuser/nsenter/ld.so, a tool nobody has catalogued yet — is a miss that asks;
// - the bare `*` matches everything (it means "allow every command");
// - whatever matched, a tool with a positive option model (tar, find, sort, rsync, sed, git) must pass it:
//   an option off its list is a miss, even with an exact entry or `*`.
import { toolModelFor, type ModelContext } from './option-injection.js';
import { identifyProgram, isDynamicProgram, type ProgramIdentity } from './program-identity.js';

export type ProgramMiss =
  | 'not-allowlisted'
  /** Only a glob covers it, and it can run other programs: it needs an exact entry. */
  | 'exec-capable-needs-exact-entry'
  /** Only a glob covers it, and it is not on the exec-free catalogue (or failed its checks). */
  | 'glob-needs-exec-free'
  /** An option or argument outside the tool's positive model. */
  | 'option-not-allowed';

/** True when the pattern names one file (no glob), or is the bare `*`. */
export function isExactPattern(pattern: string): boolean {
  const p = pattern.trim();
  return p.length > 0 && !/[*?]/.test(p);
}

export function isGlobPattern(pattern: string): boolean {
  const p = pattern.trim();
  return p !== '*' && /[*?]/.test(p);
}

/** Finds the allowlist entry for a canonical file among the patterns `accept` admits. */
export type EntryFinder<M> = (file: string, accept: (pattern: string) => boolean) => M | undefined;

export interface ProgramJudgement<M> {
  identity: ProgramIdentity;
  match?: M;
  miss?: ProgramMiss;
  /** Human-readable detail of the miss (the refused option, why a glob does not cover it). */
  detail?: string;
  /** The argv to run when matched (a model may add options, e.g. git's forced config). */
  argv: string[];
}

/** Judges `argv` (argv[0] as the request wrote it) whose program resolved to the canonical `file`. */
export function judgeProgram<M>(
  file: string,
  argv: readonly string[],
  find: EntryFinder<M>,
  context: ModelContext = {},
): ProgramJudgement<M> {
  const identity = identifyProgram(file);
  const base = { identity, argv: [...argv] };
  const exact = find(file, (p) => isExactPattern(p) || p.trim() === '*');
  const glob = exact ? undefined : find(file, isGlobPattern);
  if (!exact && !glob) return { ...base, miss: 'not-allowlisted' };
  const model = toolModelFor(identity.name);
  if (!exact) {
    // A modelled tool under a glob must also be what its name says: root-installed and (Linux) a real program.
    const globCovers =
      identity.kind === 'exec-free' ||
      (model !== undefined && model.globSafe && identity.systemInstalled && isDynamicProgram(identity.file));
    if (!globCovers) {
      const exec = identity.kind === 'exec-capable';
      return {
        ...base,
        miss: exec ? 'exec-capable-needs-exact-entry' : 'glob-needs-exec-free',
        detail: exec
          ? `${identity.name} can run other programs: a directory glob never covers it, only an exact entry`
          : `${identity.name} is ${identity.why ?? 'not on the catalogue of programs known not to run others'}; a directory glob covers only those`,
      };
    }
  }
  if (model) {
    const verdict = model.check(argv, context);
    if ('refused' in verdict) return { ...base, miss: 'option-not-allowed', detail: verdict.refused };
    return { ...base, match: exact ?? glob, argv: verdict.argv };
  }
  return { ...base, match: exact ?? glob };
}
