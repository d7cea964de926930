// Colour for people at a terminal: only when stdout is a TTY, never with NO_COLOR set (https://no-color.org)
// or TERM=dumb; FORCE_COLOR=1 forces it (for tests and pagers that pass colour through).
const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Style = keyof typeof CODES;

export function colorEnabled(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** `text` in `style` when colour is enabled for stdout, else unchanged. */
export function paint(style: Style, text: string, enabled: boolean = colorEnabled()): string {
  return enabled ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
}
