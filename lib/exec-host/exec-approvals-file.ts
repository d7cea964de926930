// exec-approvals.json: OpenClaw's format (version 1). The file is shared with other installs
// (OpenClaw's node host, OpenClaw.app), so every write re-reads the file, applies one change and
// writes atomically; unknown fields are preserved; a malformed or unsafe file is refused, never replaced.
// Our own writers (exec host, node host, CLI) serialise their read-modify-writes with one kernel lock on
// `exec-approvals.json.lock`, so two processes updating the file at once cannot lose a change.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { parseBoundedJson } from '../common/bounded-json.js';
import { expandHome, MAX_JSON_FILE_DEPTH, readTextFileBounded, writeFileAtomic } from '../common/state-dir.js';
import { isRecord } from '../common/records.js';
import { withFileLock } from '../native/file-lock.js';
import { Type } from '../protocol/typebox.js';
import { compileValidator, dottedPath } from '../protocol/validator.js';
import { newSocketToken } from './hmac.js';

export class ApprovalsFileError extends IpcError {}

export type Security = 'deny' | 'allowlist' | 'full';
export type Ask = 'off' | 'on-miss' | 'always';
export const SECURITY_VALUES: readonly Security[] = ['deny', 'allowlist', 'full'];
export const ASK_VALUES: readonly Ask[] = ['off', 'on-miss', 'always'];

export interface AllowlistEntry {
  id?: string;
  pattern: string;
  argPattern?: string;
  source?: string;
  commandText?: string;
  lastUsedAt?: number;
  lastUsedCommand?: string;
  lastResolvedPath?: string;
  [unknownField: string]: unknown;
}

export interface PolicySection {
  security?: Security;
  ask?: Ask;
  askFallback?: Security;
  autoAllowSkills?: boolean;
  allowlist?: AllowlistEntry[];
  [unknownField: string]: unknown;
}

export interface ApprovalsFile {
  version: 1;
  socket?: { path?: string; token?: string; [unknownField: string]: unknown };
  defaults?: PolicySection;
  agents?: Record<string, PolicySection>;
  [unknownField: string]: unknown;
}

export const APPROVALS_FILE_NAME = 'exec-approvals.json';
export const SOCKET_FILE_NAME = 'exec-approvals.sock';

export function approvalsFilePath(stateDir: string): string {
  return path.join(stateDir, APPROVALS_FILE_NAME);
}

/** The socket path the file names (leading `~` expanded), else `<stateDir>/exec-approvals.sock`. */
export function socketPathFor(file: ApprovalsFile, stateDir: string): string {
  const configured = file.socket?.path?.trim();
  return configured ? path.resolve(stateDir, expandHome(configured)) : path.join(stateDir, SOCKET_FILE_NAME);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function malformed(file: string, why: string): ApprovalsFileError {
  return new ApprovalsFileError(
    'ERR_APPROVALS_MALFORMED',
    `${file}: ${why}; fix or move the file (it is never overwritten)`,
  );
}

// The file's schema (compiled once). Only the fields we act on are constrained; every other field, known
// to OpenClaw or not, passes and is kept. Strings are bounded far above any real policy.
const Text = Type.String({ maxLength: 64 * 1024 });
const SecuritySchema = Type.Union(SECURITY_VALUES.map((value) => Type.Literal(value)));
const PolicySectionSchema = Type.Object({
  security: Type.Optional(SecuritySchema),
  ask: Type.Optional(Type.Union(ASK_VALUES.map((value) => Type.Literal(value)))),
  askFallback: Type.Optional(SecuritySchema),
  // OpenClaw's older files hold bare pattern strings; normalizeApprovals turns them into entries.
  allowlist: Type.Optional(Type.Array(Type.Union([Text, Type.Object({ pattern: Text })]))),
});
const ApprovalsFileSchema = Type.Object({
  version: Type.Literal(1),
  socket: Type.Optional(Type.Object({ path: Type.Optional(Text), token: Type.Optional(Text) })),
  defaults: Type.Optional(PolicySectionSchema),
  agents: Type.Optional(Type.Record(Type.String(), PolicySectionSchema)),
});
const approvalsFileShape = compileValidator(ApprovalsFileSchema);

/** What a person editing the file should read for a field that fails the schema. */
function whyMalformed(data: unknown, where: string, typeboxMessage: string): string {
  const field = where.split('.').pop() ?? '';
  if (where === '') return 'top level must be an object';
  if (where === 'version')
    return `unsupported version ${JSON.stringify((data as { version?: unknown }).version)} (expected 1)`;
  if (/\.allowlist\[\d+\]/.test(where)) return `${where.replace(/\[\d+\].*$/, '')} entries need a string pattern`;
  if (field === 'security' || field === 'askFallback') return `${where} must be deny|allowlist|full`;
  if (field === 'ask') return `${where} must be off|on-miss|always`;
  return `${where}: ${typeboxMessage.toLowerCase()}`;
}

/** Validates the parsed JSON shape; throws ERR_APPROVALS_MALFORMED with the offending field. */
export function validateApprovals(file: string, data: unknown): ApprovalsFile {
  const problem = approvalsFileShape.firstError(data);
  if (problem) throw malformed(file, whyMalformed(data, dottedPath(problem.path), problem.message));
  return data as ApprovalsFile;
}

/**
 * Fills what OpenClaw fills on load: string allowlist entries become {pattern}, missing or non-UUID
 * ids get a UUID. Returns whether anything changed. Every other field is kept as it was.
 */
export function normalizeApprovals(data: ApprovalsFile): boolean {
  let changed = false;
  const sections = [data.defaults, ...Object.values(data.agents ?? {})];
  for (const section of sections) {
    if (!section?.allowlist) continue;
    section.allowlist = section.allowlist.map((entry) => {
      const obj: AllowlistEntry = typeof entry === 'string' ? { pattern: entry } : entry;
      if (typeof obj.id !== 'string' || !UUID_RE.test(obj.id)) {
        obj.id = crypto.randomUUID();
        changed = true;
      }
      if (typeof entry === 'string') changed = true;
      return obj;
    });
  }
  return changed;
}

/** Far above any real policy file; a bigger one is refused rather than read into memory. */
export const MAX_APPROVALS_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The file's bytes as text, bounded (MAX_APPROVALS_FILE_BYTES) and only from a regular file; undefined
 * when missing. O_NOFOLLOW refuses a symlink swapped in, O_NONBLOCK a FIFO (it would block the JS thread).
 */
export function readApprovalsText(file: string): string | undefined {
  return readTextFileBounded(file, {
    maxBytes: MAX_APPROVALS_FILE_BYTES,
    noFollow: true,
    refuse: (problem, message) =>
      problem === 'not-file'
        ? new ApprovalsFileError('ERR_APPROVALS_NOT_FILE', `refusing ${file}: not a regular file`)
        : new ApprovalsFileError('ERR_APPROVALS_TOO_LARGE', `refusing ${message}`),
  });
}

/**
 * Reads and validates the file without changing it; undefined when missing. Refuses a symlink,
 * a non-regular file, a file owned by another uid, or one readable/writable by group or others
 * (it holds the socket token).
 */
export function readApprovals(file: string): ApprovalsFile | undefined {
  return readApprovalsWithText(file)?.data;
}

/** readApprovals() plus the exact text it parsed (what a `baseHash` is computed over). */
export function readApprovalsWithText(file: string): { data: ApprovalsFile; text: string } | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (st.isSymbolicLink())
    throw new ApprovalsFileError('ERR_APPROVALS_SYMLINK', `refusing ${file}: it is a symbolic link`);
  if (!st.isFile()) throw new ApprovalsFileError('ERR_APPROVALS_NOT_FILE', `refusing ${file}: not a regular file`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new ApprovalsFileError('ERR_APPROVALS_OWNER', `refusing ${file}: owned by uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o077) !== 0) {
    throw new ApprovalsFileError(
      'ERR_APPROVALS_PERMISSIONS',
      `refusing ${file}: mode ${(st.mode & 0o777).toString(8)} exposes the socket token; chmod 600 it after checking nobody else changed it`,
    );
  }
  const text = readApprovalsText(file);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    // Depth-bounded like every untrusted JSON; duplicates keep JSON's last-wins, as a hand-edited file may have them.
    parsed = parseBoundedJson(text, { maxDepth: MAX_JSON_FILE_DEPTH, rejectDuplicateKeys: false });
  } catch (err) {
    throw malformed(file, `not valid JSON (${(err as Error).message})`);
  }
  return { data: validateApprovals(file, parsed), text };
}

/**
 * The file as it may be shown outside the host (system.execApprovals.get, `approvals show`): a copy whose
 * `socket` keeps only its path. The socket token never leaves the host, not even as a length.
 */
export function redactApprovals(data: ApprovalsFile): ApprovalsFile {
  const copy = structuredClone(data);
  if (copy.socket) copy.socket = copy.socket.path !== undefined ? { path: copy.socket.path } : {};
  return copy;
}

export function serializeApprovals(data: ApprovalsFile): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/**
 * Read → change → atomic write, on the freshest content, under the file's lock. `mutate` returns false
 * to skip the write. A missing file starts as `{version: 1}`. Mode 0600.
 */
export function updateApprovals(file: string, mutate: (data: ApprovalsFile) => boolean | void): ApprovalsFile {
  return withFileLock(file, () => {
    const data = readApprovals(file) ?? { version: 1 };
    const normalized = normalizeApprovals(data);
    const changed = mutate(data);
    if (changed !== false || normalized) writeFileAtomic(file, serializeApprovals(data), 0o600);
    return data;
  });
}

/** lastUsed* of an allowlist entry, as OpenClaw records them. */
export interface AllowlistUsage {
  lastUsedAt: number;
  lastUsedCommand: string;
  lastResolvedPath?: string;
}

/** How long lastUsed* bookkeeping may wait before it is written (coalesced; flushed on close). */
export const USAGE_FLUSH_MS = 500;

/**
 * The one writer of allowlist usage (lastUsed*), for the exec host and the node host alike. Usage is
 * bookkeeping on the hot path: runs within USAGE_FLUSH_MS are coalesced into one locked read-merge-write
 * instead of an fsync'd rewrite per run. The latest use of each entry wins; close() flushes.
 */
export class AllowlistUsageRecorder {
  private readonly pending = new Map<
    string,
    { sectionKey: string; id?: string; pattern: string; usage: AllowlistUsage }
  >();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly onError: (err: Error) => void,
    private readonly flushMs = USAGE_FLUSH_MS,
  ) {}

  /** Records a use of the entry `entry` of `agents.<sectionKey>`; written within flushMs. */
  record(sectionKey: string, entry: Pick<AllowlistEntry, 'id' | 'pattern'>, usage: AllowlistUsage): void {
    const id = typeof entry.id === 'string' ? entry.id : undefined;
    this.pending.set(`${sectionKey}\0${id ?? ''}\0${entry.pattern}`, { sectionKey, id, pattern: entry.pattern, usage });
    this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }

  /** Writes every pending update now, in one read-merge-write. Entries removed meanwhile are skipped. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const updates = [...this.pending.values()];
    this.pending.clear();
    try {
      updateApprovals(this.file, (data) => {
        let changed = false;
        for (const { sectionKey, id, pattern, usage } of updates) {
          const entry = data.agents?.[sectionKey]?.allowlist?.find(
            (e) => (id !== undefined && e.id === id) || e.pattern === pattern,
          );
          if (!entry) continue;
          Object.assign(entry, usage);
          changed = true;
        }
        return changed;
      });
    } catch (err) {
      this.onError(err as Error);
    }
  }
}

/**
 * Loads the file for a server or client, creating it when missing: fills a socket token (24 random
 * bytes, base64url) and `socket.path` when absent, and entry ids. Writes only when something was
 * missing, so a complete file written by another install is left byte-for-byte alone.
 */
export function ensureApprovals(file: string, defaultSocketPath: string): ApprovalsFile {
  const existing = readApprovals(file);
  if (existing) {
    const needsWrite =
      normalizeApprovals(structuredClone(existing)) || !existing.socket?.token || !existing.socket?.path;
    if (!needsWrite) return existing;
  }
  return updateApprovals(file, (data) => {
    data.socket = isRecord(data.socket) ? data.socket : {};
    if (!data.socket.token) data.socket.token = newSocketToken();
    if (!data.socket.path) data.socket.path = defaultSocketPath;
  });
}

/** The socket token, or ERR_APPROVALS_NO_TOKEN. */
export function requireToken(data: ApprovalsFile, file: string): string {
  const token = data.socket?.token;
  if (!token)
    throw new ApprovalsFileError('ERR_APPROVALS_NO_TOKEN', `${file} has no socket.token (start the exec host first)`);
  return token;
}

/** Finds or creates the agent section (`agents.<id>`). */
export function agentSection(data: ApprovalsFile, agentId: string): PolicySection {
  data.agents ??= {};
  data.agents[agentId] ??= {};
  return data.agents[agentId];
}

/** Appends `pattern` to `agents.<agentId>.allowlist` unless already present; returns the entry. */
export function addAllowlistPattern(
  data: ApprovalsFile,
  agentId: string,
  pattern: string,
  extra: Partial<AllowlistEntry> = {},
): AllowlistEntry {
  const section = agentSection(data, agentId);
  section.allowlist ??= [];
  const found = section.allowlist.find((entry) => entry.pattern === pattern);
  if (found) {
    Object.assign(found, extra);
    return found;
  }
  const entry: AllowlistEntry = { id: crypto.randomUUID(), pattern, ...extra };
  section.allowlist.push(entry);
  return entry;
}

/** Longer than a kernel timestamp tick (jiffy-based, up to 10 ms) with margin. */
const RACY_WINDOW_MS = 50;

/**
 * readApprovals() with a cache keyed on the file's identity and change time: an unchanged file
 * (same inode, mode, owner, size, mtime, ctime) is not re-read or re-parsed.
 * Callers must not mutate the returned object.
 */
export class ApprovalsCache {
  private key: string | undefined;
  private data: ApprovalsFile | undefined;

  constructor(readonly file: string) {}

  get(): ApprovalsFile | undefined {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.key = undefined;
      return undefined;
    }
    // Mode and owner are in the key: a chmod must be seen even when timestamps do not move (coarse clocks).
    const key = `${st.dev}:${st.ino}:${st.mode}:${st.uid}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    if (key === this.key) return this.data;
    const data = readApprovals(this.file);
    this.data = data;
    // A file changed within the last timestamp tick could change again without a new timestamp ("racy"
    // entries, as in git's index): do not trust the key until the change is older than that.
    this.key = Date.now() - st.ctimeMs > RACY_WINDOW_MS ? key : undefined;
    return data;
  }
}
