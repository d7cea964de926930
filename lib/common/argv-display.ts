// How a command is shown to a human who decides whether it runs: the terminal and desktop prompts,
// `approvals pending`, `up`'s log and the display field of the Gateway's approval listing all use
// displayArgv / displayString, so one set of rules holds everywhere.
//
// The rendering is one line, contains no control, format (bidi, zero-width), separator or other
// invisible character, and is unambiguous: decodeDisplayedArgv() recovers the exact argv from it.
//   - an argument made only of [A-Za-z0-9_@%+=:,./-] is shown as is;
//   - any other argument is single-quoted; inside the quotes `\` is `\\`, `'` is `\'`, and every
//     character that could hide or fake text is an escape: `\n`, `\r`, `\t`, `\xHH` (up to U+00FF),
//     `\u{H…}` above that;
//   - arguments are separated by exactly one space, so a space inside an argument is always inside quotes;
//   - cut text is marked outside any quotes with `…[+N chars]` / `…[+N more args]`: `…` is never bare
//     in a whole argument (it is outside the safe set, so a real `…` is always quoted).

export interface DisplayOptions {
  /** Longest argument shown in full (characters of the input). Default 1000. */
  maxArgChars?: number;
  /** Budget of the whole rendering before later arguments are left out. Default 4000. */
  maxChars?: number;
  /** Characters to escape besides the always-escaped ones (a surface that would interpret them, e.g. `<&`). */
  alsoEscape?: string;
}

const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Invisible, format, bidi, separator, private-use, unassigned and lone-surrogate code points. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;
/**
 * Letters of right-to-left scripts. A bidi-aware surface (GTK, Qt, AppKit, some terminals) reorders the
 * quotes, spaces and neighbouring arguments around a right-to-left run, so the order the human reads would
 * not be the argv order: they are escaped like the invisible characters.
 */
const RIGHT_TO_LEFT = new RegExp(
  `[${[
    'Hebrew',
    'Arabic',
    'Syriac',
    'Thaana',
    'Nko',
    'Samaritan',
    'Mandaic',
    'Adlam',
    'Hanifi_Rohingya',
    'Yezidi',
    'Mende_Kikakui',
    'Old_South_Arabian',
    'Old_North_Arabian',
    'Imperial_Aramaic',
    'Phoenician',
    'Kharoshthi',
    'Avestan',
    'Old_Hungarian',
    'Sogdian',
    'Old_Sogdian',
    'Manichaean',
    'Nabataean',
    'Palmyrene',
    'Hatran',
    'Lydian',
    'Cypriot',
    'Psalter_Pahlavi',
    'Inscriptional_Pahlavi',
    'Inscriptional_Parthian',
    'Elymaic',
    'Chorasmian',
    'Old_Uyghur',
    'Meroitic_Cursive',
    'Meroitic_Hieroglyphs',
  ]
    .map((script) => `\\p{Script=${script}}`)
    .join('')}]`,
  'u',
);
const SPACE_SEPARATOR = /\p{Zs}/u;
const MARK = /\p{M}/u;
const BASE = /[\p{L}\p{N}]/u;
/** Combining marks stacked on one base character beyond this are escaped (they would draw over other rows). */
const MAX_STACKED_MARKS = 3;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export const DEFAULT_MAX_ARG_CHARS = 1000;
/** What an empty argv shows (never produced for a real argv: it is not in the grammar). */
export const EMPTY_ARGV = '(empty argv)';
export const DEFAULT_MAX_DISPLAY_CHARS = 4000;

function escapeCodePoint(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const cp = ch.codePointAt(0)!;
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

/**
 * Escapes `text` character by character. `quote` is the quote character that must be escaped too
 * (none for free text). A combining mark is kept only on a letter or digit of the same text, at most
 * MAX_STACKED_MARKS deep: otherwise it would combine with a quote, a space or an escape we print.
 */
function escapeText(text: string, quote: string, alsoEscape: string): string {
  let out = '';
  let baseAllowsMarks = false;
  let stacked = 0;
  for (const ch of text) {
    let literal = !isHiddenCharacter(ch) && !alsoEscape.includes(ch);
    if (literal && MARK.test(ch)) {
      literal = baseAllowsMarks && stacked < MAX_STACKED_MARKS;
      stacked++;
      // An escaped mark ends the run: the next mark would otherwise sit on the escape's last character.
      if (!literal) baseAllowsMarks = false;
    } else {
      baseAllowsMarks = literal && BASE.test(ch);
      stacked = 0;
    }
    if (!literal) out += escapeCodePoint(ch);
    else if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** Cuts `text` to `max` code points; returns the kept part and how many code points were left out. */
function cut(text: string, max: number): { kept: string; dropped: number } {
  const points = [...text];
  if (points.length <= max) return { kept: text, dropped: 0 };
  return { kept: points.slice(0, max).join(''), dropped: points.length - max };
}

/** One argument as displayArgv shows it. */
export function displayArg(arg: string, options: DisplayOptions = {}): string {
  const alsoEscape = options.alsoEscape ?? '';
  const { kept, dropped } = cut(arg, options.maxArgChars ?? DEFAULT_MAX_ARG_CHARS);
  const shown =
    dropped === 0 && SAFE_ARG.test(kept) && ![...kept].some((c) => alsoEscape.includes(c))
      ? kept
      : `'${escapeText(kept, "'", alsoEscape)}'`;
  return dropped === 0 ? shown : `${shown}…[+${dropped} chars]`;
}

/** An argv as one unambiguous, single-line string (see the file comment for the grammar). */
export function displayArgv(argv: readonly string[], options: DisplayOptions = {}): string {
  const maxChars = options.maxChars ?? DEFAULT_MAX_DISPLAY_CHARS;
  if (argv.length === 0) return EMPTY_ARGV;
  let out = '';
  for (let i = 0; i < argv.length; i++) {
    const token = displayArg(argv[i]!, options);
    const next = out === '' ? token : `${out} ${token}`;
    if (next.length > maxChars && out !== '') return `${out} …[+${argv.length - i} more args]`;
    out = next;
  }
  return out;
}

/**
 * Free text on one line (a shell command string, an agent id, a host name): every hidden character
 * escaped and `\` doubled, no quoting. Cut text ends in `…[+N chars]`.
 */
export function displayString(text: string, options: DisplayOptions = {}): string {
  const { kept, dropped } = cut(text, options.maxChars ?? DEFAULT_MAX_DISPLAY_CHARS);
  const shown = escapeText(kept, '', options.alsoEscape ?? '');
  return dropped === 0 ? shown : `${shown}…[+${dropped} chars]`;
}

/** True when `ch` is never printed literally by these functions (exported for tests and for checks of other text). */
export function isHiddenCharacter(ch: string): boolean {
  return HIDDEN.test(ch) || RIGHT_TO_LEFT.test(ch) || (SPACE_SEPARATOR.test(ch) && ch !== ' ');
}

/**
 * The inverse of displayArgv for an uncut rendering (tests, and anyone who needs the argv back from a
 * log line). Throws on text displayArgv does not produce.
 */
export function decodeDisplayedArgv(text: string): string[] {
  if (text === EMPTY_ARGV) return [];
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== "'") {
      const end = text.indexOf(' ', i);
      const token = text.slice(i, end === -1 ? text.length : end);
      if (!SAFE_ARG.test(token)) throw new Error(`not a displayed argv: bare token ${JSON.stringify(token)}`);
      args.push(token);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    let arg = '';
    i++;
    for (;;) {
      if (i >= text.length) throw new Error('not a displayed argv: unterminated quote');
      const ch = text[i]!;
      if (ch === "'") break;
      if (ch !== '\\') {
        const cp = text.codePointAt(i)!;
        arg += String.fromCodePoint(cp);
        i += cp > 0xffff ? 2 : 1;
        continue;
      }
      const kind = text[i + 1];
      if (kind === 'n' || kind === 'r' || kind === 't') {
        arg += { n: '\n', r: '\r', t: '\t' }[kind];
        i += 2;
      } else if (kind === 'x') {
        arg += String.fromCodePoint(parseInt(text.slice(i + 2, i + 4), 16));
        i += 4;
      } else if (kind === 'u') {
        const close = text.indexOf('}', i);
        arg += String.fromCodePoint(parseInt(text.slice(i + 3, close), 16));
        i = close + 1;
      } else {
        arg += kind;
        i += 2;
      }
    }
    args.push(arg);
    i++;
    if (i < text.length) {
      if (text[i] !== ' ') throw new Error('not a displayed argv: no separator after a quoted argument');
      i++;
    }
  }
  return args;
}

/**
 * The command of a queued approval (`exec.approval.list` / `exec.approval.requested` entry), as a human
 * should read it: the argv (`commandArgv`) when the request carries one, else its command text, escaped.
 * Computed from the raw fields, never taken from a display string someone else rendered.
 */
export function displayApprovalCommand(
  request: Record<string, unknown> | undefined,
  options: DisplayOptions = {},
): string {
  const argv = request?.commandArgv;
  if (Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string'))
    return displayArgv(argv as string[], options);
  const command = request?.command;
  if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string'))
    return displayArgv(command as string[], options);
  if (typeof command === 'string') return displayString(command, options);
  return '(no command)';
}
