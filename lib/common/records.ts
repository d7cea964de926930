// The one "is this a JSON object" check for hand-read input (config and state files).

/** A non-null, non-array object, as JSON.parse/JSON5.parse return for `{...}`. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
