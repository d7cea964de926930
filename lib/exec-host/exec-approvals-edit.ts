// exec-approvals.json as remote editors see it (Gateway `exec.approvals.get|set`, node
// `system.execApprovals.get|set`): {path, exists, hash, file} with the socket token removed, and a
// write that applies only on top of the version the editor loaded (the `baseHash` rule).
import crypto from 'node:crypto';

import { IpcError } from '../common/errors.js';
import { writeFileAtomic } from '../common/state-dir.js';
import { withFileLock } from '../native/file-lock.js';
import {
  approvalsFilePath,
  normalizeApprovals,
  readApprovalsWithText,
  redactApprovals,
  serializeApprovals,
  socketPathFor,
  validateApprovals,
  type ApprovalsFile,
} from './exec-approvals-file.js';

export interface ApprovalsSnapshot {
  path: string;
  exists: boolean;
  /** Hex SHA-256 of the file's bytes as read ('' hashed when missing): the next write's `baseHash`. */
  hash: string;
  /** The file without `socket.token` (the socket path stays). */
  file: ApprovalsFile;
}

/** The codes writeApprovalsSnapshot() throws for a stale or missing `baseHash`. */
export const BASE_HASH_REQUIRED = 'ERR_APPROVALS_BASE_HASH_REQUIRED';
export const BASE_HASH_CHANGED = 'ERR_APPROVALS_BASE_HASH_CHANGED';
export const APPROVALS_INVALID = 'ERR_APPROVALS_INVALID';

const sha256Hex = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

/** Reads `<stateDir>/exec-approvals.json` safely (see readApprovals) and returns it redacted. */
export function readApprovalsSnapshot(stateDir: string): ApprovalsSnapshot {
  const path = approvalsFilePath(stateDir);
  const read = readApprovalsWithText(path);
  const file: ApprovalsFile = read
    ? redactApprovals(read.data)
    : { version: 1, socket: { path: socketPathFor({ version: 1 }, stateDir) }, defaults: {}, agents: {} };
  return { path, exists: read !== undefined, hash: sha256Hex(read?.text ?? ''), file };
}

/**
 * Replaces the policy with `file` when `baseHash` names the current content (an existing file needs
 * one; a missing file needs none). The caller's `socket` section is ignored: path and token stay the
 * host's. Throws IpcError BASE_HASH_REQUIRED / BASE_HASH_CHANGED / APPROVALS_INVALID, or the file's
 * own read errors (ERR_APPROVALS_*). Returns the new snapshot.
 */
export function writeApprovalsSnapshot(
  stateDir: string,
  params: { file?: unknown; baseHash?: unknown },
): ApprovalsSnapshot {
  const path = approvalsFilePath(stateDir);
  let next: ApprovalsFile;
  try {
    next = validateApprovals('file', structuredClone(params.file));
  } catch (err) {
    throw new IpcError(APPROVALS_INVALID, (err as Error).message.replace(/; fix or move the file.*$/, ''));
  }
  // Under the file's lock: the hash check and the write see the same file.
  withFileLock(path, () => {
    const current = readApprovalsWithText(path);
    if (current) {
      if (typeof params.baseHash !== 'string' || params.baseHash === '')
        throw new IpcError(BASE_HASH_REQUIRED, 'exec approvals base hash required');
      if (params.baseHash !== sha256Hex(current.text))
        throw new IpcError(BASE_HASH_CHANGED, 'exec approvals changed since they were loaded');
    }
    // The socket path and token are the host's, never the caller's.
    if (current?.data.socket) next.socket = { ...current.data.socket };
    else delete next.socket;
    normalizeApprovals(next);
    writeFileAtomic(path, serializeApprovals(next), 0o600);
  });
  return readApprovalsSnapshot(stateDir);
}
