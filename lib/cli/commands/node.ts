import { UsageError } from '../run.js';

// Placeholder until the 'node' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'node' is not implemented yet");
}
