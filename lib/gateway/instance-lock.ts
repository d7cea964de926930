// One Gateway per state dir: two Gateways sharing devices/, nodes/ and the idempotency cache would
// overwrite each other's files. The lock is the exec host's pid + start-time lock file under another
// name, so a crashed holder (dead pid, or a pid reused by another process) is taken over.
import { IpcError } from '../common/errors.js';
import { ensurePrivateDir } from '../common/state-dir.js';
import { InstanceLockedError, acquireInstanceLock, type InstanceLock } from '../exec-host/socket-setup.js';

export const GATEWAY_LOCK_FILE = 'gateway.lock';

export class GatewayLockedError extends IpcError {
  constructor(
    readonly lockFile: string,
    readonly holderPid: number,
    cause?: unknown,
  ) {
    super('ERR_GATEWAY_LOCKED', `another gateway (pid ${holderPid}) is running for this state dir (lock ${lockFile})`, {
      cause,
    });
  }
}

/** Takes `<stateDir>/gateway.lock`; throws GatewayLockedError while a live Gateway holds it. */
export function acquireGatewayLock(stateDir: string): InstanceLock {
  ensurePrivateDir(stateDir);
  try {
    return acquireInstanceLock(stateDir, GATEWAY_LOCK_FILE);
  } catch (err) {
    if (err instanceof InstanceLockedError) throw new GatewayLockedError(err.lockFile, err.holderPid, err);
    throw err;
  }
}

export type { InstanceLock };
