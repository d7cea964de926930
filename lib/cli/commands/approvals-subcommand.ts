// One entry of the `approvals` subcommand table (lib/cli/commands/approvals.ts): what it parses and runs.
// Its own module so the table's two halves (file edits, Gateway approvals) import it without a cycle.

export interface ApprovalsContext {
  /** The value of a string option, if given. */
  option(name: string): string | undefined;
  /** Whether a boolean option was given. */
  flag(name: string): boolean;
  positionals: string[];
  stateDir: string;
  file: string;
  json: boolean;
  out: (text: string) => void;
}

export interface ApprovalsSubcommand {
  usage: string;
  /** Options this subcommand takes besides the common --state-dir / --json: string-valued, then boolean. */
  valued?: readonly string[];
  flags?: readonly string[];
  run(ctx: ApprovalsContext): Promise<number>;
}
