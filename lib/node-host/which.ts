// system.which: resolves binary names on the node's PATH. Result in the TS node host's shape,
// `{bins: {<name>: <absolute path>}}`, missing names left out (node-commands.md §4).
import { resolveExecutable, trustedSearchPath } from '../exec-host/resolve-executable.js';
import { NodeCommandError } from './invoke-error.js';

const MAX_BINS = 256;
const MAX_NAME_LENGTH = 255;

/** The first executable regular file named `name` on `searchPath` (as found on PATH, not realpath'd). */
export function whichOne(name: string, searchPath: string): string | undefined {
  const resolved = resolveExecutable(name, undefined, searchPath);
  return 'path' in resolved ? resolved.found : undefined;
}

export function systemWhich(params: unknown, env: NodeJS.ProcessEnv = process.env): { bins: Record<string, string> } {
  const bins = (params as { bins?: unknown } | null)?.bins;
  if (!Array.isArray(bins) || bins.length === 0)
    throw new NodeCommandError('INVALID_REQUEST', 'INVALID_REQUEST: bins required');
  if (bins.length > MAX_BINS)
    throw new NodeCommandError('INVALID_REQUEST', `INVALID_REQUEST: at most ${MAX_BINS} bins`);
  const searchPath = trustedSearchPath(env);
  const found: Record<string, string> = {};
  for (const name of bins) {
    if (typeof name !== 'string')
      throw new NodeCommandError('INVALID_REQUEST', 'INVALID_REQUEST: bins must be strings');
    // Names only: a path or a traversal is not a lookup, so it is simply not found.
    if (
      name === '' ||
      name.length > MAX_NAME_LENGTH ||
      name.includes('/') ||
      name.includes('\0') ||
      name === '.' ||
      name === '..'
    )
      continue;
    const hit = whichOne(name, searchPath);
    if (hit !== undefined) found[name] = hit;
  }
  return { bins: found };
}
