import { UsageError } from '../run.js';

// Placeholder until the 'up' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'up' is not implemented yet");
}
