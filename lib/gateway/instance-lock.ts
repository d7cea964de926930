// One Gateway per state dir: two Gateways sharing devices/, nodes/ and the idempotency cache would
// overwrite each other's files. The same kernel lock as every instance lock (lib/native/file-lock.ts):
// a crashed holder's lock is released by the kernel, so it is simply taken over.
import { IpcError } from '../common/errors.js';
import { ensurePrivateDir } from '../common/state-dir.js';
import { acquireInstanceLock, type InstanceLock } from '../native/file-lock.js';

export const GATEWAY_LOCK_FILE = 'gateway.lock';

export class GatewayLockedError extends IpcError {
  constructor(
    readonly lockFile: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      'ERR_GATEWAY_LOCKED',
      `another gateway (pid ${holderPid ?? 'unknown'}) is running for this state dir (lock ${lockFile})`,
    );
  }
}

/** Takes `<stateDir>/gateway.lock`; throws GatewayLockedError while a live Gateway holds it. */
export function acquireGatewayLock(stateDir: string): InstanceLock {
  ensurePrivateDir(stateDir);
  return acquireInstanceLock(stateDir, GATEWAY_LOCK_FILE, (file, pid) => new GatewayLockedError(file, pid));
}

export type { InstanceLock };
