// The one rendering of a command for humans (lib/common/argv-display.ts): real spoof strings, and
// fast-check properties over arbitrary Unicode argv: one line, no control/format/bidi/invisible character,
// injective (decodes back to the exact argv), and cut text always marked.
import fc from 'fast-check';
import t from 'tap';

import {
  EMPTY_ARGV,
  decodeDisplayedArgv,
  displayApprovalCommand,
  displayArgv,
  displayString,
} from '../../lib/common/argv-display.js';

/** Characters no rendering may contain, listed independently of the implementation's own classes. */
/* eslint-disable no-misleading-character-class -- the classes list single code points on purpose */
const FORBIDDEN = new RegExp(
  [
    '[\\u0000-\\u001f\\u007f-\\u009f]', // C0, DEL, C1 (incl. NEL U+0085, CSI U+009B)
    '[\\u2028\\u2029]', // line and paragraph separators
    '[\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c]', // bidi embeddings, overrides, isolates, marks
    '[\\u200b-\\u200d\\u2060-\\u2064\\ufeff\\u00ad\\u180e\\u034f]', // zero-width and invisible operators
    '[\\u3164\\u115f\\u1160\\uffa0\\u2800]', // blank-looking letters
    '[\\ufe00-\\ufe0f]', // variation selectors
    '\\p{Zs}(?<! )', // space separators other than U+0020
    '[\\p{Co}\\p{Cn}\\p{Cs}]',
    '[\\p{Script=Hebrew}\\p{Script=Arabic}]', // right-to-left letters reorder a bidi-aware display
  ].join('|'),
  'u',
);
/* eslint-enable no-misleading-character-class */

/** Strings biased towards what spoofs prompts: line breaks, escapes, bidi, quotes, spaces, combining marks. */
const spoofChars = fc.constantFrom(
  '\n',
  '\r',
  '\t',
  '\x1b',
  '\x9b',
  '\x85',
  '\x00',
  '\x7f',
  '\u2028',
  '\u2029',
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2067',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u00a0',
  '\u3000',
  '\u3164',
  '\u0301',
  '\u0338',
  '\ufe0f',
  '\ud800',
  '\udfff',
  'א',
  'ب',
  "'",
  '"',
  '\\',
  ' ',
  '…',
  '[',
  '+',
  '<',
  '&',
  'a',
  '/',
  '-',
  'é',
  '😀',
);
const spoofString = fc.oneof(
  fc.string({ unit: spoofChars, maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 12 }),
);
const argvArb = fc.array(spoofString, { minLength: 1, maxLength: 6 });
const RUNS = { numRuns: 3000 };

t.test('real spoof strings', async (t) => {
  const cases: Array<[string[], string]> = [
    [['echo', 'hi'], 'echo hi'],
    [['rm', '-rf', '/tmp/x y'], "rm -rf '/tmp/x y'"],
    [['echo', 'ok\nWorking directory: /home/me'], "echo 'ok\\nWorking directory: /home/me'"],
    [['/usr/bin/\u202egnp.exe'], "'/usr/bin/\\u{202e}gnp.exe'"],
    [['printf', '\x1b[2J\x1b[1;1HAllow Once'], "printf '\\x1b[2J\\x1b[1;1HAllow Once'"],
    [['a\x9b31m'], "'a\\x9b31m'"],
    [['ls', 'a\u2028b'], "ls 'a\\u{2028}b'"],
    [['rm', 'safe\u200b.txt'], "rm 'safe\\u{200b}.txt'"],
    [["it's"], "'it\\'s'"],
    [['a b', 'c'], "'a b' c"],
    [['a', 'b c'], "a 'b c'"],
    [[''], "''"],
    [['\u00a0'], "'\\xa0'"],
  ];
  for (const [argv, shown] of cases) {
    // Assertion names are escaped too: a raw U+2028 or C1 byte would corrupt the TAP stream itself.
    t.equal(displayArgv(argv), shown, `shown as ${JSON.stringify(shown)}`);
    t.same(decodeDisplayedArgv(shown), argv, `${JSON.stringify(shown)} decodes back`);
  }
  t.not(displayArgv(['a b', 'c']), displayArgv(['a', 'b c']), 'spaces inside arguments differ from separators');
  t.equal(displayArgv([]), EMPTY_ARGV);
  t.equal(displayString('sh -c "x"\nrm -rf /'), 'sh -c "x"\\nrm -rf /', 'free text: escapes, no quoting');
  t.equal(displayArgv(['<b>&amp;'], { alsoEscape: '<&' }), "'\\x3cb>\\x26amp;'", 'a surface may add escapes');
  t.equal(
    displayApprovalCommand({ command: 'ignored text', commandArgv: ['echo', 'a\nb'] }),
    "echo 'a\\nb'",
    'an approval shows its argv',
  );
  t.equal(displayApprovalCommand({ command: 'ls\n-la' }), 'ls\\n-la', 'or its text, escaped');
  t.equal(displayApprovalCommand({}), '(no command)');
});

t.test('truncation is visible and bounded', async (t) => {
  const long = displayArgv(['x'.repeat(50)], { maxArgChars: 10 });
  t.equal(long, `'xxxxxxxxxx'…[+40 chars]`, 'a cut argument says how much is missing, outside the quotes');
  const many = displayArgv(
    Array.from({ length: 100 }, () => 'abcdef'),
    { maxChars: 40 },
  );
  t.match(many, / …\[\+\d+ more args\]$/, 'left-out arguments are counted');
  t.ok(many.length <= 40 + ' …[+100 more args]'.length);
  t.match(displayString('y'.repeat(30), { maxChars: 10 }), /…\[\+20 chars\]$/);
});

t.test('property: one line, nothing hidden, injective', async (t) => {
  let checked = 0;
  fc.assert(
    fc.property(argvArb, (argv) => {
      const shown = displayArgv(argv);
      if (FORBIDDEN.test(shown)) throw new Error(`forbidden character in ${JSON.stringify(shown)}`);
      // Injective: the exact argv comes back, so two different argv never look the same.
      const back = decodeDisplayedArgv(shown);
      if (JSON.stringify(back) !== JSON.stringify(argv))
        throw new Error(`${JSON.stringify(argv)} shown as ${shown} decodes to ${JSON.stringify(back)}`);
      checked++;
    }),
    RUNS,
  );
  t.equal(checked >= RUNS.numRuns, true, `${checked} argv checked`);
  fc.assert(
    fc.property(
      argvArb,
      argvArb,
      (a, b) => JSON.stringify(a) === JSON.stringify(b) || displayArgv(a) !== displayArgv(b),
    ),
    RUNS,
  );
  fc.assert(
    fc.property(spoofString, (text) => !FORBIDDEN.test(displayString(text))),
    RUNS,
  );
});

t.test('property: cut renderings stay bounded, single-line and marked', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: spoofChars, maxLength: 40 }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 10, max: 200 }),
      (argv, maxArgChars, maxChars) => {
        const shown = displayArgv(argv, { maxArgChars, maxChars });
        if (FORBIDDEN.test(shown)) return false;
        const cutArg = argv.some((a) => [...a].length > maxArgChars);
        if (cutArg && !shown.includes('chars]') && !shown.includes('more args]')) return false;
        const escapedMax = maxArgChars * '\\u{10ffff}'.length + "''…[+99999 chars]".length;
        return shown.length <= maxChars + escapedMax + ' …[+30 more args]'.length;
      },
    ),
    RUNS,
  );
  t.pass('bounded');
});
