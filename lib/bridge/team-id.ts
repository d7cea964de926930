// Adapter from the bridge's TeamID verifier to the native code-signature API (lib/native/code-identity).
// Linux has no code signatures: the native answer is always `unsupported-platform`, so a non-empty
// allowlist fails closed there.
import type net from 'node:net';

import { isValidTeamId, verifyTeamId } from '../native/code-identity.js';
import type { TeamIdVerification } from './peer-policy.js';

export async function defaultVerifyTeamId(socket: net.Socket, allowed: readonly string[]): Promise<TeamIdVerification> {
  // Entries that are not TeamIDs (e.g. the spec's "NOT_A_REAL_TEAM") can never match a signature.
  const teamIds = allowed.filter(isValidTeamId);
  if (teamIds.length === 0) return { ok: false, reason: 'no valid TeamID in the allowlist' };
  const result = await verifyTeamId(socket, teamIds);
  return result.ok
    ? { ok: true, teamId: result.teamId, identifier: result.signingId }
    : { ok: false, reason: result.reason };
}
