// What a method handler gets: its own module so handler tables outside methods.ts (host-state-methods.ts)
// import the type without an import cycle.
import type { GatewayConnection } from './connection.js';
import type { GatewayCore } from './core.js';
import type { RequestFrame } from '../protocol/frames.js';

export interface HandlerContext {
  core: GatewayCore;
  conn: GatewayConnection;
  frame: RequestFrame;
  /** Sends an extra, earlier response for the same request id (two-phase methods). */
  respondEarly(payload: unknown): void;
}
