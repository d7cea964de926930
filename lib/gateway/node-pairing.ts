// Node pairing (the command surface, spec §6.2): an unknown node, or a paired node declaring new
// commands, gets a pending request; operators approve with node.pair.approve.
import { detectPlatform } from './command-policy.js';
import type { GatewayCore } from './core.js';
import type { NodeSession } from './node-registry.js';
import type { NodePairRequest } from './pairing-store.js';

/** Creates a pending request when the node's approvable surface is not covered by its pairing. */
export function reconcileNodePairing(core: GatewayCore, session: NodeSession): NodePairRequest | undefined {
  const approvable = core.policy.approvableCommands(session.normalizedPlatform, session.commands);
  const paired = core.pairing.getNode(session.nodeId);
  if (paired && approvable.every((command) => paired.commands.includes(command))) return undefined;
  const request = core.pairing.addNodeRequest({
    nodeId: session.nodeId,
    displayName: session.displayName,
    platform: session.platform,
    version: session.version,
    caps: session.caps,
    commands: session.commands,
    remoteIp: session.remoteIp,
  });
  if (core.options.autoApproveNodes) {
    approveNodeRequest(core, request.requestId);
    return undefined;
  }
  core.broadcast('node.pair.requested', request, core.operatorsWith('node.pair.approve'));
  return request;
}

/** Approves a pending node request; tells the node (targeted, no seq) and operators. */
export function approveNodeRequest(
  core: GatewayCore,
  requestId: string,
): { requestId: string; nodeId: string; commands: string[] } | undefined {
  const request = core.pairing.takeNodeRequest(requestId);
  if (!request) return undefined;
  const platform = core.registry.get(request.nodeId)?.normalizedPlatform ?? detectPlatform(request.platform);
  const node = core.pairing.approveNode(request, core.policy.approvableCommands(platform, request.commands));
  const resolved = { requestId, nodeId: node.nodeId, decision: 'approved', ts: core.now() };
  announceResolved(core, resolved);
  return { requestId, nodeId: node.nodeId, commands: node.commands };
}

export function rejectNodeRequest(
  core: GatewayCore,
  requestId: string,
): { requestId: string; nodeId: string } | undefined {
  const request = core.pairing.takeNodeRequest(requestId);
  if (!request) return undefined;
  const resolved = { requestId, nodeId: request.nodeId, decision: 'rejected', ts: core.now() };
  announceResolved(core, resolved);
  return { requestId, nodeId: request.nodeId };
}

/** The node hears its own decision (targeted, no seq); operators who may approve get the broadcast. */
function announceResolved(core: GatewayCore, resolved: { nodeId: string }): void {
  core.registry
    .get(resolved.nodeId)
    ?.conn.sendText(JSON.stringify({ type: 'event', event: 'node.pair.resolved', payload: resolved }));
  core.broadcast('node.pair.resolved', resolved, core.operatorsWith('node.pair.approve'));
}
