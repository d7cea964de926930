// What a resolved executable IS, decided from the file rather than from how a request spelled it:
// - its canonical name (basename of the realpath; alternatives and symlinks already followed),
// - whether it is exec-free: on the EXEC_FREE catalogue AND installed by root in a tree the daemon user
//   cannot write AND (Linux) a dynamically linked ELF with no exec-capable import. A copy of bash named
//   `ls`, an agent-written `ls` in a writable directory, or a catalogue mistake on an unusual system all
//   fail one of those and are judged "unknown" (exact entry needed);
// - whether it is a trusted system shell (item: only those are analysed as `sh -c` wrappers).
import fs from 'node:fs';
import path from 'node:path';

import { execImports, readElfSummary } from './elf-imports.js';
import { EXEC_FREE, isExecCapableName, programNames } from './program-catalogue.js';

export type ProgramKind = 'exec-free' | 'exec-capable' | 'unknown';

export interface ProgramIdentity {
  /** Canonical file (realpath). */
  file: string;
  /** Canonical basename, and the names it is known by (version/flavour stripped). */
  name: string;
  names: string[];
  kind: ProgramKind;
  /** File and every directory above it owned by root and not writable by group/other (sticky dirs excepted). */
  systemInstalled: boolean;
  /** Why a catalogued exec-free name was not accepted as exec-free (for prompts and the CLI). */
  why?: string;
}

/**
 * True when neither the daemon user (unless root) nor any other non-root user can replace `file`: the file
 * is owned by root with no group/other write bit, and so is every directory up to `/` (a sticky
 * world-writable directory such as /tmp counts, since others cannot rename what they do not own in it).
 */
export function isSystemInstalled(file: string): boolean {
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0) return false;
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      const d = fs.lstatSync(dir);
      if (!d.isDirectory() || d.uid !== 0) return false;
      if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) return false;
      if (dir === path.dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

const ELF_CHECKED = process.platform === 'linux';
const MAX_CACHE = 512;
const elfCache = new Map<string, string[] | undefined>();

/** The exec-capable imports of `file` (cached by inode and mtime); undefined when it is not a dynamic ELF. */
function cachedExecImports(file: string, st: fs.Stats): string[] | undefined {
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  if (elfCache.has(key)) return elfCache.get(key);
  const found = execImports(readElfSummary(file));
  if (elfCache.size >= MAX_CACHE) elfCache.delete(elfCache.keys().next().value as string);
  elfCache.set(key, found);
  return found;
}

/** Linux: the exec-capable imports of `file`, or undefined when it is not a dynamic ELF; null elsewhere (not checked). */
function inspectImports(file: string): string[] | undefined | null {
  if (!ELF_CHECKED) return null;
  try {
    return cachedExecImports(file, fs.statSync(file));
  } catch {
    return undefined;
  }
}

/** Why `file` (whose name is on EXEC_FREE) is not accepted as exec-free, or undefined when it is. */
function execFreeRefusal(systemInstalled: boolean, imports: string[] | undefined | null): string | undefined {
  if (!systemInstalled)
    return 'not installed by root in a directory tree only root can write (an exec-free name alone is not enough)';
  if (imports === undefined) return 'not a dynamically linked ELF program (script, static binary or loader)';
  if (imports && imports.length > 0) return `importing ${imports.join(', ')} (it can start other programs)`;
  return undefined;
}

/** False when `file` is known not to be a dynamically linked ELF program (Linux only; elsewhere true). */
export function isDynamicProgram(file: string): boolean {
  return inspectImports(file) !== undefined;
}

/** Identifies the canonical executable `file` (the import table is read only for catalogued exec-free names). */
export function identifyProgram(file: string): ProgramIdentity {
  const name = path.basename(file);
  const names = programNames(name);
  const systemInstalled = isSystemInstalled(file);
  const base = { file, name, names, systemInstalled };
  if (isExecCapableName(name)) return { ...base, kind: 'exec-capable' };
  if (!EXEC_FREE.has(name)) return { ...base, kind: 'unknown' };
  const why = execFreeRefusal(systemInstalled, inspectImports(file));
  return why ? { ...base, kind: 'unknown', why } : { ...base, kind: 'exec-free' };
}

/** Shells whose `-c` script can be analysed (canonical basename). */
export const WRAPPER_SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ksh93', 'mksh']);

const FALLBACK_SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash', '/bin/zsh', '/bin/ksh', '/usr/bin/bash', '/usr/bin/zsh'];
let shellsCache: { key: string; files: Set<string> } | undefined;

/** Canonical paths of the login shells the system lists in /etc/shells (a built-in list when it is missing). */
export function systemShells(shellsFile = '/etc/shells'): Set<string> {
  let text: string | undefined;
  let key = 'missing';
  try {
    const st = fs.statSync(shellsFile);
    key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (shellsCache?.key === key) return shellsCache.files;
    text = fs.readFileSync(shellsFile, 'utf8');
  } catch {
    text = undefined;
  }
  const listed = text
    ? text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith('/'))
    : FALLBACK_SHELLS;
  const files = new Set<string>();
  for (const entry of listed) {
    try {
      files.add(fs.realpathSync(entry));
    } catch {
      // listed but absent
    }
  }
  shellsCache = { key, files };
  return files;
}

/**
 * Whether `file` (canonical) is a system shell that may be analysed as a `sh -c` wrapper: a shell by
 * name, listed (after realpath) in /etc/shells, and installed by root where only root can replace it.
 * A file an agent wrote and named `sh` fails the last two and is an ordinary program.
 */
export function isTrustedShell(file: string): boolean {
  return WRAPPER_SHELLS.has(path.basename(file)) && systemShells().has(file) && isSystemInstalled(file);
}
