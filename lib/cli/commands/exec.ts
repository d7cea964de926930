import { UsageError } from '../run.js';

// Placeholder until the 'exec' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'exec' is not implemented yet");
}
