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

/** The tokenizer's position and what it has built so far, passed to each step explicitly. */
interface ScanState {
  readonly script: string;
  i: number;
  word: string | null; // null: between words ('' is an empty quoted word)
  words: string[];
  wordCount: number;
  segmentStart: number;
  readonly segments: ScriptSegment[];
  readonly operators: ChainOperator[];
}

function endWord(s: ScanState): void {
  if (s.word === null) return;
  s.words.push(s.word);
  s.wordCount++;
  s.word = null;
}

function endSegment(s: ScanState, end: number): string | undefined {
  endWord(s);
  const refusal = segmentRefusal(s.words);
  if (refusal) return refusal;
  s.segments.push({ words: s.words, raw: s.script.slice(s.segmentStart, end).trim() });
  s.words = [];
  if (s.segments.length > MAX_SEGMENTS) return `more than ${MAX_SEGMENTS} command segments`;
  return undefined;
}

function takeOperator(s: ScanState, op: ChainOperator): string | undefined {
  const refusal = endSegment(s, s.i);
  if (refusal) return refusal;
  s.operators.push(op);
  s.i += op.length;
  s.segmentStart = s.i;
  return undefined;
}

function readSingleQuoted(s: ScanState): string | undefined {
  const close = s.script.indexOf("'", s.i + 1);
  if (close < 0) return 'unterminated single quote';
  s.word = (s.word ?? '') + s.script.slice(s.i + 1, close);
  s.i = close + 1;
  return undefined;
}

function readDoubleQuoted(s: ScanState): string | undefined {
  const script = s.script;
  let text: string = s.word ?? '';
  s.i++;
  for (;;) {
    const d = script[s.i];
    if (d === undefined) return 'unterminated double quote';
    if (d === '"') break;
    if (d === '$') return 'unsupported shell token: $ inside double quotes (expansion or substitution)';
    if (d === '`') return 'unsupported shell token: ` inside double quotes (command substitution)';
    if (d === '\\' && DOUBLE_QUOTE_ESCAPES.has(script[s.i + 1] ?? '')) {
      text += script[s.i + 1];
      s.i += 2;
      continue;
    }
    text += d; // any other backslash stays literal inside double quotes
    s.i++;
  }
  s.word = text;
  s.i++;
  return undefined;
}

/** Consumes one token (blank, quoted run, escape, operator or literal character), or says why it cannot. */
function scanStep(s: ScanState): string | undefined {
  const c = s.script[s.i];
  const next = s.script[s.i + 1];
  switch (c) {
    case ' ':
    case '\t':
      endWord(s);
      s.i++;
      return undefined;
    case "'":
      return readSingleQuoted(s);
    case '"':
      return readDoubleQuoted(s);
    case '\\':
      if (next === undefined) return 'unterminated escape';
      s.word = (s.word ?? '') + next;
      s.i += 2;
      return undefined;
    case '#': // inside a word ('#' starting a word is a comment, handled by the caller)
      s.word = (s.word ?? '') + c;
      s.i++;
      return undefined;
    case '&':
      return next !== '&' ? 'unsupported shell token: & (background or &> redirection)' : takeOperator(s, '&&');
    case '|':
      return next === '&' ? 'unsupported shell token: |&' : takeOperator(s, next === '|' ? '||' : '|');
    case ';':
      return next === ';' ? 'unsupported shell token: ;;' : takeOperator(s, ';');
    default: {
      const refusal = unquotedRefusal(c);
      if (refusal) return refusal;
      s.word = (s.word ?? '') + c;
      s.i++;
      return undefined;
    }
  }
}

/** Splits a shell script into literal simple commands, or says why it cannot. */
export function parseShellScript(script: string): ScriptParse {
  const fail = (reason: string): ScriptParse => ({ ok: false, reason });
  if (script.length > MAX_SCRIPT_CHARS) return fail(`script longer than ${MAX_SCRIPT_CHARS} characters`);
  const bad = scanForNonPrintable(script);
  if (bad) return fail(bad);

  const s: ScanState = {
    script,
    i: 0,
    word: null,
    words: [],
    wordCount: 0,
    segmentStart: 0,
    segments: [],
    operators: [],
  };
  while (s.i < script.length) {
    if (s.wordCount > MAX_WORDS) return fail(`more than ${MAX_WORDS} words`);
    if (script[s.i] === '#' && s.word === null) break; // a comment runs to the end (newlines were refused above)
    const refusal = scanStep(s);
    if (refusal) return fail(refusal);
  }
  const refusal = endSegment(s, s.i);
  if (refusal)
    return fail(
      s.segments.length === 0 && s.words.length === 0 && s.operators.length === 0 ? 'empty command' : refusal,
    );
  return { ok: true, segments: s.segments, operators: s.operators };
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
