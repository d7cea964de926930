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
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (jsonNestingDepth(text, maxDepth) > maxDepth) {
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
  if (options.rejectDuplicateKeys !== false) {
    const duplicate = findDuplicateKey(text);
    if (duplicate !== undefined)
      throw new BoundedJsonError('ERR_JSON_DUPLICATE_KEY', `duplicate key ${JSON.stringify(duplicate.slice(0, 64))}`);
  }
  return value;
}

/**
 * Nesting depth of a JSON text (brackets outside strings), computed without parsing. With `stopAbove`,
 * the scan ends as soon as the depth passes it (a hostile text costs no more than needed to refuse it).
 */
export function jsonNestingDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/**
 * First duplicated object key in a (valid) JSON text, or undefined. Keys are compared after
 * unescaping, so `"a"` and `"\u0061"` collide. Parsers disagree on duplicates (first vs last wins),
 * which makes them a smuggling vector between two implementations.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ keys: new Set(), expectKey: true });
    } else if (c === '[') {
      stack.push({ keys: null, expectKey: false });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
  }
  return undefined;
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
