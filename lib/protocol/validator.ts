// The one way an untrusted input is checked: a TypeBox schema, compiled once (on first use, then reused).
// Size and depth bounds live in the schemas (maxLength, maxItems) and in the bounded reader that parsed the
// value (bounded-json.ts refuses a deep text before it becomes a value).
import { TypeCompiler, type Static, type TSchema, type TypeCheck } from './typebox.js';

export interface Validator<T> {
  check(value: unknown): value is T;
  /** "<path>: <message>" of the first violation, for error messages. */
  describe(value: unknown): string;
  /** The first violation as its JSON pointer (`/defaults/security`, '' for the top) and TypeBox's message. */
  firstError(value: unknown): { path: string; message: string } | undefined;
}

/** A validator that compiles its schema on first use and reuses it afterwards. */
export function compileValidator<S extends TSchema>(schema: S): Validator<Static<S>> {
  let compiled: TypeCheck<S> | undefined;
  const get = (): TypeCheck<S> => (compiled ??= TypeCompiler.Compile(schema));
  const firstError = (value: unknown): { path: string; message: string } | undefined => {
    const first = get().Errors(value).First();
    return first ? { path: first.path, message: first.message } : undefined;
  };
  return {
    check: (value: unknown): value is Static<S> => get().Check(value),
    describe: (value: unknown): string => {
      const first = firstError(value);
      if (!first) return 'invalid';
      return `${first.path === '' ? '/' : first.path}: ${first.message}`;
    },
    firstError,
  };
}

/** `/agents/main/allowlist/0` → `agents.main.allowlist[0]`, for messages about files a person edits. */
export function dottedPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}
