// Typed errors of the bridge client and host. A host's error envelope becomes a BridgeError whose
// `bridgeCode` is the wire code; transport failures (deadline, size cap, planted socket) get their own codes.
import { IpcError, type IpcErrorOptions } from '../common/errors.js';
import type { BridgeErrorCode, BridgePermission } from './protocol.js';

function screamingSnake(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export interface BridgeErrorEnvelope {
  code: BridgeErrorCode;
  message: string;
  details?: string;
  permission?: BridgePermission;
}

/** An error envelope from a host (or the local fallback). `code` is `ERR_BRIDGE_<WIRE_CODE>`. */
export class BridgeError extends IpcError {
  readonly bridgeCode: BridgeErrorCode;
  readonly details?: string;
  readonly permission?: BridgePermission;
  /** The socket that answered; undefined for the local fallback. */
  socketPath?: string;

  constructor(envelope: BridgeErrorEnvelope, options: IpcErrorOptions = {}) {
    super(`ERR_BRIDGE_${screamingSnake(envelope.code)}`, envelope.message, options);
    this.bridgeCode = envelope.code;
    if (envelope.details !== undefined) this.details = envelope.details;
    if (envelope.permission !== undefined) this.permission = envelope.permission;
  }

  toEnvelope(): BridgeErrorEnvelope {
    const env: BridgeErrorEnvelope = { code: this.bridgeCode, message: this.message };
    if (this.details !== undefined) env.details = this.details;
    if (this.permission !== undefined) env.permission = this.permission;
    return env;
  }
}

/**
 * Transport-level failures. Codes: ERR_BRIDGE_TIMEOUT, ERR_BRIDGE_MESSAGE_TOO_LARGE, ERR_BRIDGE_PATH_TOO_LONG,
 * ERR_BRIDGE_CONNECT (errno in `.errno`/cause), ERR_BRIDGE_SOCKET_NOT_OURS, ERR_BRIDGE_NOT_A_SOCKET,
 * ERR_BRIDGE_PEER_UNVERIFIED. The host's socket setup fails with SocketSetupError (lib/common/private-socket.ts).
 */
export class BridgeTransportError extends IpcError {
  socketPath?: string;
}
