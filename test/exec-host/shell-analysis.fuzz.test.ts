// Property-based tests of the shell-script analyser (issue 7 "Also"). The oracle is a real shell: for any
// script the parser accepts, the words it predicts are exactly the argv /bin/sh (and bash) passes, and the
// enforced (re-quoted) script means the same. Bounded here; `npm run fuzz` runs thousands.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fc from 'fast-check';

import { parseShellScript, renderScript, type ChainOperator } from '../../lib/exec-host/shell-analysis.js';
import { params } from '../helpers/fuzz.js';

const SHELLS = ['/bin/sh', '/bin/bash'].filter((s) => fs.existsSync(s));
const ENV = { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8' };

// ---- a generator of scripts in (and around) the accepted language ----

const bareChar = fc.constantFrom(...'abcXYZ019_-./:,@%+=#'.split(''), 'é', '日');
const anyPrintable = fc.constantFrom(...'ab $`"\'\\*?;&|<>(){}[]~!#=%\t'.split(''), 'é');
const bare = fc.array(bareChar, { minLength: 1, maxLength: 5 }).map((cs) => cs.join(''));
const singleQuoted = fc
  .array(
    anyPrintable.filter((c) => c !== "'"),
    { maxLength: 6 },
  )
  .map((cs) => `'${cs.join('')}'`);
const doubleQuotedPart = fc.oneof(
  anyPrintable.filter((c) => !'$`"\\'.includes(c)),
  fc.constantFrom('\\\\', '\\"', '\\$', '\\`', '\\a', '\\n'),
);
const doubleQuoted = fc.array(doubleQuotedPart, { maxLength: 5 }).map((ps) => `"${ps.join('')}"`);
const escaped = anyPrintable.map((c) => `\\${c}`);
const word = fc
  .array(fc.oneof(bare, singleQuoted, doubleQuoted, escaped), { minLength: 1, maxLength: 3 })
  .map((ps) => ps.join(''));
const blanks = fc.constantFrom(' ', '  ', '\t', ' \t ');

/** `printf '[%s]\n' <words…>` segments joined by `;` or `&&` (printf always succeeds: every segment runs). */
const printfScript = fc
  .array(fc.tuple(fc.array(word, { maxLength: 4 }), fc.constantFrom<ChainOperator>(';', '&&'), blanks), {
    minLength: 1,
    maxLength: 3,
  })
  .map((segments) =>
    segments
      .map(
        ([words, op, gap], i) =>
          `printf '[%s]\\n'${words.map((w) => ` ${w}`).join('')}${i < segments.length - 1 ? `${gap}${op}${gap}` : ''}`,
      )
      .join(''),
  );

/** What the parsed segments print when every program is printf '[%s]\n'. */
function predictedOutput(segments: { words: string[] }[]): string {
  return segments
    .map((s) =>
      s.words.length <= 2
        ? '[]\n'
        : s.words
            .slice(2)
            .map((w) => `[${w}]\n`)
            .join(''),
    )
    .join('');
}

function runShell(shell: string, script: string): string {
  const out = spawnSync(shell, ['-c', script], { env: ENV, encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 ? out.stdout : `(exit ${out.status}) ${out.stderr}`;
}

t.test(
  'the analyser predicts exactly the argv a real shell passes, and the enforced script means the same',
  async (t) => {
    fc.assert(
      fc.property(printfScript, (script) => {
        const parsed = parseShellScript(script);
        if (!parsed.ok) return true; // a refusal is always safe; what is accepted must be right
        for (const s of parsed.segments) if (s.words[0] !== 'printf') return true; // a leading comment or similar
        const expected = predictedOutput(parsed.segments);
        const enforced = renderScript(
          parsed.segments.map((s) => s.words),
          parsed.operators,
        );
        for (const shell of SHELLS) {
          if (runShell(shell, script) !== expected) return false;
          if (runShell(shell, enforced) !== expected) return false;
        }
        return true;
      }),
      params(25, 20),
    );
    t.pass(`property held against ${SHELLS.join(' and ')}`);
  },
);

t.test('render → parse is the identity on accepted scripts', async (t) => {
  const scripts = fc.oneof(printfScript, fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 40 }));
  fc.assert(
    fc.property(scripts, (script) => {
      const parsed = parseShellScript(script);
      if (!parsed.ok) return true;
      const again = parseShellScript(
        renderScript(
          parsed.segments.map((s) => s.words),
          parsed.operators,
        ),
      );
      return (
        again.ok &&
        JSON.stringify(again.segments.map((s) => s.words)) === JSON.stringify(parsed.segments.map((s) => s.words)) &&
        JSON.stringify(again.operators) === JSON.stringify(parsed.operators)
      );
    }),
    params(2000),
  );
  t.pass('round trip held');
});

t.test('parse never throws, whatever the input', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), printfScript), (script) => {
      const parsed = parseShellScript(script);
      return parsed.ok ? parsed.segments.length === parsed.operators.length + 1 : typeof parsed.reason === 'string';
    }),
    params(3000),
  );
  t.pass('no exception');
});

t.test('an unquoted metacharacter anywhere outside a comment makes the script a miss', async (t) => {
  const meta = fc.constantFrom('$', '`', '<', '>', '(', ')', '*', '?', '[', ']', '{', '}', '~', '!', '\n', ' & ', '\r');
  const noHashWord = word.filter((w) => !w.startsWith('#') && !/\s#/.test(w));
  const left = fc.array(noHashWord, { maxLength: 3 }).map((ws) => ws.join(' '));
  fc.assert(
    fc.property(left, meta, left, (before, m, after) => {
      const script = `ls ${before}${m}${after}`;
      return !parseShellScript(script).ok;
    }),
    params(2000),
  );
  t.pass('every such script refused');
});

t.test('fixed cases at the edges the generator aims at (comments, escaped #, escaped blanks)', async (t) => {
  // No counterexample has been found for these properties (600 runs against dash and bash); these pin the
  // edges explicitly. Shape: the script, the words a real shell passes (null: must be refused).
  const cases: [string, string[][] | null][] = [
    ["printf '[%s]\\n' a#b", [['printf', '[%s]\\n', 'a#b']]],
    ["printf '[%s]\\n' \\#x", [['printf', '[%s]\\n', '#x']]],
    ["printf '[%s]\\n' #x", [['printf', '[%s]\\n']]],
    ["printf '[%s]\\n' \\\t", [['printf', '[%s]\\n', '\t']]],
  ];
  for (const [script, words] of cases) {
    const parsed = parseShellScript(script);
    if (words === null) t.notOk(parsed.ok, JSON.stringify(script));
    else {
      t.same(parsed.ok && parsed.segments.map((s) => s.words), words, JSON.stringify(script));
      for (const shell of SHELLS)
        t.equal(runShell(shell, script), predictedOutput(words.map((w) => ({ words: w }))), `${shell} agrees`);
    }
  }
});
