// Who may talk to our bridge host (spec §8, project rules):
//   1. the peer's uid (kernel-stamped, via the native addon) must equal the host's — always, fail closed;
//   2. an empty TeamID allowlist then means "same user only";
//   3. otherwise the peer's code signature must carry an allowlisted TeamID (verifyTeamId; never true on Linux);
//   4. DEBUG-only: a host started as a debug build whose environment has
//      PEEKABOO_ALLOW_UNSIGNED_SOCKET_CLIENTS exactly "1" admits an unsigned same-uid peer, with a warning.
import type net from 'node:net';

import { peerCredentials } from '../native/peer.js';
import { ALLOW_UNSIGNED_ENV } from './protocol.js';

export type TeamIdVerification = { ok: true; teamId: string; identifier?: string } | { ok: false; reason: string };

/** Verifies a connected peer's code signature against a TeamID allowlist (the native `verifyTeamId` contract). */
export type TeamIdVerifier = (
  socket: net.Socket,
  allowedTeamIds: readonly string[],
) => TeamIdVerification | Promise<TeamIdVerification>;

export interface BridgePeerPolicy {
  hostUid: number;
  allowedTeamIds: readonly string[];
  /** True only for a debug build whose env has the variable exactly "1" (see unsignedRuleActive). */
  allowUnsignedSameUid: boolean;
  verifyTeamId: TeamIdVerifier;
  /** Upper bound for the signature check; a verifier that does not answer in time counts as "no". */
  verifyTimeoutMs?: number;
}

export type PeerDecision =
  | {
      ok: true;
      uid: number;
      pid?: number;
      via: 'same-uid' | 'team-id' | 'debug-unsigned';
      teamId?: string;
      identifier?: string;
    }
  | { ok: false; uid?: number; pid?: number; reason: string };

/** The DEBUG rule is honoured only when both the debug build flag and the exact value "1" are present. */
export function unsignedRuleActive(debugBuild: boolean, env: NodeJS.ProcessEnv): boolean {
  return debugBuild && env[ALLOW_UNSIGNED_ENV] === '1';
}

export async function authorizeBridgePeer(socket: net.Socket, policy: BridgePeerPolicy): Promise<PeerDecision> {
  let uid: number;
  let pid: number | undefined;
  try {
    const cred = peerCredentials(socket);
    uid = cred.uid;
    pid = cred.pid;
  } catch (err) {
    return { ok: false, reason: `peer credentials unavailable (${(err as { code?: string }).code ?? 'error'})` };
  }
  const base = pid === undefined ? { uid } : { uid, pid };
  if (uid !== policy.hostUid)
    return { ok: false, ...base, reason: `peer uid ${uid} is not the host uid ${policy.hostUid}` };
  if (policy.allowedTeamIds.length === 0) return { ok: true, ...base, via: 'same-uid' };

  let verification: TeamIdVerification;
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<TeamIdVerification>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: 'signature check timed out' }),
        policy.verifyTimeoutMs ?? 5000,
      );
    });
    verification = await Promise.race([Promise.resolve(policy.verifyTeamId(socket, policy.allowedTeamIds)), deadline]);
  } catch (err) {
    verification = { ok: false, reason: `signature check failed (${(err as { code?: string }).code ?? 'error'})` };
  } finally {
    clearTimeout(timer);
  }
  if (verification.ok && policy.allowedTeamIds.includes(verification.teamId)) {
    const decision: PeerDecision = { ok: true, ...base, via: 'team-id', teamId: verification.teamId };
    if (verification.identifier !== undefined) decision.identifier = verification.identifier;
    return decision;
  }
  if (policy.allowUnsignedSameUid) return { ok: true, ...base, via: 'debug-unsigned' };
  const reason = verification.ok ? `team ${verification.teamId} is not allowlisted` : verification.reason;
  return { ok: false, ...base, reason };
}
