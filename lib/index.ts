// Public API of openclaw-ipc. Importing this module never loads the native addon.
export * from './common/errors.js';
export { peerCredentials, peerUid, type PeerCredentials } from './native/peer.js';
export { isNativeAvailable } from './native/binding.js';
export {
  nativeSpawn, isNativeSpawnAvailable, type NativeSpawnOptions, type NativeSpawnResult,
} from './native/spawn.js';
