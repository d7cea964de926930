// Hop timestamps for `npm run bench:e2e`. Off unless OPENCLAW_IPC_TRACE names a file: then every
// traceMark() appends (name, performance.now()) and the marks are written to that file as JSON at exit.
// Callers guard with `if (TRACE)` so a disabled trace costs one constant branch. One process, one clock:
// in `up` the Gateway, the node host and the exec host share it, so hop durations need no alignment.
import fs from 'node:fs';

const traceFile = process.env.OPENCLAW_IPC_TRACE;
export const TRACE: boolean = Boolean(traceFile);

/** Bounded: a forgotten trace variable must not grow memory without end. */
const MAX_MARKS = 500_000;
const names: string[] = [];
const times: number[] = [];

export function traceMark(name: string): void {
  if (names.length >= MAX_MARKS) return;
  names.push(name);
  times.push(performance.now());
}

if (traceFile) {
  process.once('exit', () => {
    try {
      fs.writeFileSync(traceFile, JSON.stringify({ names, times }), { mode: 0o600 });
    } catch {
      // A trace is a benchmark aid; failing to write it must not change how the process exits.
    }
  });
}
