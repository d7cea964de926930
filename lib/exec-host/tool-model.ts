// The shape of a per-tool option model (option-injection.ts, git-model.ts): its own module so the
// models and their registry do not import each other.

export interface ModelContext {
  cwd?: string;
}

/** The verdict of a tool model: refused (names the option), or accepted with the argv to run. */
export type ModelVerdict = { refused: string } | { argv: string[] };

export interface ToolModel {
  /**
   * Whether a directory glob may cover the tool once its argv passes the model (it is then as harmless as
   * an exec-free program). False for tools that stay dangerous with "safe" options (git reads repository
   * config; a sed model bug would be an exec).
   */
  globSafe: boolean;
  check(argv: readonly string[], context: ModelContext): ModelVerdict;
}
