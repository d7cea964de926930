// A model of how GNU getopt_long (and argp, git's parse-options) reads an argument vector, used to judge
// a tool's options against a POSITIVE table: every option must be found in the table, resolved exactly as
// the real parser would resolve it, or the argv is refused. It models short-option clusters (`-xvf`),
// option arguments attached (`-farchive`, `--file=a`) or separate (`-f a`, `--file a`), optional
// arguments (attached only), `--` ending the options, GNU permutation (options after operands) and
// unambiguous-prefix abbreviations of long options (`--checkpoint-act=` is `--checkpoint-action=`).

export type ArgKind = 'none' | 'required' | 'optional';

export interface OptionTable {
  /** Safe short options: letter → argument kind. */
  short?: Readonly<Record<string, ArgKind>>;
  /** Safe long options (without `--`): name → argument kind. */
  long?: Readonly<Record<string, ArgKind>>;
  /**
   * Long options the real program has that are not safe (they run a program, or are not modelled). Listed
   * so that an abbreviation is resolved against the same set of names as the real parser and refused with
   * its real name; an unlisted one is refused anyway.
   */
  unsafeLong?: readonly string[];
  /** The real parser accepts unambiguous prefixes of long options (getopt_long, argp, parse-options). */
  abbreviations?: boolean;
  /** Options end at the first operand (POSIX; git's global options). Default: GNU permutation. */
  stopAtOperand?: boolean;
}

export interface ParsedOption {
  /** Full name as in the table: `-x` or `--long`. */
  name: string;
  value?: string;
}

export type GetoptResult = { ok: true; options: ParsedOption[]; operands: string[] } | { ok: false; refused: string };

/** Resolves `--name` the way getopt_long does: exact match first, then a unique prefix. */
export function resolveLong(name: string, table: OptionTable): { name: string } | { refused: string } {
  const safe = table.long ?? {};
  if (Object.hasOwn(safe, name)) return { name };
  const unsafe = table.unsafeLong ?? [];
  if (unsafe.includes(name)) return { refused: `--${name}` };
  if (!table.abbreviations) return { refused: `--${name} (not on the option allowlist)` };
  const candidates = [...Object.keys(safe), ...unsafe].filter((known) => known.startsWith(name));
  if (candidates.length === 1) {
    const [only] = candidates;
    return Object.hasOwn(safe, only) ? { name: only } : { refused: `--${name} (abbreviates --${only})` };
  }
  if (candidates.length > 1) return { refused: `--${name} (ambiguous: ${candidates.map((c) => `--${c}`).join(', ')})` };
  return { refused: `--${name} (not on the option allowlist)` };
}

/** Parses `args` (argv without argv[0]) against `table`. Refuses any option the table does not allow. */
export function getopt(args: readonly string[], table: OptionTable): GetoptResult {
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  const short = table.short ?? {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const resolved = resolveLong(eq < 0 ? arg.slice(2) : arg.slice(2, eq), table);
      if ('refused' in resolved) return { ok: false, refused: resolved.refused };
      const kind = table.long![resolved.name];
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      if (kind === 'none' && value !== undefined) return { ok: false, refused: `--${resolved.name} takes no value` };
      if (kind === 'required' && value === undefined) {
        if (i + 1 >= args.length) return { ok: false, refused: `--${resolved.name} needs a value` };
        value = args[++i];
      }
      options.push({ name: `--${resolved.name}`, value });
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j];
        const kind = Object.hasOwn(short, letter) ? short[letter] : undefined;
        if (!kind) return { ok: false, refused: `-${letter}${arg.length > 2 ? ` (in ${arg})` : ''}` };
        if (kind === 'none') {
          options.push({ name: `-${letter}` });
          continue;
        }
        let value: string | undefined = arg.slice(j + 1);
        if (value === '') value = undefined;
        if (kind === 'required' && value === undefined) {
          if (i + 1 >= args.length) return { ok: false, refused: `-${letter} needs a value` };
          value = args[++i];
        }
        options.push({ name: `-${letter}`, value });
        break;
      }
      continue;
    }
    operands.push(arg);
    if (table.stopAtOperand) {
      operands.push(...args.slice(i + 1));
      break;
    }
  }
  return { ok: true, options, operands };
}

/** Builds a short table from a getopt optstring of safe letters: `"cvf:C:"` (`:` required, `::` optional). */
export function shortOptions(optstring: string): Record<string, ArgKind> {
  const table: Record<string, ArgKind> = {};
  for (let i = 0; i < optstring.length; i++) {
    const letter = optstring[i];
    if (optstring[i + 1] === ':' && optstring[i + 2] === ':') {
      table[letter] = 'optional';
      i += 2;
    } else if (optstring[i + 1] === ':') {
      table[letter] = 'required';
      i += 1;
    } else table[letter] = 'none';
  }
  return table;
}

/** Builds a long table from names: `"file="` required, `"checkpoint=?"` optional, `"verbose"` none. */
export function longOptions(names: readonly string[]): Record<string, ArgKind> {
  const table: Record<string, ArgKind> = {};
  for (const spec of names) {
    if (spec.endsWith('=?')) table[spec.slice(0, -2)] = 'optional';
    else if (spec.endsWith('=')) table[spec.slice(0, -1)] = 'required';
    else table[spec] = 'none';
  }
  return table;
}
