// openclaw-ipc stop [--state-dir DIR] [--timeout MS] [--json]: stops what runs for this state dir, found by
// its lock files and the pid in them (never by process name): SIGTERM, then SIGKILL after the timeout.
// A service manager that restarts on exit (launchd KeepAlive) must be stopped first: see `service`.
import { resolveStateDir } from '../../common/state-dir.js';
import { stopInstances } from '../../service/stop.js';
import { ExitCode, parseCommandArgs, positiveIntOption } from '../run.js';

const USAGE = [
  'usage: openclaw-ipc stop [--state-dir DIR] [--timeout MS (default 20000)] [--json]',
  'example: openclaw-ipc stop && openclaw-ipc status',
].join('\n');

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    { 'state-dir': { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const stateDir = parsed.values['state-dir'] ?? resolveStateDir();
  const stopped = await stopInstances(stateDir, { timeoutMs: positiveIntOption(parsed.values.timeout, '--timeout') });
  if (parsed.values.json) process.stdout.write(`${JSON.stringify({ stateDir, stopped })}\n`);
  else if (stopped.length === 0) process.stdout.write(`nothing running for ${stateDir}\n`);
  else for (const s of stopped) process.stdout.write(`pid ${s.pid}: ${s.outcome} (held ${s.locks.join(', ')})\n`);
  return ExitCode.ok;
}
