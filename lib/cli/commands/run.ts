import { UsageError } from '../run.js';

// Placeholder until the 'run' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'run' is not implemented yet");
}
