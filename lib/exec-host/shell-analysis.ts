// Conservative parser for the script of a shell wrapper (`sh -lc "<script>"`, exec-approvals.md §3).
// It understands simple commands made of literal words (bare, '…', "…" without $ or `, backslash
// escapes) joined by `&&`, `||`, `;` and `|`, and nothing else: every construct that could run or
// name a program the words do not show (substitutions, expansions, redirections, globs, subshells,
// groups, keywords, eval/exec/source and other stateful builtins, backgrounding, env assignments,
// newlines, non-printables) makes the script
// "not analysable", so it stays an allowlist miss. The words it returns are the exact argv each
// command would receive, which is what lets the policy re-render the script (renderScript) so that
// the shell runs precisely what was checked.

export type ChainOperator = '&&' | '||' | ';' | '|';

export interface ScriptSegment {
  /** The literal words: `words[0]` is the program as written, the rest its arguments. */
  words: string[];
  /** The segment's source text (trimmed), for prompts and audit. */
  raw: string;
}

export type ScriptParse =
  { ok: true; segments: ScriptSegment[]; operators: ChainOperator[] } | { ok: false; reason: string };

export const MAX_SCRIPT_CHARS = 100_000;
export const MAX_SEGMENTS = 64;
export const MAX_WORDS = 4096;

/** Characters that are literal outside quotes in every POSIX-family shell. */
const SAFE_UNQUOTED = /^[A-Za-z0-9_\-./:,@%+=]$/;
/** Control, format (bidi overrides, zero-width) and line/paragraph separator characters. */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
/** Reserved words and grouping tokens: in command position they start control flow. */
const RESERVED = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'case',
  'esac',
  'while',
  'until',
  'for',
  'in',
  'function',
  'select',
  'time',
  'coproc',
  '!',
  '{',
  '}',
  '[[',
  ']]',
  'repeat',
  'foreach',
  'end',
]);
/**
 * Builtins with no file of their own that run code, change the shell's state or its environment. Refused
 * by name: the enforced script would otherwise look them up as programs (or, worse, find one).
 */
const STATEFUL_BUILTINS = new Set([
  'eval',
  'exec',
  'source',
  '.',
  'command',
  'builtin',
  'alias',
  'unalias',
  'set',
  'shopt',
  'setopt',
  'trap',
  'export',
  'readonly',
  'local',
  'declare',
  'typeset',
  'unset',
  'cd',
  'pushd',
  'popd',
  'enable',
  'hash',
  'exit',
  'return',
  'shift',
  'ulimit',
  'umask',
  'wait',
  'jobs',
  'fg',
  'bg',
  'let',
  'read',
  'mapfile',
  'readarray',
  'getopts',
  'fc',
  'history',
  'disown',
  'suspend',
  'autoload',
  'zmodload',
  'emulate',
  'noglob',
  'nocorrect',
  'functions',
]);
const DOUBLE_QUOTE_ESCAPES = new Set(['$', '`', '"', '\\']);

/** Why a character outside quotes is refused (undefined: it is a literal word character). */
function unquotedRefusal(c: string): string | undefined {
  if (SAFE_UNQUOTED.test(c) || (c.codePointAt(0)! > 0x7f && !NON_PRINTABLE.test(c))) return undefined;
  switch (c) {
    case '$':
      return 'unsupported shell token: $ (expansion or substitution)';
    case '`':
      return 'unsupported shell token: ` (command substitution)';
    case '<':
    case '>':
      return `unsupported shell token: ${c} (redirection)`;
    case '(':
    case ')':
      return `unsupported shell token: ${c} (subshell)`;
    case '*':
    case '?':
    case '[':
    case ']':
      return `unsupported shell token: ${c} (glob)`;
    case '{':
    case '}':
      return `unsupported shell token: ${c} (brace group or expansion)`;
    case '~':
      return 'unsupported shell token: ~ (tilde expansion)';
    case '!':
      return 'unsupported shell token: ! (negation or history)';
    default:
      return `unsupported shell character: ${JSON.stringify(c)}`;
  }
}

function scanForNonPrintable(script: string): string | undefined {
  for (const c of script) {
    if (c === '\t' || !NON_PRINTABLE.test(c)) continue;
    return c === '\n' || c === '\r'
      ? 'unsupported shell token: newline'
      : `non-printable character U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`;
  }
  return undefined;
}

/** Checks one finished segment: something to run, no keyword, no `NAME=value` prefix. */
function segmentRefusal(words: string[]): string | undefined {
  if (words.length === 0) return 'empty command segment';
  const program = words[0];
  if (program === '') return 'empty command name';
  if (RESERVED.has(program)) return `shell keyword in command position: ${program}`;
  if (STATEFUL_BUILTINS.has(program)) return `shell builtin in command position: ${program}`;
  // `NAME=value cmd` sets the command's environment (PATH=/tmp ls); refused, quoted or not.
  if (program.includes('=')) return 'environment assignment in command position';
  return undefined;
}

/** Splits a shell script into literal simple commands, or says why it cannot. */
export function parseShellScript(script: string): ScriptParse {
  const fail = (reason: string): ScriptParse => ({ ok: false, reason });
  if (script.length > MAX_SCRIPT_CHARS) return fail(`script longer than ${MAX_SCRIPT_CHARS} characters`);
  const bad = scanForNonPrintable(script);
  if (bad) return fail(bad);

  const segments: ScriptSegment[] = [];
  const operators: ChainOperator[] = [];
  let words: string[] = [];
  let word: string | null = null; // null: between words ('' is an empty quoted word)
  let wordCount = 0;
  let segmentStart = 0;
  let i = 0;

  const endWord = (): void => {
    if (word === null) return;
    words.push(word);
    wordCount++;
    word = null;
  };
  const endSegment = (end: number): string | undefined => {
    endWord();
    const refusal = segmentRefusal(words);
    if (refusal) return refusal;
    segments.push({ words, raw: script.slice(segmentStart, end).trim() });
    words = [];
    if (segments.length > MAX_SEGMENTS) return `more than ${MAX_SEGMENTS} command segments`;
    return undefined;
  };
  const operator = (op: ChainOperator): string | undefined => {
    const refusal = endSegment(i);
    if (refusal) return refusal;
    operators.push(op);
    i += op.length;
    segmentStart = i;
    return undefined;
  };

  while (i < script.length) {
    if (wordCount > MAX_WORDS) return fail(`more than ${MAX_WORDS} words`);
    const c = script[i];
    const next = script[i + 1];
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === "'") {
      const close = script.indexOf("'", i + 1);
      if (close < 0) return fail('unterminated single quote');
      word = (word ?? '') + script.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      let text: string = word ?? '';
      i++;
      for (;;) {
        const d = script[i];
        if (d === undefined) return fail('unterminated double quote');
        if (d === '"') break;
        if (d === '$') return fail('unsupported shell token: $ inside double quotes (expansion or substitution)');
        if (d === '`') return fail('unsupported shell token: ` inside double quotes (command substitution)');
        if (d === '\\' && DOUBLE_QUOTE_ESCAPES.has(script[i + 1] ?? '')) {
          text += script[i + 1];
          i += 2;
          continue;
        }
        text += d; // any other backslash stays literal inside double quotes
        i++;
      }
      word = text;
      i++;
    } else if (c === '\\') {
      if (next === undefined) return fail('unterminated escape');
      word = (word ?? '') + next;
      i += 2;
    } else if (c === '#') {
      if (word === null) break; // a comment runs to the end (newlines were refused above)
      word += c;
      i++;
    } else if (c === '&') {
      if (next !== '&') return fail('unsupported shell token: & (background or &> redirection)');
      const refusal = operator('&&');
      if (refusal) return fail(refusal);
    } else if (c === '|') {
      if (next === '&') return fail('unsupported shell token: |&');
      const refusal = operator(next === '|' ? '||' : '|');
      if (refusal) return fail(refusal);
    } else if (c === ';') {
      if (next === ';') return fail('unsupported shell token: ;;');
      const refusal = operator(';');
      if (refusal) return fail(refusal);
    } else {
      const refusal = unquotedRefusal(c);
      if (refusal) return fail(refusal);
      word = (word ?? '') + c;
      i++;
    }
  }
  const refusal = endSegment(i);
  if (refusal)
    return fail(segments.length === 0 && words.length === 0 && operators.length === 0 ? 'empty command' : refusal);
  return { ok: true, segments, operators };
}

/** POSIX single quoting: the word comes back byte for byte in every POSIX-family shell. */
export function quoteWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Renders segments (each given as its final argv) joined by their operators, every word single-quoted.
 * Nothing in the result is subject to expansion, so the shell runs exactly these argv.
 */
export function renderScript(argvs: readonly (readonly string[])[], operators: readonly ChainOperator[]): string {
  if (argvs.length !== operators.length + 1) throw new RangeError('one operator between each pair of segments');
  return argvs
    .map((argv, n) => argv.map(quoteWord).join(' ') + (n < operators.length ? ` ${operators[n]} ` : ''))
    .join('');
}
