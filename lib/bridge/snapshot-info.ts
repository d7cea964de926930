// The `listSnapshots` reply: upstream `SnapshotInfo` (PeekabooAutomationKit SnapshotManagerProtocol.swift,
// synthesized Codable) inside the `snapshots([SnapshotInfo])` response case, i.e.
// {"snapshots":{"_0":[{"id":…,"processId":…,"createdAt":…,"lastAccessedAt":…,"sizeInBytes":…,"screenshotCount":…,"isActive":…}]}}.
// Every field is required; dates are ISO-8601 (JSONEncoder .iso8601, no fractional seconds).
import type { DecodedResponse } from './envelope.js';
import { BridgeError } from './errors.js';
import { bridgeDate } from './protocol.js';

/** One snapshot as a host reports it. */
export interface BridgeSnapshotInfo {
  id: string;
  /** Int32: the process that created the snapshot (for a bridge host, the host itself). */
  processId: number;
  createdAt: Date;
  lastAccessedAt: Date;
  /** Int64: size of the snapshot's data. Upstream's in-memory store reports 0; ours the stored detection JSON. */
  sizeInBytes: number;
  /** Raw screenshot + annotated screenshot (when it is a different file). */
  screenshotCount: number;
  isActive: boolean;
}

/** The JSON object of one `SnapshotInfo`, keys in Swift declaration order (the order JSONEncoder writes them). */
export interface SnapshotInfoWire {
  id: string;
  processId: number;
  createdAt: string;
  lastAccessedAt: string;
  sizeInBytes: number;
  screenshotCount: number;
  isActive: boolean;
}

export type SnapshotInfoInput = Omit<BridgeSnapshotInfo, 'createdAt' | 'lastAccessedAt'> & {
  /** A Date or epoch milliseconds. */
  createdAt: Date | number;
  lastAccessedAt: Date | number;
};

function asDate(value: Date | number): Date {
  return value instanceof Date ? value : new Date(value);
}

/** Host side: one summary → its wire object (dates without fractional seconds, which pb-1.7 rejects). */
export function encodeSnapshotInfo(info: SnapshotInfoInput): SnapshotInfoWire {
  return {
    id: info.id,
    processId: info.processId,
    createdAt: bridgeDate(asDate(info.createdAt)),
    lastAccessedAt: bridgeDate(asDate(info.lastAccessedAt)),
    sizeInBytes: info.sizeInBytes,
    screenshotCount: info.screenshotCount,
    isActive: info.isActive,
  };
}

// Internet date-time: what Swift's .iso8601 strategy writes. Fractions (pb-new) and numeric offsets are
// accepted on read; anything else is a decoding failure, as it is for Swift's decoder.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-](\d{2}):?(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0); // day 0 of the next month = the last day of `month`
  return d.getUTCDate();
}

/** Parses a bridge date; undefined when it is not a valid ISO-8601 internet date-time. */
export function parseBridgeDate(text: string): Date | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offsetMinutes = m[8] === 'Z' ? 0 : (m[8].startsWith('-') ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  date.setTime(date.getTime() - offsetMinutes * 60_000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function fail(details: string): BridgeError {
  return new BridgeError({ code: 'decodingFailed', message: 'Failed to decode bridge response', details });
}

function integer(obj: Record<string, unknown>, key: string, where: string, min: number, max: number): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw fail(`${where}.${key} must be an integer in [${min}, ${max}]`);
  return v;
}

function date(obj: Record<string, unknown>, key: string, where: string): Date {
  const v = obj[key];
  const parsed = typeof v === 'string' ? parseBridgeDate(v) : undefined;
  if (parsed === undefined) throw fail(`${where}.${key} must be an ISO-8601 date`);
  return parsed;
}

/**
 * Client side: the `_0` array of a `snapshots` reply → typed summaries, in the host's order. Every field
 * is required with its Swift type (Int32 processId, Int64 sizeInBytes as a safe integer); unknown fields
 * from newer hosts are ignored.
 */
export function decodeSnapshotInfoList(value: unknown): BridgeSnapshotInfo[] {
  if (!Array.isArray(value)) throw fail('snapshots payload must be an array');
  return value.map((item: unknown, i): BridgeSnapshotInfo => {
    const where = `snapshots[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw fail(`${where} must be an object`);
    const obj = item as Record<string, unknown>;
    if (typeof obj.id !== 'string') throw fail(`${where}.id must be a string`);
    if (typeof obj.isActive !== 'boolean') throw fail(`${where}.isActive must be a boolean`);
    return {
      id: obj.id,
      processId: integer(obj, 'processId', where, -0x80000000, 0x7fffffff),
      createdAt: date(obj, 'createdAt', where),
      lastAccessedAt: date(obj, 'lastAccessedAt', where),
      sizeInBytes: integer(obj, 'sizeInBytes', where, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      screenshotCount: integer(obj, 'screenshotCount', where, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      isActive: obj.isActive,
    };
  });
}

/** Client side: a decoded `listSnapshots` reply → summaries; any other case is unexpected (as in Swift). */
export function snapshotsFromResponse(response: DecodedResponse): BridgeSnapshotInfo[] {
  if (response.case !== 'snapshots') {
    throw new BridgeError({
      code: 'invalidRequest',
      message: 'Unexpected listSnapshots response',
      details: `response case ${response.case}`,
    });
  }
  return decodeSnapshotInfoList(response.value);
}
