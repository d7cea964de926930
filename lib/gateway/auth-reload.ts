// Follows openclaw.json at run time so a rotated gateway.auth secret or mode applies without a restart.
// fs.watch on the state dir sees atomic renames (which replace the inode a file watch would follow);
// a slow stat poll covers file systems and moments where the watch misses an event. Both only schedule
// a debounced re-resolve; an unchanged stat signature never re-reads the file.
import fs from 'node:fs';
import path from 'node:path';

import type { GatewayAuthConfig } from './auth-config.js';

export type AuthReloadOutcome =
  | { status: 'unchanged' }
  | { status: 'rotated'; mode: GatewayAuthConfig['mode']; closed: number }
  | { status: 'failed'; message: string };

export interface AuthWatchOptions {
  configPath: string;
  /** Re-resolves auth with the startup rules (without generating); throws on a bad config. */
  load: () => GatewayAuthConfig;
  /** Swaps in a resolved config; returns how many live connections it closed (0: nothing changed). */
  apply: (next: GatewayAuthConfig) => { changed: boolean; closed: number };
  log: (line: string) => void;
  /** Stat fallback period. Default 2000 ms. */
  pollMs?: number;
  /** Quiet time after the last change before re-reading. Default 150 ms. */
  debounceMs?: number;
  /** Every reload's outcome (tests, logs). */
  onReload?: (outcome: AuthReloadOutcome) => void;
}

export interface AuthWatch {
  /** Re-reads now (also what a detected change runs). */
  reload(): AuthReloadOutcome;
  close(): void;
}

export function watchGatewayAuth(options: AuthWatchOptions): AuthWatch {
  const pollMs = options.pollMs ?? 2_000;
  const debounceMs = options.debounceMs ?? 150;
  const dir = path.dirname(options.configPath);
  const base = path.basename(options.configPath);
  let signature = statSignature(options.configPath);
  let lastFailure: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = (): AuthReloadOutcome => {
    signature = statSignature(options.configPath);
    let outcome: AuthReloadOutcome;
    try {
      const next = options.load();
      const { changed, closed: count } = options.apply(next);
      lastFailure = undefined;
      outcome = changed ? { status: 'rotated', mode: next.mode, closed: count } : { status: 'unchanged' };
      if (changed)
        options.log(
          `gateway auth changed (${next.mode}); closed ${count} connection${count === 1 ? '' : 's'} with 4001`,
        );
    } catch (err) {
      const message = (err as Error).message;
      // One line per distinct problem, not one per poll or editor save.
      if (message !== lastFailure) options.log(`gateway auth reload failed, keeping the current secret: ${message}`);
      lastFailure = message;
      outcome = { status: 'failed', message };
    }
    options.onReload?.(outcome);
    return outcome;
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) reload();
    }, debounceMs);
    timer.unref();
  };

  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(dir, { persistent: false }, (_event, filename) => {
      if (filename === null || filename.toString() === base) schedule();
    });
    // A removed or unwatchable dir leaves the stat poll in charge.
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(() => {
    if (statSignature(options.configPath) !== signature) schedule();
  }, pollMs);
  poll.unref();

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

/**
 * What identifies a version of the file: the link itself (a retargeted symlink) and what it resolves to
 * (inode, size, times, mode). An error code stands for a missing or unreadable path.
 */
function statSignature(file: string): string {
  const parts: string[] = [];
  for (const stat of [fs.lstatSync, fs.statSync]) {
    try {
      const st = stat(file, { bigint: true });
      parts.push(`${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}`);
    } catch (err) {
      parts.push((err as NodeJS.ErrnoException).code ?? 'error');
    }
  }
  return parts.join('|');
}
