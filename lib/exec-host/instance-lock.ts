// The exec host's single-instance lock for one state directory (the kernel flock of
// lib/native/file-lock.ts). The listening socket itself is set up by lib/common/private-socket.ts.
import { IpcError } from '../common/errors.js';
import { acquireInstanceLock as acquireLock, type InstanceLock } from '../native/file-lock.js';

export { SocketSetupError } from '../common/private-socket.js';
export type { InstanceLock } from '../native/file-lock.js';

export class InstanceLockedError extends IpcError {
  constructor(
    readonly lockFile: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      'ERR_EXEC_HOST_LOCKED',
      `another exec host (pid ${holderPid ?? 'unknown'}) is running for this state dir (lock ${lockFile})`,
    );
  }
}

/**
 * Takes `<dir>/exec-approvals.lock` for this process's life; throws InstanceLockedError while another
 * live exec host holds it. A lock left by a crashed host is taken (the kernel released it).
 */
export function acquireInstanceLock(dir: string, name = 'exec-approvals.lock'): InstanceLock {
  return acquireLock(dir, name, (file, pid) => new InstanceLockedError(file, pid));
}
