import { UsageError } from '../run.js';

// Placeholder until the 'approvals' command lands; fails loudly rather than pretending.
export async function main(_argv: string[]): Promise<number> {
  throw new UsageError("'approvals' is not implemented yet");
}
