// openclaw-ipc logs [--role up|gateway|node|app] [-n LINES] [-f] [--state-dir DIR]: the service's log files
// (stdout and stderr logs, as `service install` wrote them into the unit/plist), last lines, then -f follows
// what is appended (polling; a truncated or rotated file is read from its start again).
import fs from 'node:fs';

import { resolveStateDir } from '../../common/state-dir.js';
import { checkRole, serviceSpec } from '../../service/spec.js';
import { ExitCode, UsageError, parseCommandArgs, positiveIntOption, waitForStopSignal } from '../run.js';

const USAGE = [
  'usage: openclaw-ipc logs [--role up|gateway|node|app] [-n LINES (default 100)] [-f] [--state-dir DIR]',
  'example: openclaw-ipc logs --role gateway -f',
].join('\n');

const MAX_TAIL_BYTES = 4 * 1024 * 1024;

function tail(file: string, lines: number): { text: string; size: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - MAX_TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const all = buf.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return { text: all.slice(-lines).join('\n'), size };
  } finally {
    fs.closeSync(fd);
  }
}

function readFrom(file: string, offset: number): { data: string; size: number } {
  try {
    const size = fs.statSync(file).size;
    const from = size < offset ? 0 : offset;
    if (size === from) return { data: '', size };
    const fd = fs.openSync(file, 'r');
    try {
      const length = Math.min(size - from, MAX_TAIL_BYTES);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, from);
      return { data: buf.toString('utf8'), size: from + length };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return { data: '', size: offset };
  }
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      role: { type: 'string' },
      lines: { type: 'string', short: 'n' },
      follow: { type: 'boolean', short: 'f' },
      'state-dir': { type: 'string' },
    },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  let role;
  try {
    role = checkRole(values.role);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const spec = serviceSpec(role, { stateDir: values['state-dir'] ?? resolveStateDir() });
  const lines = positiveIntOption(values.lines, '--lines', 1_000_000) ?? 100;
  const files = [spec.stdoutPath, spec.stderrPath];
  const offsets = new Map<string, number>();
  let found = 0;
  for (const file of files) {
    const t = tail(file, lines);
    offsets.set(file, t?.size ?? 0);
    if (!t) continue;
    found++;
    process.stdout.write(`==> ${file} <==\n${t.text}${t.text ? '\n' : ''}`);
  }
  if (!values.follow) {
    if (found === 0) {
      process.stderr.write(
        `no log files yet (${files.join(', ')}); the ${role} service writes them once installed: openclaw-ipc service install --role ${role}\n`,
      );
      return ExitCode.failure;
    }
    return ExitCode.ok;
  }
  const timer = setInterval(() => {
    for (const file of files) {
      const { data, size } = readFrom(file, offsets.get(file) ?? 0);
      offsets.set(file, size);
      if (data) process.stdout.write(data);
    }
  }, 500);
  await waitForStopSignal();
  clearInterval(timer);
  return ExitCode.ok;
}
