// The one parser for JSON we did not write ourselves: frames, payloadJSON/paramsJSON strings, state files.
// V8's JSON.parse is iterative and survives any nesting, but what comes after it is recursive
// (JSON.stringify when the value is sent on, structured clone, validators, our own walkers): a value
// nested a few thousand levels deep overflows the stack there, far from the parse, often in a promise
// callback where nobody catches it. So depth is bounded here, before the text is parsed, and duplicate
// keys (which parsers resolve differently: first wins vs last wins) are refused after.
import { IpcError } from './errors.js';

/** Nesting allowed by default: far above any frame or file we speak, far below any stack limit (~10 000). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export class BoundedJsonError extends IpcError {}

export interface BoundedJsonOptions {
  /** Deepest nesting of arrays/objects allowed (the top-level value counts 1). Default 64. */
  maxDepth?: number;
  /** Refuse an object with the same key twice (ERR_JSON_DUPLICATE_KEY). Default true. */
  rejectDuplicateKeys?: boolean;
  /** Drop `__proto__`, `constructor` and `prototype` keys (for values merged into objects later). Default false. */
  dropPrototypeKeys?: boolean;
}

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses untrusted JSON text. Throws BoundedJsonError with a stable code: ERR_JSON_TOO_DEEP (checked
 * before parsing, so a deep text never becomes a deep value), ERR_JSON_INVALID, ERR_JSON_DUPLICATE_KEY.
 */
export function parseBoundedJson(text: string, options: BoundedJsonOptions = {}): unknown {
  const rejectDuplicates = options.rejectDuplicateKeys !== false;
  const { value, duplicate } = parseScanned(
    text,
    options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH,
    rejectDuplicates,
    options,
  );
  if (rejectDuplicates && duplicate !== undefined)
    throw new BoundedJsonError('ERR_JSON_DUPLICATE_KEY', `duplicate key ${JSON.stringify(duplicate.slice(0, 64))}`);
  return value;
}

/**
 * parseBoundedJson() that reports the first duplicated key instead of refusing it (the Gateway answers a
 * frame with one under its id). Same single scan: depth and duplicates in one pass, then JSON.parse.
 */
export function parseBoundedJsonReportingDuplicate(
  text: string,
  maxDepth = DEFAULT_MAX_JSON_DEPTH,
): { value: unknown; duplicate: string | undefined } {
  return parseScanned(text, maxDepth, true, {});
}

function parseScanned(
  text: string,
  maxDepth: number,
  findDuplicates: boolean,
  options: BoundedJsonOptions,
): { value: unknown; duplicate: string | undefined } {
  const scan = scanJsonText(text, maxDepth, findDuplicates);
  if (scan.depth > maxDepth) {
    throw new BoundedJsonError('ERR_JSON_TOO_DEEP', `JSON nested deeper than ${maxDepth} levels`);
  }
  let value: unknown;
  try {
    value = options.dropPrototypeKeys
      ? JSON.parse(text, (key, v: unknown) => (PROTOTYPE_KEYS.has(key) ? undefined : v))
      : JSON.parse(text);
  } catch (err) {
    throw new BoundedJsonError('ERR_JSON_INVALID', `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  return { value, duplicate: scan.duplicate };
}

/**
 * One pass over a JSON text: its nesting depth (the scan ends as soon as it passes `stopAbove`) and, with
 * `findDuplicates`, the first object key seen twice in one object. Keys are compared after unescaping, so
 * `"a"` and `"\u0061"` collide. Parsers disagree on duplicates (first vs last wins), which makes them a
 * smuggling vector between two implementations. Meaningful for valid JSON only (callers parse it too).
 */
function scanJsonText(
  text: string,
  stopAbove: number,
  findDuplicates: boolean,
): { depth: number; duplicate: string | undefined } {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  let depth = 0;
  let max = 0;
  let duplicate: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c) {
          escaped = true;
          j++;
        }
      }
      const keys = stack[stack.length - 1];
      if (findDuplicates && duplicate === undefined && keys && expectKey) {
        const key = escaped ? unescapeKey(text.slice(i, j + 1)) : text.slice(i + 1, j);
        if (key === undefined)
          findDuplicates = false; // not JSON: the parse will say so
        else if (keys.has(key)) duplicate = key;
        else keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return { depth: max, duplicate };
      }
      if (findDuplicates) stack.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (findDuplicates) stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = Boolean(stack[stack.length - 1]);
    }
  }
  return { depth: max, duplicate };
}

function unescapeKey(quoted: string): string | undefined {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}

/**
 * Nesting depth of a JSON text (brackets outside strings), computed without parsing. With `stopAbove`,
 * the scan ends as soon as the depth passes it (a hostile text costs no more than needed to refuse it).
 */
export function jsonNestingDepth(text: string, stopAbove = Infinity): number {
  return scanJsonText(text, stopAbove, false).depth;
}

/** First duplicated object key in a (valid) JSON text, or undefined (compared after unescaping). */
export function findDuplicateKey(text: string): string | undefined {
  return scanJsonText(text, Infinity, true).duplicate;
}

/**
 * Whether an already-parsed value nests deeper than `maxDepth` (for parsers other than JSON.parse, e.g.
 * JSON5). Iterative, so it cannot overflow on the very values it refuses.
 */
export function valueNestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(item as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}
