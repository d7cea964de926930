// What a new allowlist entry will really allow, said before it is written (`openclaw-ipc approvals
// allow`): a directory glob covers only exec-free programs, so the CLI shows which programs under it are
// covered and which will still ask; an exact entry for a program that can run others allows anything it
// runs; a shell allows every script; `*` allows every command.
import fs from 'node:fs';
import path from 'node:path';

import { globToRegExp } from './policy.js';
import { identifyProgram, isTrustedShell } from './program-identity.js';
import { isGlobPattern } from './program-match.js';
import { toolModelFor } from './option-injection.js';
import { expandHome } from '../common/state-dir.js';

export interface AllowlistAdvice {
  warnings: string[];
  /** For a glob: exact entries for the programs it covers on this machine (use them instead of the glob). */
  suggestions: string[];
  /** For a glob: canonical programs it matches that it will NOT cover (they ask unless given an exact entry). */
  notCovered: string[];
}

const MAX_LISTED = 5000;

/** Canonical executables under the glob's fixed directory prefix that the glob matches. */
function expandGlob(pattern: string): string[] {
  const re = globToRegExp(pattern);
  if (!re) return [];
  const expanded = expandHome(pattern.trim());
  const fixed = expanded.slice(0, expanded.search(/[*?]/));
  const start = fixed.endsWith('/') ? fixed : path.dirname(fixed);
  const recursive = expanded.includes('**');
  const found = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (found.size >= MAX_LISTED) return;
      const full = path.join(dir, name);
      let real: string;
      let st: fs.Stats;
      try {
        real = fs.realpathSync(full);
        st = fs.statSync(real);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (recursive && depth < 8 && fs.lstatSync(full).isDirectory()) walk(full, depth + 1);
      } else if (st.isFile() && (st.mode & 0o111) !== 0 && re.test(real)) found.add(real);
    }
  };
  walk(start, 0);
  return [...found].sort();
}

const sample = (names: string[]): string =>
  names.length <= 12 ? names.join(', ') : `${names.slice(0, 12).join(', ')} … (+${names.length - 12})`;

/** Warnings and suggestions for adding `pattern` to the allowlist. */
export function allowlistAdvice(pattern: string): AllowlistAdvice {
  const p = pattern.trim();
  const advice: AllowlistAdvice = { warnings: [], suggestions: [], notCovered: [] };
  if (p === '*') {
    advice.warnings.push(
      '"*" allows every command, interpreters and shells included: it is security=full by another name',
    );
    return advice;
  }
  if (isGlobPattern(p)) {
    const programs = expandGlob(p).map((file) => identifyProgram(file));
    const covered = programs.filter(
      (id) => id.kind === 'exec-free' || (toolModelFor(id.name)?.globSafe && id.systemInstalled),
    );
    advice.notCovered = programs.filter((id) => !covered.includes(id)).map((id) => id.file);
    advice.suggestions = covered.map((id) => id.file);
    advice.warnings.push(
      `a directory glob covers only programs known not to run other programs (and tar/find/sort/rsync with safe options); ` +
        `on this machine it covers ${covered.length} of the ${programs.length} programs it matches: ${sample(covered.map((id) => id.name))}`,
    );
    if (advice.notCovered.length > 0)
      advice.warnings.push(
        `the other ${advice.notCovered.length} will ask (or be denied under ask=off) unless each gets an exact entry: ` +
          sample(programs.filter((id) => !covered.includes(id)).map((id) => id.name)),
      );
    return advice;
  }
  let file: string;
  try {
    file = fs.realpathSync(expandHome(p));
  } catch {
    advice.warnings.push(`${p} does not exist (yet): the entry matches nothing until it does`);
    return advice;
  }
  const id = identifyProgram(file);
  if (isTrustedShell(file))
    advice.warnings.push(`${file} is a shell: allowlisting it allows every script (sh -c "<anything>") unchanged`);
  else if (id.kind === 'exec-capable') {
    const model = toolModelFor(id.name);
    advice.warnings.push(
      model
        ? `${id.name} can run other programs; only invocations whose options are on its positive list run without asking`
        : `${id.name} can run other programs: this entry allows anything it is asked to run`,
    );
  }
  if (!id.systemInstalled)
    advice.warnings.push(
      `${file} is not installed by root: anyone who can write it or its directory can replace what this entry allows`,
    );
  return advice;
}
