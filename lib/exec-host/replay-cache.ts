// Nonces seen within the TTL window. A request whose nonce is here is a replay. Bounded: when full,
// new requests are refused (fail closed) until old entries expire, rather than forgetting nonces.
//
// Optionally journaled to a JSON-lines file so that a restarted host (crash, kill -9, upgrade) still
// rejects lines it accepted before the restart. One writer per file: the exec host's instance lock
// guarantees it.
import fs from 'node:fs';
import path from 'node:path';

import { IpcError } from '../common/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../common/state-dir.js';

/** Longest nonce accepted, in UTF-16 code units: the exec server's strict decode uses the same cap. */
export const MAX_NONCE_LENGTH = 256;
/** Worst case for one journal line: every nonce unit escaped as \uXXXX (6 bytes), plus the frame and the expiry. */
export const MAX_JOURNAL_LINE_BYTES = 2048;
/** Default for `compactMinLines`: below this many lines the journal is never rewritten. */
export const DEFAULT_COMPACT_MIN_LINES = 1024;
/** Suggested journal name inside the state directory. */
export const REPLAY_JOURNAL_FILE_NAME = 'exec-approvals.nonces.jsonl';

const LINE_PREFIX = '{"nonce":';
const READ_CHUNK_BYTES = 64 * 1024;

export class ReplayJournalError extends IpcError {}

/**
 * 'ok' the nonce is new and recorded; 'replay' seen within the window; 'full' the cache is at maxEntries;
 * 'invalid' empty or over MAX_NONCE_LENGTH (or a non-finite clock); 'unverifiable' the journal was found corrupt at start and the
 * window since then has not passed; 'journal-error' the journal could not record the nonce (or is closed).
 * Everything but 'ok' means: refuse the request.
 */
export type RememberResult = 'ok' | 'replay' | 'full' | 'invalid' | 'unverifiable' | 'journal-error';

export interface ReplayCacheOptions {
  /** Capacity; at capacity new nonces are refused ('full'). Default 100 000. */
  maxEntries?: number;
  /** Journal path (absolute, in a private state dir). Without it the cache is memory-only. */
  file?: string;
  /** The journal is rewritten once it has at least this many lines and at least twice as many as live entries. */
  compactMinLines?: number;
}

/** What construction found in the journal; for the host's audit log. */
export interface JournalRecovery {
  /** 'clean'; 'torn-tail' an unfinished last line (a crash mid-append) was dropped; 'corrupt' see `reason`. */
  state: 'fresh' | 'clean' | 'torn-tail' | 'corrupt';
  /** Live nonces remembered from the journal. */
  loaded: number;
  /** Lines dropped as expired or superseded. */
  dropped: number;
  reason?: string;
  /** Where a corrupt journal was moved for inspection (best effort). */
  quarantinedTo?: string;
  /** While Date.now() is below this, every remember() answers 'unverifiable' (corrupt journal only). */
  blindUntilMs?: number;
}

export class ReplayCache {
  private readonly seen = new Map<string, number>();
  readonly maxEntries: number;
  readonly file: string | undefined;
  readonly compactMinLines: number;
  readonly recovery: JournalRecovery | undefined;
  private fd: number | undefined;
  /** Lines in the journal since its last rewrite (live, expired and superseded). */
  private lines = 0;
  /** Bytes we know the journal holds: a failed append is truncated back to this. */
  private fileBytes = 0;
  /** The journal may hold a torn line or point at an unlinked inode: rewrite before the next append. */
  private broken = false;
  private closed = false;
  private compactAtLines: number;
  private blindUntilMs = 0;

  constructor(
    /** How long a nonce is remembered: at least the full ts acceptance window (2 × TTL). */
    readonly windowMs: number,
    options: number | ReplayCacheOptions = {},
  ) {
    const opts = typeof options === 'number' ? { maxEntries: options } : options;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.compactMinLines = Math.max(1, opts.compactMinLines ?? DEFAULT_COMPACT_MIN_LINES);
    this.compactAtLines = this.compactMinLines;
    this.file = opts.file;
    if (this.file !== undefined) this.recovery = this.openJournal(this.file);
  }

  /** Records the nonce; anything but 'ok' means the request must be refused. */
  remember(nonce: string, nowMs = Date.now()): RememberResult {
    if (nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH || !Number.isFinite(nowMs)) return 'invalid';
    this.prune(nowMs);
    if (this.seen.has(nonce)) return 'replay';
    if (nowMs < this.blindUntilMs) return 'unverifiable';
    if (this.seen.size >= this.maxEntries) return 'full';
    const expires = nowMs + this.windowMs;
    if (this.file !== undefined && !this.append(this.file, nonce, expires, nowMs)) return 'journal-error';
    this.seen.set(nonce, expires);
    if (this.file !== undefined && this.lines >= this.compactAtLines && this.lines >= 2 * this.seen.size) {
      this.tryCompact(this.file, nowMs);
    }
    return 'ok';
  }

  get size(): number {
    return this.seen.size;
  }

  /** Closes the journal. Afterwards a journaled cache refuses every new nonce ('journal-error'). */
  close(): void {
    this.closed = true;
    this.closeFd();
  }

  private prune(nowMs: number): void {
    // Insertion order equals expiry order (constant window; the journal is loaded sorted), so stop
    // at the first live entry.
    for (const [nonce, expires] of this.seen) {
      if (expires > nowMs) break;
      this.seen.delete(nonce);
    }
  }

  // No fsync: the failure this guards against is the host *process* restarting (crash, kill -9,
  // upgrade). A completed write(2) sits in the kernel page cache, which outlives the process, so the
  // next instance reads it. Only a kernel crash or power loss can drop it, and the machine's reboot
  // then normally outlasts the ~21 s window; an fsync per request would put a disk flush (ms) on every
  // exec's path.
  private append(file: string, nonce: string, expires: number, nowMs: number): boolean {
    if (this.closed) return false;
    if (this.broken && !this.tryCompact(file, nowMs)) return false;
    if (this.fd === undefined) return false;
    const line = Buffer.from(journalLine(nonce, expires), 'utf8');
    let written = 0;
    try {
      written = fs.writeSync(this.fd, line);
    } catch {
      written = -1;
    }
    if (written === line.length) {
      this.lines++;
      this.fileBytes += line.length;
      return true;
    }
    // Disk full or I/O error: cut off any partial line so later appends do not glue onto it.
    try {
      fs.ftruncateSync(this.fd, this.fileBytes);
    } catch {
      this.broken = true;
    }
    return false;
  }

  /** Rewrites the journal with the live entries only. False (journal left as it was) on failure. */
  private tryCompact(file: string, nowMs: number): boolean {
    if (this.closed) return false;
    try {
      this.prune(nowMs);
      this.rewrite(file);
      this.compactAtLines = this.compactMinLines;
      return true;
    } catch {
      // Retry after another batch of appends rather than on every request.
      this.compactAtLines = this.lines + this.compactMinLines;
      return false;
    }
  }

  private rewrite(file: string): void {
    let text = '';
    for (const [nonce, expires] of this.seen) text += journalLine(nonce, expires);
    // Temp file + rename: a crash mid-rewrite leaves the old journal, never a partial one.
    writeFileAtomic(file, text, 0o600);
    // Appends must go to the new inode: until it is open, nothing may be accepted.
    this.closeFd();
    this.broken = true;
    this.fd = openForAppend(file);
    this.broken = false;
    this.lines = this.seen.size;
    this.fileBytes = Buffer.byteLength(text);
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = undefined;
  }

  /**
   * Loads the journal (missing: a first start, nothing to remember), then rewrites it as a fresh 0600
   * file with the live entries, dropping expired ones and any torn tail (later appends would glue onto it).
   * - relative path, symlink, non-regular file, another owner, unreadable, unwritable: ReplayJournalError.
   *   The host must not start: it could not tell which lines it already accepted, or record new ones.
   * - readable but malformed: the file is moved aside to `<file>.corrupt` and for one window from now
   *   every request is refused ('unverifiable'). A line accepted before the restart carries a ts at most
   *   one TTL past that moment, so once the window (≥ 2 × TTL) has passed, its TTL check rejects it
   *   anyway. Fail closed, and self-healing without an operator.
   */
  private openJournal(file: string): JournalRecovery {
    if (!path.isAbsolute(file))
      throw new ReplayJournalError('ERR_REPLAY_JOURNAL_PATH', `replay journal path must be absolute: ${file}`);
    ensurePrivateDir(path.dirname(file));
    removeStaleTempFiles(file);
    const nowMs = Date.now();
    const read = readJournal(file, 4 * this.maxEntries + 2 * this.compactMinLines);
    const recovery: JournalRecovery = { state: read.state, loaded: 0, dropped: 0 };
    if (read.state === 'corrupt') {
      recovery.reason = read.reason;
      const quarantine = `${file}.corrupt`;
      try {
        fs.renameSync(file, quarantine);
        recovery.quarantinedTo = quarantine;
      } catch {
        /* best effort: the rewrite below replaces it anyway */
      }
      this.blindUntilMs = nowMs + this.windowMs;
      recovery.blindUntilMs = this.blindUntilMs;
    } else {
      const live = [...read.entries].filter(([, expires]) => expires > nowMs).sort((a, b) => a[1] - b[1]);
      for (const [nonce, expires] of live) this.seen.set(nonce, expires);
      recovery.loaded = live.length;
      recovery.dropped = read.lines - live.length;
    }
    try {
      this.rewrite(file);
    } catch (err) {
      this.closeFd();
      throw journalIoError(file, 'could not be rewritten', err);
    }
    return recovery;
  }
}

/**
 * A rewrite cut short by a crash leaves writeFileAtomic's temp file (`.<name>.<pid>.<hex>.tmp`) behind;
 * with one writer per journal, any such file at load time is stale. Only regular files are removed.
 */
function removeStaleTempFiles(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+\.[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length))) continue;
    try {
      if (fs.lstatSync(path.join(dir, name)).isFile()) fs.unlinkSync(path.join(dir, name));
    } catch {
      /* gone already, or not ours to remove: harmless */
    }
  }
}

function journalLine(nonce: string, expires: number): string {
  // JSON escaping keeps a client-chosen nonce on one line (\n, quotes, lone surrogates all escaped).
  return `${LINE_PREFIX}${JSON.stringify(nonce)},"expires":${expires}}\n`;
}

function journalIoError(file: string, what: string, err: unknown): ReplayJournalError {
  return new ReplayJournalError('ERR_REPLAY_JOURNAL_IO', `replay journal ${file} ${what}: ${(err as Error).message}`, {
    cause: err,
    errno: (err as NodeJS.ErrnoException).errno,
  });
}

function checkJournalStat(file: string, st: fs.Stats): void {
  if (st.isSymbolicLink())
    throw new ReplayJournalError(
      'ERR_REPLAY_JOURNAL_SYMLINK',
      `refusing replay journal ${file}: it is a symbolic link`,
    );
  if (!st.isFile())
    throw new ReplayJournalError('ERR_REPLAY_JOURNAL_NOT_FILE', `refusing replay journal ${file}: not a regular file`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new ReplayJournalError(
      'ERR_REPLAY_JOURNAL_OWNER',
      `refusing replay journal ${file}: owned by uid ${st.uid}, not ${uid}`,
    );
  }
}

function openForAppend(file: string): number {
  // O_NOFOLLOW + fstat: a symlink or FIFO swapped in after the rename is refused, not written through.
  let fd: number;
  try {
    fd = fs.openSync(
      file,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') checkJournalStat(file, fs.lstatSync(file));
    throw err;
  }
  try {
    checkJournalStat(file, fs.fstatSync(fd));
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

type JournalRead =
  | { state: 'fresh' | 'clean' | 'torn-tail'; entries: Map<string, number>; lines: number }
  | { state: 'corrupt'; reason: string };

/** Streams the journal line by line (bounded memory per line; at most `maxLines` lines). */
function readJournal(file: string, maxLines: number): JournalRead {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the path cannot block the JS thread; fstat then refuses it.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'fresh', entries: new Map(), lines: 0 };
    // ELOOP (a symlink), ENXIO (a socket) …: name what is there when it is not a regular file.
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(file);
    } catch {
      /* report the open error */
    }
    if (st) checkJournalStat(file, st);
    throw journalIoError(file, 'could not be opened', err);
  }
  try {
    checkJournalStat(file, fs.fstatSync(fd));
    return parseJournal(fd, file, maxLines);
  } finally {
    fs.closeSync(fd);
  }
}

function parseJournal(fd: number, file: string, maxLines: number): JournalRead {
  const entries = new Map<string, number>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lines = 0;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      throw journalIoError(file, 'could not be read', err);
    }
    if (n === 0) break;
    let start = 0;
    while (start < n) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 || nl >= n ? n : nl;
      pendingBytes += end - start;
      if (pendingBytes > MAX_JOURNAL_LINE_BYTES)
        return { state: 'corrupt', reason: `line ${lines + 1} is over ${MAX_JOURNAL_LINE_BYTES} bytes` };
      if (end === n) {
        // The line continues in the next chunk: keep a copy (the chunk buffer is reused).
        pending.push(Buffer.from(chunk.subarray(start, end)));
        break;
      }
      // Most lines lie within one chunk: parse them in place, without copying.
      const bytes =
        pending.length === 0
          ? chunk.subarray(start, end)
          : Buffer.concat([...pending, chunk.subarray(start, end)], pendingBytes);
      const entry = parseLine(bytes, decoder);
      lines++;
      if (entry === undefined) return { state: 'corrupt', reason: `line ${lines} is not a journal entry` };
      if (lines > maxLines) return { state: 'corrupt', reason: `over ${maxLines} lines` };
      // A nonce accepted again after it expired appears twice: the later expiry wins.
      if ((entries.get(entry.nonce) ?? 0) < entry.expires) entries.set(entry.nonce, entry.expires);
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
  }
  if (pendingBytes === 0) return { state: 'clean', entries, lines };
  // An unterminated last line is an append cut short (no 'ok' was returned for it): drop it. Only a
  // prefix of our own line format counts; anything else means the file is not (only) ours.
  const tail = Buffer.concat(pending, pendingBytes).toString('latin1');
  const prefixLen = Math.min(tail.length, LINE_PREFIX.length);
  if (tail.slice(0, prefixLen) !== LINE_PREFIX.slice(0, prefixLen))
    return { state: 'corrupt', reason: 'unterminated last line is not a journal entry' };
  return { state: 'torn-tail', entries, lines };
}

function parseLine(bytes: Buffer, decoder: TextDecoder): { nonce: string; expires: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length !== 2) return undefined;
  const { nonce, expires } = record;
  if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH) return undefined;
  if (typeof expires !== 'number' || !Number.isFinite(expires)) return undefined;
  return { nonce, expires };
}
