import { UsageError } from '../run.js';

// Placeholder until the 'app' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'app' is not implemented yet");
}
