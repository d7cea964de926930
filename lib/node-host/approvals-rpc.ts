// system.execApprovals.get / .set on the node host: the approvals file as a hashed snapshot, and a write
// guarded by the hash the caller read (optimistic concurrency), with the node host's error texts.
import {
  APPROVALS_INVALID,
  BASE_HASH_CHANGED,
  BASE_HASH_REQUIRED,
  readApprovalsSnapshot,
  writeApprovalsSnapshot,
} from '../exec-host/exec-approvals-edit.js';
import { NodeCommandError } from './invoke-error.js';

export function getExecApprovals(stateDir: string): Record<string, unknown> {
  try {
    return { ...readApprovalsSnapshot(stateDir) };
  } catch (err) {
    throw new NodeCommandError('UNAVAILABLE', `UNAVAILABLE: exec approvals unreadable: ${(err as Error).message}`);
  }
}

export function setExecApprovals(stateDir: string, rawParams: unknown): Record<string, unknown> {
  const p = (rawParams ?? {}) as { file?: unknown; baseHash?: unknown };
  try {
    return { ...writeApprovalsSnapshot(stateDir, p) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = (err as Error).message;
    if (code === APPROVALS_INVALID)
      throw new NodeCommandError('INVALID_REQUEST', `INVALID_REQUEST: system.execApprovals.set ${message}`);
    if (code === BASE_HASH_REQUIRED)
      throw new NodeCommandError(
        'INVALID_REQUEST',
        'INVALID_REQUEST: exec approvals base hash required; reload and retry',
      );
    if (code === BASE_HASH_CHANGED)
      throw new NodeCommandError(
        'INVALID_REQUEST',
        'INVALID_REQUEST: exec approvals base hash changed; reload and retry',
      );
    throw new NodeCommandError('UNAVAILABLE', `UNAVAILABLE: exec approvals unreadable: ${message}`);
  }
}
