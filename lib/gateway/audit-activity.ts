// `audit.activity.list`: the newest records of the exec host's audit log (same state dir), as the
// control page's Activity view shows them. Upstream 2026.9.6 has a method of this name over its own
// ledger ({events, nextCursor?}, newest first); ours answers the same envelope with `kind: "exec"`
// records. Reading is bounded: the newest files first, backwards, at most MAX_SCAN_BYTES in all.
import fs from 'node:fs/promises';
import path from 'node:path';

import { parseUntrustedJson } from '../common/jsonl.js';
import { AUDIT_FILE_NAME } from '../exec-host/audit-log.js';

export const DEFAULT_ACTIVITY_LIMIT = 100;
export const MAX_ACTIVITY_LIMIT = 500;
/** Bytes read across the log and its rotations per call (the default log rotates at 5 MiB). */
const MAX_SCAN_BYTES = 8 * 1024 * 1024;
/** A longer line is skipped (the exec host writes far shorter ones). */
const MAX_LINE_BYTES = 256 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** Rotated generations looked at: file, file.1 … file.9. */
const MAX_GENERATIONS = 10;

export interface ActivityQuery {
  limit?: number;
  /** Only records at or after / before these times (ms). */
  after?: number;
  before?: number;
  /** Only records with this status (`ran`, `denied`, `allow-once`, `deny`, `no-decision`, …). */
  status?: string;
}

export interface ActivityEvent {
  /** `<generation>:<byte offset>`: stable until the log rotates. */
  id: string;
  kind: 'exec';
  /** `exec.ran`, `exec.denied`, `prompt.<decision>`, or `exec-host.<event>` for connection-level records. */
  action: string;
  status: string;
  occurredAt: number;
  argv?: string[];
  command?: string;
  executable?: string;
  cwd?: string;
  agentId?: string;
  decision?: string | null;
  reason?: string;
  exitCode?: number;
  timedOut?: boolean;
  durationMs?: number;
  peer?: { pid?: number; uid?: number; exe?: string };
}

const str = (v: unknown, max = 4096): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function peerOf(value: unknown): ActivityEvent['peer'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Record<string, unknown>;
  const peer = { pid: num(p.pid), uid: num(p.uid), exe: str(p.exe) };
  return peer.pid === undefined && peer.uid === undefined && peer.exe === undefined ? undefined : peer;
}

/** One audit line → an activity event (only typed, known fields are copied). */
export function toActivityEvent(id: string, record: unknown): ActivityEvent | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  const event = str(r.event, 64);
  const occurredAt = typeof r.ts === 'string' ? Date.parse(r.ts) : NaN;
  if (!event || !Number.isFinite(occurredAt)) return undefined;
  const outcome = str(r.outcome, 64);
  const action =
    event === 'exec'
      ? `exec.${outcome ?? 'unknown'}`
      : event === 'request'
        ? `prompt.${outcome}`
        : `exec-host.${event}`;
  const argv =
    Array.isArray(r.argv) && r.argv.length <= 256 && r.argv.every((a) => typeof a === 'string')
      ? (r.argv as string[])
      : undefined;
  const decision = r.decision === null ? null : str(r.decision, 64);
  const out: ActivityEvent = {
    id,
    kind: 'exec',
    action,
    status: outcome ?? event,
    occurredAt,
    argv,
    command: str(r.command),
    executable: str(r.file),
    cwd: str(r.cwd),
    agentId: str(r.agentId, 256),
    decision,
    reason: str(r.reason, 256),
    exitCode: num(r.exitCode),
    timedOut: typeof r.timedOut === 'boolean' ? r.timedOut : undefined,
    durationMs: num(r.durationMs),
    peer: peerOf(r.peer),
  };
  for (const key of Object.keys(out) as Array<keyof ActivityEvent>) if (out[key] === undefined) delete out[key];
  return out;
}

/** Lines of one file from the end backwards, with their byte offsets; stops when `budget` runs out. */
async function* linesBackwards(file: string, budget: { bytes: number }): AsyncGenerator<[number, string]> {
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW / O_NONBLOCK: a planted symlink or FIFO is not followed or waited on.
    handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return;
    let end = st.size;
    let carry = Buffer.alloc(0);
    while (end > 0 && budget.bytes > 0) {
      const size = Math.min(CHUNK_BYTES, end, budget.bytes);
      const start = end - size;
      const chunk = Buffer.alloc(size);
      await handle.read(chunk, 0, size, start);
      budget.bytes -= size;
      let buf = Buffer.concat([chunk, carry]);
      let nl = buf.lastIndexOf(0x0a, buf.length - 1);
      let tail = buf.length;
      // Every complete line in this window, newest first; the part before the first newline carries over.
      while (nl >= 0) {
        const line = buf.subarray(nl + 1, tail);
        if (line.length > 0 && line.length <= MAX_LINE_BYTES) yield [start + nl + 1, line.toString('utf8')];
        tail = nl;
        nl = nl > 0 ? buf.lastIndexOf(0x0a, nl - 1) : -1;
      }
      buf = buf.subarray(0, tail);
      carry = buf.length > MAX_LINE_BYTES ? Buffer.alloc(0) : Buffer.from(buf);
      end = start;
    }
    if (end === 0 && carry.length > 0) yield [0, carry.toString('utf8')];
  } finally {
    await handle.close();
  }
}

/** The newest matching records, newest first. `truncated` when the scan budget ran out first. */
export async function readExecActivity(
  stateDir: string,
  query: ActivityQuery = {},
): Promise<{ events: ActivityEvent[]; truncated: boolean }> {
  const limit = Math.min(Math.max(query.limit ?? DEFAULT_ACTIVITY_LIMIT, 1), MAX_ACTIVITY_LIMIT);
  const budget = { bytes: MAX_SCAN_BYTES };
  const events: ActivityEvent[] = [];
  const base = path.join(stateDir, AUDIT_FILE_NAME);
  for (let gen = 0; gen < MAX_GENERATIONS && events.length < limit && budget.bytes > 0; gen++) {
    const file = gen === 0 ? base : `${base}.${gen}`;
    for await (const [offset, line] of linesBackwards(file, budget)) {
      let record: unknown;
      try {
        record = parseUntrustedJson(line, 8);
      } catch {
        continue;
      }
      const event = toActivityEvent(`${gen}:${offset}`, record);
      if (!event) continue;
      if (query.after !== undefined && event.occurredAt < query.after) continue;
      if (query.before !== undefined && event.occurredAt >= query.before) continue;
      if (query.status !== undefined && event.status !== query.status) continue;
      events.push(event);
      if (events.length >= limit) break;
    }
  }
  return { events, truncated: budget.bytes <= 0 && events.length < limit };
}
