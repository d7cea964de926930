// system.notify: a desktop notification. macOS through osascript, Linux through notify-send when it
// is installed; otherwise a clear UNAVAILABLE. Title and body travel as argv, never inside a script.
import { execFile } from 'node:child_process';

import { trustedSearchPath } from '../exec-host/resolve-executable.js';
import { Type } from '../protocol/typebox.js';
import { compileValidator } from '../protocol/validator.js';
import { NodeCommandError } from './invoke-error.js';
import { whichOne } from './which.js';

const MAX_TEXT = 4_096;
const NOTIFY_TIMEOUT_MS = 10_000;

export interface NotifyParams {
  title: string;
  body: string;
}

// system.notify params (compiled once): title and body are optional strings, bounded; null is "absent".
// What is shown is cut to MAX_TEXT; a longer value than MAX_PARAM_TEXT is refused, not read.
const MAX_PARAM_TEXT = 64 * 1024;
const NotifyText = Type.Optional(Type.Union([Type.String({ maxLength: MAX_PARAM_TEXT }), Type.Null()]));
const notifyParams = compileValidator(Type.Object({ title: NotifyText, body: NotifyText }));

export function parseNotifyParams(params: unknown): NotifyParams {
  const problem = notifyParams.firstError(params ?? {});
  if (problem) {
    const field = problem.path.split('/')[1];
    const why = field === undefined ? 'params must be an object' : `${field} must be a string`;
    throw new NodeCommandError('INVALID_REQUEST', `INVALID_REQUEST: ${why}`);
  }
  const p = (params ?? {}) as { title?: string | null; body?: string | null };
  const title = (p.title ?? '').slice(0, MAX_TEXT);
  const body = (p.body ?? '').slice(0, MAX_TEXT);
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
