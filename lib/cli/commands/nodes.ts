import { UsageError } from '../run.js';

// Placeholder until the 'nodes' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'nodes' is not implemented yet");
}
