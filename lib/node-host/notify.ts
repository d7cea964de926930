// system.notify: a desktop notification. macOS through osascript, Linux through notify-send when it
// is installed; otherwise a clear UNAVAILABLE. Title and body travel as argv, never inside a script.
import { execFile } from 'node:child_process';

import { trustedSearchPath } from '../exec-host/resolve-executable.js';
import { NodeCommandError } from './invoke-error.js';
import { whichOne } from './which.js';

const MAX_TEXT = 4_096;
const NOTIFY_TIMEOUT_MS = 10_000;

export interface NotifyParams {
  title: string;
  body: string;
}

export function parseNotifyParams(params: unknown): NotifyParams {
  const p = (params ?? {}) as { title?: unknown; body?: unknown };
  const title = typeof p.title === 'string' ? p.title.slice(0, MAX_TEXT) : '';
  const body = typeof p.body === 'string' ? p.body.slice(0, MAX_TEXT) : '';
  if (title.trim() === '' && body.trim() === '')
    throw new NodeCommandError('INVALID_REQUEST', 'INVALID_REQUEST: empty notification');
  return { title, body };
}

/** The notifier argv for this platform, or undefined when there is none. */
export function notifierArgv(
  n: NotifyParams,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string[] | undefined {
  if (platform === 'darwin') {
    return [
      '/usr/bin/osascript',
      '-e',
      'on run argv',
      '-e',
      'display notification (item 2 of argv) with title (item 1 of argv)',
      '-e',
      'end run',
      n.title,
      n.body,
    ];
  }
  if (platform === 'linux') {
    const bin = whichOne('notify-send', trustedSearchPath(env));
    return bin ? [bin, '--', n.title || ' ', n.body] : undefined;
  }
  return undefined;
}

export async function systemNotify(params: unknown): Promise<undefined> {
  const n = parseNotifyParams(params);
  const argv = notifierArgv(n);
  if (!argv) {
    throw new NodeCommandError(
      'UNAVAILABLE',
      `UNAVAILABLE: system.notify is not supported on this node (${process.platform === 'linux' ? 'notify-send is not installed' : process.platform})`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: NOTIFY_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, _stdout, stderr) => {
      if (err)
        reject(
          new NodeCommandError(
            'UNAVAILABLE',
            `UNAVAILABLE: notification failed: ${String(stderr).trim() || err.message}`,
          ),
        );
      else resolve();
    });
  });
  return undefined;
}
