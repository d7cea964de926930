// Persists an IdempotencyCache so that a `node.invoke` retried after a Gateway restart returns the
// stored result instead of running again: settled results, and invokes still in flight (their node id,
// invoke id and deadline, so that a result the node re-delivers after the restart can settle them).
// The file (<state>/gateway/idempotency.json, 0600) is rewritten atomically and asynchronously,
// coalesced behind a short delay: recording a result only arms a timer, so the invoke path never
// waits for the disk. Bounded by the cache (entries, age) and by maxFileBytes (newest entries kept).
// A change less than `delayMs` before a crash (kill -9, power loss) may be missing; close() always
// writes the final state.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { Type } from '../protocol/typebox.js';

import { parseBoundedJson } from '../common/bounded-json.js';
import { ensurePrivateDir } from '../common/state-dir.js';
import { MAX_CLIENT_FRAME_JSON_DEPTH } from '../protocol/constants.js';
import { compileValidator } from '../protocol/frames.js';
import type { IdempotencyCache, InflightInvoke } from './idempotency.js';

const FILE_VERSION = 1;
const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface IdempotencyCodec<T> {
  /** JSON-serialisable form of a value, or undefined for a value that must not be persisted. */
  encode(value: T): unknown;
  /** The value back from its persisted form; undefined rejects the entry. */
  decode(raw: unknown): T | undefined;
}

export interface IdempotencyStoreOptions<T> {
  file: string;
  codec: IdempotencyCodec<T>;
  /** Upper bound of the file; the newest entries that fit are written. Default 8 MiB. */
  maxFileBytes?: number;
  /** Coalescing delay between a change and the write. Default 250 ms. */
  delayMs?: number;
}

interface PersistedEntry {
  key: string;
  fingerprint: string;
  expiresAtMs: number;
  bytes: number;
  /** The encoded value of a settled entry, or absent while `inflight`. */
  result?: unknown;
  inflight?: InflightInvoke;
}

/** An entry whose invoke was in flight when the previous run stopped. */
export interface RestoredInflight {
  key: string;
  fingerprint: string;
  expiresAtMs: number;
  inflight: InflightInvoke;
}

export function idempotencyFilePath(stateDir: string): string {
  return path.join(stateDir, 'gateway', 'idempotency.json');
}

export class IdempotencyStore<T> {
  readonly file: string;
  private readonly codec: IdempotencyCodec<T>;
  private readonly maxFileBytes: number;
  private readonly delayMs: number;
  private cache?: IdempotencyCache<T>;
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  private dirty = false;
  private closed = false;
  /** The last write failure (the Gateway keeps serving; the next change retries). */
  lastError?: Error;

  constructor(options: IdempotencyStoreOptions<T>) {
    this.file = options.file;
    this.codec = options.codec;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.delayMs = options.delayMs ?? 250;
  }

  /**
   * Attaches the cache and restores the entries of a previous run (expired ones are skipped). A
   * missing, oversized (beyond max(maxFileBytes, 8 MiB)), unsafe (not a regular file) or malformed file restores nothing: the cache is an optimisation of
   * retries, so it starts empty rather than failing the Gateway. Settled entries go back into the
   * cache; entries that were in flight are returned for the caller to resume.
   */
  load(cache: IdempotencyCache<T>): { restored: number; inflight: RestoredInflight[] } {
    this.cache = cache;
    const none = { restored: 0, inflight: [] };
    // A file written under a larger cap is still read, up to the default cap.
    const text = readBounded(this.file, Math.max(this.maxFileBytes, DEFAULT_MAX_FILE_BYTES));
    if (text === undefined) return none;
    let data: unknown;
    try {
      // Entries hold node payloads (≤ MAX_FRAME_JSON_DEPTH) in a few wrappers.
      data = parseBoundedJson(text, { maxDepth: MAX_CLIENT_FRAME_JSON_DEPTH });
    } catch {
      return none;
    }
    if (!validateFileShape.check(data) || data.version !== FILE_VERSION) return none;
    let restored = 0;
    const inflight: RestoredInflight[] = [];
    for (const raw of data.entries) {
      if (!isPersistedEntry(raw)) continue;
      if (raw.inflight !== undefined) {
        if (isInflight(raw.inflight))
          inflight.push({
            key: raw.key,
            fingerprint: raw.fingerprint,
            expiresAtMs: raw.expiresAtMs,
            inflight: raw.inflight,
          });
        continue;
      }
      const value = this.codec.decode(raw.result);
      if (value !== undefined && cache.restore(raw.key, raw.fingerprint, value, raw.expiresAtMs, raw.bytes)) restored++;
    }
    return { restored, inflight };
  }

  /** Arms the coalescing timer; cheap enough for the invoke path. */
  schedule(): void {
    this.dirty = true;
    if (this.timer || this.writing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes the current state now (after any write in progress). Never rejects. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.writing) await this.writing;
    if (!this.dirty || !this.cache) return;
    this.dirty = false;
    // Nothing in here may reject: a timer calls flush() with nobody to catch.
    this.writing = Promise.resolve()
      .then(() => this.write(this.serialise(this.cache!)))
      .then(
        () => {
          this.lastError = undefined;
        },
        (err: unknown) => {
          this.lastError = err as Error;
        },
      );
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
    // Changes that arrived during the write get their own, coalesced write.
    if (this.dirty && !this.closed) this.schedule();
  }

  /** Final write; later changes are not persisted. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** The newest entries that fit in maxFileBytes, oldest first, each encoded once and memoised. */
  private serialise(cache: IdempotencyCache<T>): string {
    const entries = cache.persistable();
    const lines: string[] = [];
    let bytes = 64;
    for (let i = entries.length - 1; i >= 0; i--) {
      const { key, entry } = entries[i]!;
      if (entry.encoded === undefined) {
        const base = { key, fingerprint: entry.fingerprint, expiresAtMs: entry.expiresAtMs, bytes: entry.bytes };
        let persisted: PersistedEntry | undefined;
        if (entry.value !== undefined) {
          const result = this.codec.encode(entry.value);
          persisted = result === undefined ? undefined : { ...base, result };
        } else if (entry.inflight !== undefined) {
          persisted = { ...base, inflight: entry.inflight };
        }
        entry.encoded = persisted === undefined ? '' : encodeOrSkip(persisted);
      }
      if (entry.encoded === '') continue;
      bytes += Buffer.byteLength(entry.encoded) + 1;
      if (bytes > this.maxFileBytes) break;
      lines.push(entry.encoded);
    }
    lines.reverse();
    return `{"version":${FILE_VERSION},"entries":[\n${lines.join(',\n')}\n]}\n`;
  }

  private async write(data: string): Promise<void> {
    const dir = path.dirname(this.file);
    ensurePrivateDir(dir);
    const tmp = path.join(
      dir,
      `.${path.basename(this.file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`,
    );
    const handle = await fs.promises.open(
      tmp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
    try {
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.chmod(tmp, 0o600);
      await fs.promises.rename(tmp, this.file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }
}

/** A regular file of at most `maxBytes`, read without following a symlink; otherwise undefined. */
function readBounded(file: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

// The file's lines, checked by schema (a line that fails is skipped: the file is ours, but a crash may cut it).
const InflightSchema = Type.Object({
  nodeId: Type.String(),
  invokeId: Type.String(),
  command: Type.String(),
  deadlineMs: Type.Number(),
});
const entryFields = {
  key: Type.String(),
  fingerprint: Type.String(),
  expiresAtMs: Type.Number(),
  bytes: Type.Integer({ minimum: 0 }),
};
const PersistedEntrySchema = Type.Union([
  Type.Object({ ...entryFields, result: Type.Unknown() }),
  Type.Object({ ...entryFields, inflight: Type.Unknown() }),
]);
const validatePersistedEntry = compileValidator(PersistedEntrySchema);
// Entries are checked one by one (a bad one is skipped, the rest restored).
const validateFileShape = compileValidator(
  Type.Object({ version: Type.Unknown(), entries: Type.Array(Type.Unknown()) }),
);
const validateInflight = compileValidator(InflightSchema);
const isPersistedEntry = (raw: unknown): raw is PersistedEntry => validatePersistedEntry.check(raw);
const isInflight = (raw: unknown): raw is InflightInvoke => validateInflight.check(raw);

/** An entry's JSON line, or '' (not persisted) when its value does not serialise. */
function encodeOrSkip(persisted: unknown): string {
  try {
    return JSON.stringify(persisted);
  } catch {
    return '';
  }
}
