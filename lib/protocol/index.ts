// Wire-level pieces of the OpenClaw Gateway protocol shared by the gateway, the client and the node host.
// Pure: no sockets, no files.
export * from './constants.js';
export * from './errors.js';
export * from './base64url.js';
export * from './device-auth.js';
export * from './frames.js';
export * from './scopes.js';
