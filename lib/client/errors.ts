// Errors of the Gateway client. Transport failures use ERR_GATEWAY_* codes; a Gateway's own
// `ok:false` answer keeps the Gateway's code (UNAVAILABLE, INVALID_REQUEST …) and its details.
import { IpcError } from '../common/errors.js';

export class GatewayClientError extends IpcError {}

export interface GatewayErrorShape {
  code: string;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

/** The Gateway answered `ok:false`. `code` is the Gateway's error code, `details` its details object. */
export class GatewayRequestError extends IpcError {
  readonly method: string;
  readonly details: unknown;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(method: string, error: GatewayErrorShape) {
    super(
      typeof error.code === 'string' && error.code !== '' ? error.code : 'UNAVAILABLE',
      String(error.message ?? 'request failed'),
    );
    this.method = method;
    this.details = error.details;
    this.retryable = error.retryable === true;
    if (typeof error.retryAfterMs === 'number') this.retryAfterMs = error.retryAfterMs;
  }

  /** `details.code` when the Gateway gave a finer reason (AUTH_TOKEN_MISMATCH, NOT_CONNECTED …). */
  get detailCode(): string | undefined {
    const details = this.details as { code?: unknown } | undefined;
    return typeof details?.code === 'string' ? details.code : undefined;
  }
}
