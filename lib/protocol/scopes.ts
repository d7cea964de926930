// Which operator scope a method needs, and which methods each role may call (spec §8).
import { NODE_ROLE_METHODS, type Role } from './constants.js';

export type ScopeRequirement =
  'operator.read' | 'operator.write' | 'operator.approvals' | 'operator.pairing' | 'operator.admin' | 'none';

const READ_METHODS = new Set(['node.list', 'node.describe', 'status', 'system-presence', 'exec.approvals.get']);
const WRITE_METHODS = new Set(['node.invoke', 'node.pending.enqueue']);
const EXEMPT_METHODS = new Set(['health']);
/**
 * Pending approvals are readable with operator.read too (answering still needs operator.approvals): a
 * read-only operator, such as a control page paired without operator.approvals, sees what waits.
 */
const APPROVAL_READ_METHODS = new Set(['exec.approval.list', 'exec.approval.get']);
const NODE_METHODS: ReadonlySet<string> = new Set(NODE_ROLE_METHODS);

/** The scope an operator needs for `method`. Unlisted methods need `operator.admin` (default-deny). */
export function requiredScope(method: string): ScopeRequirement {
  if (EXEMPT_METHODS.has(method)) return 'none';
  if (READ_METHODS.has(method)) return 'operator.read';
  if (WRITE_METHODS.has(method)) return 'operator.write';
  if (
    method.startsWith('exec.approval.') ||
    method === 'approval.get' ||
    method === 'approval.resolve' ||
    method === 'plugin.approval.list' ||
    method === 'openclaw.approval.list'
  )
    return 'operator.approvals';
  if (
    method.startsWith('node.pair.') ||
    method.startsWith('device.pair.') ||
    method.startsWith('device.token.') ||
    method === 'node.rename'
  ) {
    return 'operator.pairing';
  }
  return 'operator.admin';
}

/** True when `scopes` satisfy `method` (admin passes everything; write implies read). */
export function hasScopeFor(method: string, scopes: readonly string[]): boolean {
  const needed = requiredScope(method);
  if (needed === 'none' || scopes.includes('operator.admin')) return true;
  if (needed === 'operator.read') return scopes.includes('operator.read') || scopes.includes('operator.write');
  if (APPROVAL_READ_METHODS.has(method) && (scopes.includes('operator.read') || scopes.includes('operator.write')))
    return true;
  return scopes.includes(needed);
}

export function isNodeRoleMethod(method: string): boolean {
  return NODE_METHODS.has(method);
}

/**
 * Role gate: nodes may call only the node methods, operators may not call them.
 * Returns the spec's error message ("unauthorized role: node") or undefined when allowed.
 */
export function roleViolation(role: Role, method: string): string | undefined {
  if (EXEMPT_METHODS.has(method)) return undefined;
  const nodeMethod = NODE_METHODS.has(method);
  if (role === 'node' && !nodeMethod) return 'unauthorized role: node';
  if (role === 'operator' && nodeMethod && method !== 'skills.bins') return 'unauthorized role: operator';
  return undefined;
}

/**
 * Whether holding `granted` lets a caller grant `requested` to someone else (upstream
 * resolveMissingRequestedScope): admin covers every operator scope, write covers read, anything else only
 * itself. Scopes outside `operator.*` are never covered.
 */
export function operatorScopeCovered(requested: string, granted: readonly string[]): boolean {
  if (!requested.startsWith('operator.')) return false;
  if (granted.includes('operator.admin')) return true;
  if (requested === 'operator.read') return granted.includes('operator.read') || granted.includes('operator.write');
  return granted.includes(requested);
}

/** The first of `requested` that `granted` does not cover, or undefined. */
export function firstUncoveredScope(requested: readonly string[], granted: readonly string[]): string | undefined {
  return requested.find((scope) => !operatorScopeCovered(scope, granted));
}
