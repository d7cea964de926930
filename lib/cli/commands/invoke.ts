import { UsageError } from '../run.js';

// Placeholder until the 'invoke' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'invoke' is not implemented yet");
}
