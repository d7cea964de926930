// Who is the code behind a peer, pid or file? macOS answers with code signatures (TeamID, CDHash);
// Linux has none, so it reports the executable (path + SHA-256) and every TeamID check fails closed.
import net from 'node:net';

import {
  getBinding,
  TARGET_PATH,
  TARGET_PEER,
  TARGET_PID,
  type NativeCallback,
  type RawCodeIdentity,
  type RawTeamResult,
} from './binding.js';
import { socketFd } from './socket-fd.js';

/** A connected Unix socket (or its fd), a process id, or a file/bundle path. */
export type CodeTarget = net.Socket | { fd: number } | { pid: number } | { path: string };

export interface CodeIdentity {
  platform: NodeJS.Platform;
  /** The executable actually running (Linux: /proc/<pid>/exe) or the resolved file. */
  executable: string;
  signed: boolean;
  valid: boolean;
  /** Only meaningful when `valid`; null for unsigned/ad-hoc code and always on Linux. */
  teamId: string | null;
  signingId: string | null;
  /** Hex CDHash (macOS). */
  cdhash?: string;
  /** Hex SHA-256 of the executable file (Linux). */
  sha256?: string;
  /** Process described, when the target was a peer or pid. */
  pid?: number;
  /** Why it is not signed/valid, e.g. 'unsupported-platform', 'unsigned'. */
  reason?: string;
  osStatus?: number;
}

export type TeamIdVerification =
  { ok: true; teamId: string; signingId: string } | { ok: false; reason: string; osStatus?: number };

export interface VerifyTeamIdOptions {
  /** Also pin the signing identifier (`identifier "<id>"` in the requirement). */
  signingId?: string;
}

const TEAM_ID = /^[A-Z0-9]{10}$/;
const SIGNING_ID = /^[A-Za-z0-9._-]{1,255}$/;
const MAX_TEAM_IDS = 32;

/** Apple TeamIDs are ten upper-case letters or digits. */
export function isValidTeamId(value: unknown): value is string {
  return typeof value === 'string' && TEAM_ID.test(value);
}

function checkTeamIds(allowed: readonly string[]): string[] {
  if (!Array.isArray(allowed) || allowed.length === 0) throw new TypeError('allowedTeamIds must be a non-empty array');
  if (allowed.length > MAX_TEAM_IDS) throw new TypeError(`at most ${MAX_TEAM_IDS} team ids are allowed`);
  for (const id of allowed) {
    if (!isValidTeamId(id)) throw new TypeError(`invalid TeamID ${JSON.stringify(id)}: expected ^[A-Z0-9]{10}$`);
  }
  return [...allowed];
}

function checkSigningId(value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !SIGNING_ID.test(value)) {
    throw new TypeError(`invalid signing identifier ${JSON.stringify(value)}: expected [A-Za-z0-9._-]{1,255}`);
  }
  return value;
}

function resolveTarget(target: CodeTarget): { kind: number; fdOrPid: number; path: string } {
  if (target instanceof net.Socket) return { kind: TARGET_PEER, fdOrPid: socketFd(target), path: '' };
  if (target === null || typeof target !== 'object')
    throw new TypeError('target must be a net.Socket, {fd}, {pid} or {path}');
  if ('fd' in target) return { kind: TARGET_PEER, fdOrPid: socketFd(target.fd), path: '' };
  if ('pid' in target) {
    if (!Number.isInteger(target.pid) || target.pid <= 0 || target.pid > 0x7fffffff) {
      throw new TypeError(`pid must be a positive integer, got ${String(target.pid)}`);
    }
    return { kind: TARGET_PID, fdOrPid: target.pid, path: '' };
  }
  if ('path' in target) {
    if (typeof target.path !== 'string' || target.path === '' || target.path.includes('\0')) {
      throw new TypeError('path must be a non-empty string without NUL bytes');
    }
    return { kind: TARGET_PATH, fdOrPid: -1, path: target.path };
  }
  throw new TypeError('target must be a net.Socket, {fd}, {pid} or {path}');
}

function call<T>(start: (done: NativeCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/**
 * Code identity of a peer / pid / path. Hashing and signature checks run off the JS thread.
 * Rejects with CodeSignError ERR_CODESIGN_PROCESS_EXITED if the process is gone (never describes a
 * recycled pid), with PeerCredError for unusable sockets, and errno codes (ENOENT…) for paths.
 */
export async function codeIdentity(target: CodeTarget): Promise<CodeIdentity> {
  const { kind, fdOrPid, path } = resolveTarget(target);
  const binding = getBinding();
  const raw = await call<RawCodeIdentity>((done) => binding.codeIdentity(kind, fdOrPid, path, done));
  const result: CodeIdentity = {
    platform: process.platform,
    executable: raw.executable,
    signed: raw.signed,
    valid: raw.valid,
    teamId: raw.teamId,
    signingId: raw.signingId,
  };
  if (raw.cdhash) result.cdhash = raw.cdhash.toString('hex');
  if (raw.sha256) result.sha256 = raw.sha256.toString('hex');
  if (raw.pid > 0) result.pid = raw.pid;
  if (raw.reason !== undefined) result.reason = raw.reason;
  if (raw.osStatus !== undefined) result.osStatus = raw.osStatus;
  return result;
}

/**
 * Does the target satisfy `anchor apple generic and certificate leaf[subject.OU] = <one of allowed>`?
 * An expected "no" (including every Linux target: reason 'unsupported-platform') is a value.
 */
export async function verifyTeamId(
  target: CodeTarget,
  allowedTeamIds: readonly string[],
  options: VerifyTeamIdOptions = {},
): Promise<TeamIdVerification> {
  const ids = checkTeamIds(allowedTeamIds);
  const signingId = checkSigningId(options.signingId);
  const { kind, fdOrPid, path } = resolveTarget(target);
  const binding = getBinding();
  return call<RawTeamResult>((done) => binding.verifyTeamId(kind, fdOrPid, path, ids, signingId, done));
}

/** The exact requirement string checked on macOS for these TeamIDs (diagnostics, docs, tests). */
export function teamRequirement(allowedTeamIds: readonly string[], signingId?: string): string {
  return getBinding().teamRequirement(checkTeamIds(allowedTeamIds), checkSigningId(signingId));
}
