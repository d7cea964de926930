// A conservative reader of GNU sed programs, for the sed tool model: it accepts scripts made of the
// commands that only transform text (s, y, p, d, n, a/i/c text, labels and branches, hold space …) and
// refuses the ones that run a program or open a file of the script's choosing: the `e` command, the
// `e` and `w` flags of `s`, and `r R w W`. Anything it does not fully understand is refused too, so a
// refusal is a miss that asks, never a wrong "safe".

const SIMPLE_COMMANDS = new Set(['=', 'd', 'D', 'g', 'G', 'h', 'H', 'n', 'N', 'p', 'P', 'x', 'z', 'F']);
const NUMBER_ARG_COMMANDS = new Set(['l', 'L', 'q', 'Q']);
const LABEL_COMMANDS = new Set(['b', 't', 'T']);
const TEXT_COMMANDS = new Set(['a', 'i', 'c']);
const FILE_OR_EXEC_COMMANDS = new Set(['e', 'r', 'R', 'w', 'W']);
const S_FLAGS = /[gpiImM0-9]/;

class Refusal extends Error {}

class SedReader {
  i = 0;
  depth = 0;
  constructor(readonly text: string) {}

  /** The character at the cursor (a method, not a getter: the cursor moves between reads). */
  c(): string | undefined {
    return this.text[this.i];
  }
  /** Whether the character at the cursor matches `re`. */
  is(re: RegExp): boolean {
    const c = this.c();
    return c !== undefined && re.test(c);
  }
  refuse(why: string): never {
    throw new Refusal(why);
  }
  skipBlanks(): void {
    while (this.c() === ' ' || this.c() === '\t') this.i++;
  }
  /** A delimited part (regex or replacement) up to an unescaped `delim`; the delimiter is consumed. */
  delimited(delim: string, what: string): void {
    for (;;) {
      const c = this.c();
      if (c === undefined) this.refuse(`unterminated ${what}`);
      if (c === '\\') {
        if (this.text[this.i + 1] === undefined) this.refuse(`unterminated ${what}`);
        this.i += 2;
        continue;
      }
      if (c === '\n') this.refuse(`newline inside ${what}`);
      this.i++;
      if (c === delim) return;
    }
  }
  address(): boolean {
    const c = this.c();
    if (c !== undefined && /[0-9]/.test(c)) {
      while (this.is(/[0-9~]/)) this.i++;
      return true;
    }
    if (c === '$') {
      this.i++;
      return true;
    }
    if (c === '/' || c === '\\') {
      const delim = c === '/' ? '/' : this.text[this.i + 1];
      if (delim === undefined || delim === '\n' || delim === '\\') this.refuse('bad address delimiter');
      this.i += c === '/' ? 1 : 2;
      this.delimited(delim, 'address');
      while (this.c() === 'I' || this.c() === 'M') this.i++;
      return true;
    }
    return false;
  }
  addresses(): boolean {
    if (!this.address()) return false;
    this.skipBlanks();
    if (this.c() === ',') {
      this.i++;
      this.skipBlanks();
      if (this.c() === '+' || this.c() === '~') this.i++;
      if (!this.address()) this.refuse('bad second address');
    }
    return true;
  }
  /** After a command: blanks, then `;`, newline, `}`, `#` or the end. */
  endOfCommand(): void {
    this.skipBlanks();
    const c = this.c();
    if (c === undefined || c === ';' || c === '\n' || c === '}' || c === '#') return;
    this.refuse(`unexpected ${JSON.stringify(c)} after a command`);
  }
  label(): void {
    this.skipBlanks();
    while (this.is(/[A-Za-z0-9_.-]/)) this.i++;
  }
  /** a/i/c text: to the end of the line, a backslash-newline continuing it. Inert. */
  text_(): void {
    this.skipBlanks();
    if (this.c() === '\\') {
      this.i++;
      if (this.c() === '\n') this.i++;
    }
    while (this.c() !== undefined && this.c() !== '\n') this.i += this.c() === '\\' ? 2 : 1;
  }
  substitute(): void {
    const delim = this.c();
    if (delim === undefined || delim === '\n' || delim === '\\') this.refuse('bad s delimiter');
    this.i++;
    this.delimited(delim, 's regex');
    this.delimited(delim, 's replacement');
    while (this.is(S_FLAGS)) this.i++;
    if (this.c() === 'e') this.refuse('s///e (runs the pattern space as a command)');
    if (this.c() === 'w') this.refuse('s///w (writes a file)');
    this.endOfCommand();
  }
  command(): void {
    const hadAddress = this.addresses();
    this.skipBlanks();
    while (this.c() === '!') {
      this.i++;
      this.skipBlanks();
    }
    const cmd = this.c();
    if (cmd === undefined) this.refuse('missing command');
    this.i++;
    if (cmd === '{') {
      this.depth++;
      return;
    }
    if (FILE_OR_EXEC_COMMANDS.has(cmd))
      this.refuse(`command ${cmd} (${cmd === 'e' ? 'runs a command' : 'opens a file'})`);
    if (SIMPLE_COMMANDS.has(cmd)) return this.endOfCommand();
    if (NUMBER_ARG_COMMANDS.has(cmd)) {
      this.skipBlanks();
      while (this.is(/[0-9]/)) this.i++;
      return this.endOfCommand();
    }
    if (LABEL_COMMANDS.has(cmd)) {
      this.label();
      return this.endOfCommand();
    }
    if (cmd === ':') {
      if (hadAddress) this.refuse(': with an address');
      this.label();
      return this.endOfCommand();
    }
    if (TEXT_COMMANDS.has(cmd)) return this.text_();
    if (cmd === 's') return this.substitute();
    if (cmd === 'y') {
      const delim = this.c();
      if (delim === undefined || delim === '\n' || delim === '\\') this.refuse('bad y delimiter');
      this.i++;
      this.delimited(delim, 'y source');
      this.delimited(delim, 'y target');
      return this.endOfCommand();
    }
    if (cmd === 'v') {
      this.label();
      return this.endOfCommand();
    }
    this.refuse(`command ${JSON.stringify(cmd)}`);
  }
  program(): void {
    for (;;) {
      while (this.is(/[\s;]/)) this.i++;
      const c = this.c();
      if (c === undefined) break;
      if (c === '#') {
        while (this.c() !== undefined && this.c() !== '\n') this.i++;
        continue;
      }
      if (c === '}') {
        if (--this.depth < 0) this.refuse('unexpected }');
        this.i++;
        this.endOfCommand();
        continue;
      }
      this.command();
    }
    if (this.depth !== 0) this.refuse('unmatched {');
  }
}

/** Why the sed program may run or open something (or is not understood), or undefined when it only edits text. */
export function sedScriptRefusal(script: string): string | undefined {
  try {
    new SedReader(script).program();
    return undefined;
  } catch (err) {
    if (err instanceof Refusal) return `script: ${err.message}`;
    throw err;
  }
}
