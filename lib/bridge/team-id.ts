// Adapter from the bridge's TeamID verifier to the native code-signature API. Linux has no code
// signatures: the answer is always `unsupported-platform`, so a non-empty allowlist fails closed there.
import type net from 'node:net';

import type { TeamIdVerification } from './peer-policy.js';

export async function defaultVerifyTeamId(_socket: net.Socket, _allowed: readonly string[]): Promise<TeamIdVerification> {
  if (process.platform !== 'darwin') return { ok: false, reason: 'unsupported-platform' };
  return { ok: false, reason: 'native-unavailable' };
}
