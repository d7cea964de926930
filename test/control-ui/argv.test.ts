// The page's escaping of requester-chosen text (ui/src/argv.ts): nothing invisible or reordering
// survives, and the escaped form is unambiguous (it decodes back to exactly the original string).
import fc from 'fast-check';
import t from 'tap';

import { escapePieces, escapeText } from '../../ui/src/argv.js';

/** Characters that must never reach the screen raw (the test names them on purpose). */
/* eslint-disable no-control-regex, no-misleading-character-class */
const DANGEROUS =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]|[\u{e0000}-\u{e0fff}]|[\ud800-\udfff]/u;
/* eslint-enable no-control-regex, no-misleading-character-class */

/** The reverse of escapeText, written independently: proves every escaped form names one string. */
function decode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 't') out += '\t';
    else if (next === 'x') {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (next === 'u' && text[i + 1] === '{') {
      const end = text.indexOf('}', i);
      const cp = parseInt(text.slice(i + 2, end), 16);
      // Lone surrogates were escaped one unit at a time; anything else is a whole code point.
      out += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      i = end;
    } else throw new Error(`stray backslash at ${i} in ${JSON.stringify(text)}`);
  }
  return out;
}

t.test('examples', async (t) => {
  t.equal(escapeText('plain text, ünïcode ✓'), 'plain text, ünïcode ✓', 'ordinary text is left alone');
  t.equal(escapeText('a\nb'), 'a\\nb');
  t.equal(escapeText('a\\nb'), 'a\\\\nb', 'a typed backslash-n differs from a newline');
  t.equal(escapeText('x\u202Egnp.exe'), 'x\\u{202e}gnp.exe', 'right-to-left override');
  t.equal(escapeText('\u2066rm\u2069'), '\\u{2066}rm\\u{2069}', 'bidi isolates');
  t.equal(escapeText('a\u200Bb\u200Dc\uFEFF'), 'a\\u{200b}b\\u{200d}c\\u{feff}', 'zero-width characters and BOM');
  t.equal(escapeText('\u0085\u009b31m'), '\\x85\\x9b31m', 'C1 controls (NEL, CSI)');
  t.equal(escapeText('\u001b[2K'), '\\x1b[2K', 'ESC (terminal sequences)');
  t.equal(escapeText('\u2028'), '\\u{2028}', 'line separator');
  t.equal(escapeText('\ud800x'), '\\u{d800}x', 'a lone surrogate');
  t.equal(escapeText('😀'), '😀', 'a surrogate pair is one visible character');
  t.equal(escapeText('\u{e0041}'), '\\u{e0041}', 'tag characters');
  t.equal(escapeText(''), "''", 'the empty argument is visible');
  t.same(escapePieces('a\tb'), [
    { text: 'a', escape: false },
    { text: '\\t', escape: true },
    { text: 'b', escape: false },
  ]);
});

t.test('property: nothing dangerous survives, and the escape decodes to the original', async (t) => {
  const anyString = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc
      .array(fc.constantFrom('\n', '\\', '\u202e', '\u200b', '\u0085', 'a', ' ', '\ud800', '\udc00', 'x'), {
        maxLength: 20,
      })
      .map((parts) => parts.join('')),
  );
  fc.assert(
    fc.property(anyString, (value) => {
      const escaped = escapePieces(value)
        .map((p) => p.text)
        .join('');
      return !DANGEROUS.test(escaped) && decode(escaped) === value;
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 strings: no raw control, bidi or invisible character; decode(escape(s)) = s');
});
