import { UsageError } from '../run.js';

// Placeholder until the 'gateway' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'gateway' is not implemented yet");
}
