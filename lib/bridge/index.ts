// Public surface of the PeekabooBridge client and host.
export {
  startBridgeHost,
  type BridgeHost,
  type BridgeHostOptions,
  type BridgeHostStats,
  type BridgeLogger,
} from './host.js';
export {
  bridgeRequest,
  connectBridge,
  discoverBridgeHost,
  handshakeBridge,
  listBridgeSnapshots,
  runLocally,
  type BridgeClientOptions,
  type BridgeConnection,
  type BridgeDiscovery,
  type BridgeProbe,
  type BridgeRequestOptions,
  type BridgeRequestResult,
  type BridgeSnapshotListResult,
  type DiscoverOptions,
} from './client.js';
export {
  decodeSnapshotInfoList,
  encodeSnapshotInfo,
  parseBridgeDate,
  snapshotsFromResponse,
  type BridgeSnapshotInfo,
  type SnapshotInfoInput,
  type SnapshotInfoWire,
} from './snapshot-info.js';
export { BridgeError, BridgeTransportError, type BridgeErrorEnvelope } from './errors.js';
export { decodeRequest, decodeResponse, encodeCase, encodeRequest, type DecodedResponse } from './envelope.js';
export {
  bridgeCandidates,
  bridgeSupportDir,
  defaultHostSocketPath,
  BRIDGE_HOSTS,
  BRIDGE_SOCKET_ENV,
  NO_REMOTE_ENV,
  SUPPORT_DIR_ENV,
} from './paths.js';
export { createLocalServices, type BridgeServices, type BridgeReply } from './services.js';
export { unsignedRuleActive, type TeamIdVerifier, type TeamIdVerification } from './peer-policy.js';
export {
  ALLOW_UNSIGNED_ENV,
  BRIDGE_MAX_MESSAGE_BYTES,
  BRIDGE_MAX_VERSION,
  BRIDGE_MIN_VERSION,
  BRIDGE_OPERATIONS,
  BRIDGE_READ_TIMEOUT_MS,
  BRIDGE_RESPONSE_CASES,
  PEEKABOO_TEAM_ID,
  bridgeDate,
  operationHasNoPayload,
  type BridgeHandshakeResponse,
  type BridgePermissions,
  type BridgeProtocolVersion,
} from './protocol.js';
