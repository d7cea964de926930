// Where bridge sockets live. macOS: `~/Library/Application Support/<Dir>/bridge.sock` (spec §1).
// Linux has no Application Support; our equivalent "support dir" is, in order:
//   $OPENCLAW_BRIDGE_SUPPORT_DIR (explicit override)
//   $OPENCLAW_STATE_DIR/bridge (an explicit state dir keeps every instance, and every test, self-contained)
//   $XDG_RUNTIME_DIR/openclaw-bridge (per-user 0700 tmpfs, the conventional home of user sockets)
//   ~/.openclaw/bridge
// with the same `<Dir>/bridge.sock` layout below it, so discovery order and aliases carry over unchanged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { resolveStateDir } from '../common/state-dir.js';
import { BridgeTransportError } from './errors.js';

export const SUPPORT_DIR_ENV = 'OPENCLAW_BRIDGE_SUPPORT_DIR';
export const BRIDGE_SOCKET_ENV = 'PEEKABOO_BRIDGE_SOCKET';
export const NO_REMOTE_ENV = 'PEEKABOO_NO_REMOTE';

/** Client discovery order (project rule, spec §2): apps first, then the Peekaboo daemon socket. */
export const BRIDGE_HOSTS = Object.freeze([
  { name: 'Peekaboo', dir: 'Peekaboo', file: 'bridge.sock' },
  { name: 'Claude', dir: 'Claude', file: 'bridge.sock' },
  { name: 'OpenClaw', dir: 'OpenClaw', file: 'bridge.sock' },
  { name: 'clawdbot', dir: 'clawdbot', file: 'bridge.sock' },
  { name: 'Peekaboo daemon', dir: 'Peekaboo', file: 'daemon.sock' },
] as const);

export interface BridgePathOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Overrides the support directory entirely. */
  supportDir?: string;
}

function homeDir(env: NodeJS.ProcessEnv): string {
  const home = env.HOME?.trim();
  return home && path.isAbsolute(home) ? home : os.homedir();
}

/** The directory that holds `<App>/bridge.sock` for this platform. */
export function bridgeSupportDir(opts: BridgePathOptions = {}): string {
  const env = opts.env ?? process.env;
  if (opts.supportDir) return path.resolve(opts.supportDir);
  const override = env[SUPPORT_DIR_ENV]?.trim();
  if (override) return path.resolve(override);
  const platform = opts.platform ?? process.platform;
  if (platform === 'darwin') return path.join(homeDir(env), 'Library', 'Application Support');
  if (env.OPENCLAW_STATE_DIR?.trim()) return path.join(resolveStateDir(env), 'bridge');
  const runtime = env.XDG_RUNTIME_DIR?.trim();
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'openclaw-bridge');
  return path.join(resolveStateDir(env), 'bridge');
}

/** Our host's default socket: OpenClaw.app's `OpenClaw/bridge.sock`. */
export function defaultHostSocketPath(opts: BridgePathOptions = {}): string {
  return path.join(bridgeSupportDir(opts), 'OpenClaw', 'bridge.sock');
}

export interface BridgeCandidate {
  name: string;
  socketPath: string;
}

/** Sockets to probe, in order: only $PEEKABOO_BRIDGE_SOCKET when it is set. */
export function bridgeCandidates(opts: BridgePathOptions = {}): BridgeCandidate[] {
  const env = opts.env ?? process.env;
  const explicit = env[BRIDGE_SOCKET_ENV]?.trim();
  if (explicit) return [{ name: 'explicit', socketPath: path.resolve(explicit) }];
  const base = bridgeSupportDir(opts);
  return BRIDGE_HOSTS.map((h) => ({ name: h.name, socketPath: path.join(base, h.dir, h.file) }));
}

/** sun_path is 104 bytes on macOS and 108 on Linux, including the terminating NUL. */
export function assertSocketPathFits(socketPath: string, platform: NodeJS.Platform = process.platform): void {
  const limit = platform === 'darwin' ? 104 : 108;
  if (Buffer.byteLength(socketPath) >= limit) {
    throw new BridgeTransportError(
      'ERR_BRIDGE_PATH_TOO_LONG',
      `socket path is ${Buffer.byteLength(socketPath)} bytes; sun_path holds ${limit - 1}`,
      {
        errno: os.constants.errno.ENAMETOOLONG,
      },
    );
  }
}

/** The real path (symlinks resolved) or undefined when it does not exist. Used to skip aliases already tried. */
export function realSocketPath(socketPath: string): string | undefined {
  try {
    return fs.realpathSync(socketPath);
  } catch {
    return undefined;
  }
}
