// Stopping what runs for a state dir, found by its lock files and the pid in them (never by process name):
// SIGTERM to each holder of a live lock (the kernel's flock is held), then SIGKILL after the deadline. A
// stale lock file (its holder died; the kernel dropped the flock) is left for the next start to take.
import { inspectInstanceLock } from '../native/file-lock.js';
import { lockFiles } from './manager.js';

export interface StoppedInstance {
  pid: number;
  locks: string[];
  /** How it ended: exited after SIGTERM, after SIGKILL, or was already gone. */
  outcome: 'terminated' | 'killed' | 'gone';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !alive(pid);
}

/** The live lock holders of a state dir: pid → the lock files it holds. */
export function liveHolders(stateDir: string): Map<number, string[]> {
  const holders = new Map<number, string[]>();
  for (const lock of lockFiles(stateDir).map(inspectInstanceLock)) {
    if (lock.state !== 'live' || lock.pid === undefined) continue;
    holders.set(lock.pid, [...(holders.get(lock.pid) ?? []), lock.file]);
  }
  return holders;
}

export async function stopInstances(
  stateDir: string,
  options: { timeoutMs?: number } = {},
): Promise<StoppedInstance[]> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const stopped: StoppedInstance[] = [];
  for (const [pid, locks] of liveHolders(stateDir)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      stopped.push({ pid, locks, outcome: 'gone' });
      continue;
    }
    if (await waitGone(pid, timeoutMs)) {
      stopped.push({ pid, locks, outcome: 'terminated' });
      continue;
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited between the check and the kill.
    }
    await waitGone(pid, 5_000);
    stopped.push({ pid, locks, outcome: 'killed' });
  }
  return stopped;
}
