// The exec host's single-instance lock for one state directory. The listening socket itself is set up
// by lib/common/private-socket.ts.
import fs from 'node:fs';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { SocketSetupError } from '../common/private-socket.js';

export { SocketSetupError } from '../common/private-socket.js';

export class InstanceLockedError extends IpcError {
  constructor(
    readonly lockFile: string,
    readonly holderPid: number,
  ) {
    super(
      'ERR_EXEC_HOST_LOCKED',
      `another exec host (pid ${holderPid}) is running for this state dir (lock ${lockFile})`,
    );
  }
}

// ---- single-instance lock ----

interface LockContent {
  pid: number;
  start?: string;
}

/** Linux: the process start time (field 22 of /proc/<pid>/stat), to tell a reused pid from the holder. */
function processStart(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(lock: LockContent): boolean {
  try {
    process.kill(lock.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (lock.start !== undefined) {
    const start = processStart(lock.pid);
    if (start !== undefined && start !== lock.start) return false;
  }
  return true;
}

export interface InstanceLock {
  file: string;
  release(): void;
}

/**
 * Takes `<dir>/exec-approvals.lock` (O_EXCL, 0600, holding our pid and start time). A lock whose
 * holder is dead (or whose pid now belongs to another process) is taken over; a live one throws
 * InstanceLockedError.
 */
export function acquireInstanceLock(dir: string, name = 'exec-approvals.lock'): InstanceLock {
  const file = path.join(dir, name);
  const content: LockContent = { pid: process.pid, start: processStart(process.pid) };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(
        file,
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        0o600,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = fs.lstatSync(file);
      if (!st.isFile() || st.uid !== process.geteuid?.()) {
        throw new SocketSetupError(
          'ERR_LOCK_FILE_UNSAFE',
          `refusing lock file ${file}: not a regular file owned by us`,
        );
      }
      let holder: LockContent | undefined;
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockContent;
      } catch {
        holder = undefined; // torn or empty: a holder died mid-write
      }
      if (holder && Number.isInteger(holder.pid) && isAlive(holder)) {
        throw new InstanceLockedError(file, holder.pid);
      }
      // Stale: remove that exact inode and retry the exclusive create.
      try {
        const again = fs.lstatSync(file);
        if (again.ino === st.ino) fs.unlinkSync(file);
      } catch {
        // Someone else removed it first.
      }
      continue;
    }
    try {
      fs.writeSync(fd, JSON.stringify(content));
    } finally {
      fs.closeSync(fd);
    }
    const ours = fs.lstatSync(file);
    return {
      file,
      release: () => {
        try {
          const st = fs.lstatSync(file);
          if (st.ino === ours.ino && st.dev === ours.dev) fs.unlinkSync(file);
        } catch {
          // Already gone.
        }
      },
    };
  }
  throw new SocketSetupError('ERR_LOCK_CONTENDED', `could not take ${file}: contended`);
}
