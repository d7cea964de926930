// The OpenClaw-compatible WebSocket Gateway.
export {
  startGateway,
  defaultIsLocal,
  type GatewayOptions,
  type GatewayHandle,
  type GatewayNodes,
  type ConnectionInfo,
} from './server.js';
export {
  loadGatewayAuth,
  generateGatewayToken,
  configPathFor,
  describeAuthSecret,
  GATEWAY_AUTH_MODES,
  type GatewayAuthConfig,
  type GatewayAuthMode,
  type SecretSource,
  type TokenSource,
} from './auth-config.js';
export { CommandPolicy, detectPlatform, type CommandPolicyOptions, type NodePlatform } from './command-policy.js';
export type { NodeSession } from './node-registry.js';
export type { PairedDevice, PairedNode } from './pairing-store.js';
export type { IdempotencyLimits } from './core.js';
export { GatewayLockedError, GATEWAY_LOCK_FILE } from './instance-lock.js';
export { BIND_MODES, resolveBind, type BindMode, type BindPlan } from './bind.js';
export { defaultTlsPaths, type GatewayTlsOptions } from './tls.js';
