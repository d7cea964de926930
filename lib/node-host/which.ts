// system.which: resolves binary names on the node's PATH. Result in the TS node host's shape,
// `{bins: {<name>: <absolute path>}}`, missing names left out (node-commands.md §4).
import fs from 'node:fs';
import path from 'node:path';

import { trustedSearchPath } from '../exec-host/resolve-executable.js';
import { NodeCommandError } from './invoke-error.js';

const MAX_BINS = 256;
const MAX_NAME_LENGTH = 255;

function isExecutableFile(candidate: string): boolean {
  try {
    if (!fs.statSync(candidate).isFile()) return false;
    fs.accessSync(candidate, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function whichOne(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue; // relative entries would make the cwd decide
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
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
