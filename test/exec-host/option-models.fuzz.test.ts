// Property-based tests of the option models against the real parsers as oracles: util-linux getopt(1)
// (GNU getopt_long: clusters, abbreviations, permutation) for lib/exec-host/getopt.ts, and GNU sed's
// --sandbox (which refuses e/r/w) for the sed script reader. Whatever the oracle says runs a program,
// the model must refuse. Bounded here; `npm run fuzz` runs thousands.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fc from 'fast-check';

import { getopt, longOptions, shortOptions, type OptionTable } from '../../lib/exec-host/getopt.js';
import { sedScriptRefusal } from '../../lib/exec-host/sed-script.js';
import { params } from '../helpers/fuzz.js';

const GETOPT = ['/usr/bin/getopt', '/bin/getopt'].find((p) => fs.existsSync(p));
const SED = fs.existsSync('/usr/bin/sed') ? '/usr/bin/sed' : undefined;

// A tar-like table: the safe part our model allows, and unsafe options the real program also has.
const SAFE_SHORT = 'vf:o::';
const UNSAFE_SHORT = 'I:x';
const SAFE_LONG = ['verbose', 'file=', 'checkpoint=?', 'to-stdout', 'verify'];
const UNSAFE_LONG = ['checkpoint-action', 'to-command', 'use-compress-program'];
const TABLE: OptionTable = {
  short: shortOptions(SAFE_SHORT),
  long: longOptions(SAFE_LONG),
  unsafeLong: UNSAFE_LONG,
  abbreviations: true,
};
const UNSAFE_NAMES = new Set(['-I', '-x', ...UNSAFE_LONG.map((n) => `--${n}`)]);

/** Splits getopt(1)'s shell-quoted output into words. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]);
  return words;
}

/** The real parser's reading: option names (long ones in full) and operands, or null when it refuses. */
function oracle(args: string[]): { names: string[]; operands: string[] } | null {
  const longSpec = [
    ...SAFE_LONG.map((n) => n.replace('=?', '::').replace(/=$/, ':')),
    ...UNSAFE_LONG.map((n) => `${n}:`),
  ];
  const out = spawnSync(
    GETOPT!,
    ['-o', SAFE_SHORT + UNSAFE_SHORT, '-l', longSpec.join(','), '-n', 'x', '--', ...args],
    {
      encoding: 'utf8',
    },
  );
  if (out.status !== 0) return null;
  const words = shellWords(out.stdout.trim());
  const names: string[] = [];
  const hasValue = new Set(['-f', '-o', '-I', '--file', '--checkpoint', ...UNSAFE_LONG.map((n) => `--${n}`)]);
  let i = 0;
  for (; i < words.length && words[i] !== '--'; i++) {
    names.push(words[i]);
    if (hasValue.has(words[i])) i++; // the value, which may itself be "--"
  }
  return { names, operands: words.slice(i + 1) };
}

const argWord = fc.oneof(
  fc.constantFrom('-v', '-vf', '-fa', '-o', '-ox', '-I', '-Ish', '-x', '-vx', '-', '--', 'a', 'b.tar'),
  fc
    .constantFrom(...[...SAFE_LONG, ...UNSAFE_LONG].map((n) => n.replace(/=\??$/, '')))
    .chain((name) =>
      fc
        .tuple(fc.integer({ min: 1, max: name.length }), fc.boolean())
        .map(([len, withValue]) => `--${name.slice(0, len)}${withValue ? '=1' : ''}`),
    ),
  fc.array(fc.constantFrom(...'vfoIxz'), { minLength: 1, maxLength: 4 }).map((cs) => `-${cs.join('')}`),
);

t.test(
  'getopt model against util-linux getopt: never accepts what reaches an unsafe option',
  { skip: !GETOPT && 'no getopt(1)' },
  async (t) => {
    fc.assert(
      fc.property(fc.array(argWord, { maxLength: 5 }), (args) => {
        const ours = getopt(args, TABLE);
        const real = oracle(args);
        if (real === null) return !ours.ok; // the real parser refuses: so must we (an error never runs anything)
        if (real.names.some((n) => UNSAFE_NAMES.has(n))) return !ours.ok;
        // Only safe options: we must read the same options and operands.
        return (
          ours.ok &&
          JSON.stringify(ours.options.map((o) => o.name)) === JSON.stringify(real.names) &&
          JSON.stringify(ours.operands) === JSON.stringify(real.operands)
        );
      }),
      params(80, 10),
    );
    t.pass('agreed with getopt(1)');
  },
);

// ---- sed ----

const delim = fc.constantFrom('/', '|', '#', ',', 'e', 'w', ';', ' ');
const text = fc.array(fc.constantFrom(...'ab/|\\;ew#{} \n'.split('')), { maxLength: 5 }).map((cs) => cs.join(''));
const address = fc.oneof(
  fc.constant(''),
  fc.constantFrom('1', '$', '/a/', '\\,x,', '1,3', '0,/b/', '2~3', '/a/I,+2', '$!', '1!'),
);
const command = fc.oneof(
  fc.constantFrom('p', 'd', 'n', 'N', 'P', 'D', 'g', 'G', 'h', 'H', 'x', 'z', '=', 'l', 'q', 'Q 3', 'F'),
  fc.constantFrom('e', 'e id', 'r x', 'R x', 'w x', 'W x', 'v', ':lbl', 'b lbl', 't', 'T lbl'),
  fc
    .tuple(delim, text, text, fc.constantFrom('', 'g', 'p', 'e', 'w x', '2', 'gI', 'me', 'ge', 'pw x'))
    .map(([d, a, b, f]) => `s${d}${a}${d}${b}${d}${f}`),
  fc.tuple(delim, text, text).map(([d, a, b]) => `y${d}${a}${d}${b}${d}`),
  text.map((s) => `a ${s}`),
  text.map((s) => `i\\\n${s}`),
  fc.constantFrom('{', '}', '#c'),
);
const sedScript = fc
  .array(fc.tuple(address, command), { minLength: 1, maxLength: 4 })
  .chain((parts) => fc.constantFrom(';', '\n', ' ; ').map((sep) => parts.map(([a, c]) => `${a}${c}`).join(sep)));

t.test(
  'sed script reader against GNU sed --sandbox: nothing it accepts uses e, r or w',
  { skip: !SED && 'no sed' },
  async (t) => {
    fc.assert(
      fc.property(sedScript, (script) => {
        if (sedScriptRefusal(script) !== undefined) return true;
        const out = spawnSync(SED!, ['--sandbox', '-n', '-e', script], { input: '', encoding: 'utf8' });
        return !/disabled in sandbox mode/.test(out.stderr);
      }),
      params(120, 10),
    );
    t.pass('agreed with sed --sandbox');
  },
);
