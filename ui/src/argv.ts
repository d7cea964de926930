// How the page shows text a requester chose (argv, cwd, paths): every character that could move,
// hide or fake what a human reads is replaced by a visible escape, and a backslash is doubled so an
// escape can never be typed as plain text. Callers render each argument in its own numbered box.

export interface Piece {
  text: string;
  /** True for an escape sequence standing for one character (styled differently). */
  escape: boolean;
}

const NAMED: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\\': '\\\\',
};

/**
 * Characters that are invisible, break lines, or reorder text: C0/C1 controls and DEL, bidi embeddings,
 * overrides, isolates and marks, zero-width characters, line/paragraph separators, BOM, soft hyphen,
 * interlinear annotations, tag characters, variation selectors, and lone surrogates.
 */
function needsEscape(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0xad ||
    cp === 0x061c ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x180e ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0x3164 ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff ||
    cp === 0xffa0 ||
    (cp >= 0xfff9 && cp <= 0xfffb) ||
    (cp >= 0xe0000 && cp <= 0xe0fff)
  );
}

function escapeCodePoint(cp: number): string {
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16).padStart(4, '0')}}`;
}

/** One argument as pieces of literal text and escapes. */
export function escapePieces(value: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal) pieces.push({ text: literal, escape: false });
    literal = '';
  };
  // Iterate UTF-16 units by hand so a lone surrogate is seen (for…of would hide nothing, but pairs matter).
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    let cp = unit;
    let width = 1;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = (unit - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    const ch = value.slice(i, i + width);
    const named = NAMED[ch];
    if (named !== undefined || needsEscape(cp)) {
      flush();
      pieces.push({ text: named ?? escapeCodePoint(cp), escape: true });
    } else literal += ch;
    i += width - 1;
  }
  flush();
  return pieces;
}

/** The escaped text of one argument as a single string ('' shown as the two characters ''). */
export function escapeText(value: string): string {
  return value === ''
    ? "''"
    : escapePieces(value)
        .map((piece) => piece.text)
        .join('');
}
