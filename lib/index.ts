// Public API of openclaw-ipc. Importing this module never loads the native addon.
export * from './common/errors.js';
export { peerCredentials, peerUid, type PeerCredentials } from './native/peer.js';
export { isNativeAvailable, setNativeBindingPath } from './native/binding.js';
export {
  nativeSpawn,
  isNativeSpawnAvailable,
  type NativeSpawnOptions,
  type NativeSpawnResult,
} from './native/spawn.js';
export {
  startBridgeHost,
  bridgeRequest,
  connectBridge,
  discoverBridgeHost,
  handshakeBridge,
  BridgeError,
  BridgeTransportError,
  type BridgeHost,
  type BridgeHostOptions,
  type BridgeClientOptions,
  type BridgeConnection,
  type BridgeRequestOptions,
  type BridgeRequestResult,
} from './bridge/index.js';
export { openPeerProcess, PeerProcess } from './native/peer.js';
export {
  codeIdentity,
  verifyTeamId,
  teamRequirement,
  isValidTeamId,
  type CodeTarget,
  type CodeIdentity,
  type TeamIdVerification,
  type VerifyTeamIdOptions,
} from './native/code-identity.js';
export {
  permissions,
  PERMISSION_NAMES,
  type PermissionName,
  type PermissionStatus,
  type PermissionResult,
  type PermissionOptions,
} from './native/permissions.js';
export {
  GatewayClient,
  type GatewayClientOptions,
  type ClientInfo,
  type HelloOk,
  type EventFrame,
  type RequestOptions,
  type ReconnectOptions,
} from './client/gateway-client.js';
export { GatewayClientError, GatewayRequestError } from './client/errors.js';
export {
  loadOrCreateIdentity,
  loadDeviceToken,
  storeDeviceToken,
  IdentityError,
  type StoredIdentity,
} from './client/identity.js';
export {
  connectOperator,
  resolveOperatorTarget,
  resolveNodeId,
  OPERATOR_SCOPES,
  type OperatorTarget,
} from './client/operator.js';
export { startNodeHost, NODE_COMMANDS, type NodeHost, type NodeHostOptions } from './node-host/host.js';
export {
  startExecHost,
  execViaSocket,
  requestApprovalViaSocket,
  loadClientConfig,
  evaluateSystemRun,
  applyDecision,
  resolveEffectivePolicy,
  runCommand,
  buildChildEnv,
  validateEnvOverrides,
  canonicalCommandText,
  rawCommandMatches,
  readApprovals,
  updateApprovals,
  ensureApprovals,
  approvalsFilePath,
  socketPathFor,
  addAllowlistPattern,
  signExecRequest,
  verifyExecRequest,
  TerminalApprover,
  DesktopApprover,
  QueueApprover,
  composeApprovers,
  ExecHostClientError,
  ApprovalsFileError,
  EnvOverrideError,
  InstanceLockedError,
  SocketSetupError,
  type ExecHost,
  type ExecHostOptions,
  type ExecHostRequest,
  type ExecHostResponse,
  type ExecResult,
  type Evaluation,
  type EffectivePolicy,
  type RunPlan,
  type Denial,
  type RunCommandOptions,
  type ApprovalsFile,
  type Approver,
  type ApprovalPrompt,
  displayArgv,
  displayString,
  decodeDisplayedArgv,
} from './exec-host/index.js';
export {
  startGateway,
  GatewayLockedError,
  type GatewayOptions,
  type GatewayHandle,
  type GatewayNodes,
  type NodeSession,
  type PairedDevice,
  type PairedNode,
  type IdempotencyLimits,
  BIND_MODES,
  resolveBind,
  type BindMode,
  type BindPlan,
  type GatewayTlsOptions,
} from './gateway/index.js';
export { normalizeTlsFingerprint, certificateFingerprint } from './common/tls-fingerprint.js';
export * as protocol from './protocol/index.js';
export {
  PendingApprovals,
  APPROVAL_DECISIONS,
  type ApprovalDecision,
  type PendingApproval,
  type ApprovalOutcome,
} from './common/approval-queue.js';
export {
  CONFIG_FILE_NAME,
  resolveConfigPath,
  readOpenclawConfig,
  updateOpenclawConfig,
  parseOpenclawConfig,
  configuredGatewayPort,
  type OpenclawConfig,
  type ConfigLocation,
  type ReadConfigResult,
} from './common/openclaw-config.js';
