// Error classes shared by every layer. Every failure carries a stable string `code`;
// expected outcomes (a denied request, a TeamID that does not match) are return values, not throws.

export interface IpcErrorOptions {
  errno?: number;
  osStatus?: number;
  cause?: unknown;
}

export class IpcError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly osStatus?: number;

  constructor(code: string, message: string, options: IpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.errno !== undefined) this.errno = options.errno;
    if (options.osStatus !== undefined) this.osStatus = options.osStatus;
  }
}

/** Peer-credential lookups (SO_PEERCRED, SO_PEERPIDFD, LOCAL_PEERTOKEN …). */
export class PeerCredError extends IpcError {}
/** Code-signature and executable-identity checks. */
export class CodeSignError extends IpcError {}
/** TCC (macOS privacy permission) queries and requests. */
export class TccError extends IpcError {}
/** Process spawning in the native runner. */
export class SpawnError extends IpcError {}

export class UnsupportedPlatformError extends IpcError {
  readonly platform: NodeJS.Platform;
  readonly feature: string;
  constructor(feature: string, platform: NodeJS.Platform = process.platform) {
    super('ERR_UNSUPPORTED_PLATFORM', `${feature} is not supported on ${platform}`);
    this.platform = platform;
    this.feature = feature;
  }
}

/** The addon could not be loaded (no prebuild for this platform and no local build). */
export class NativeUnavailableError extends IpcError {
  constructor(cause: unknown) {
    super(
      'ERR_NATIVE_UNAVAILABLE',
      `openclaw-ipc native addon could not be loaded: ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    );
  }
}
