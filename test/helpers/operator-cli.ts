// The CLIs as real child processes (built or from source; used across test/, not only test/operator), and
// waiting for a child's JSON ready line.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The newest modification time of any file under `dir` (0 when there is none). */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

let builtIsFresh: boolean | undefined;

/** Whether dist/ was built after the last change under lib/ (then it runs exactly the code under test). */
function distIsFresh(): boolean {
  if (builtIsFresh === undefined) {
    try {
      builtIsFresh = newestMtimeMs(path.join(repo, 'dist')) >= newestMtimeMs(path.join(repo, 'lib'));
    } catch {
      builtIsFresh = false;
    }
  }
  return builtIsFresh;
}

/**
 * argv that runs `openclaw-ipc` (main) or `openclaw-mac` (mac) as the package's bins run: the built
 * dist/cli/<bin>.js when dist/ is newer than every file under lib/ (a cold start a third of tsx's), else
 * the source through tsx (so a stale build is never what a test checks).
 */
export function cliArgv(bin: 'main' | 'mac', args: string[]): string[] {
  if (distIsFresh()) return [process.execPath, path.join(repo, 'dist', 'cli', `${bin}.js`), ...args];
  return [process.execPath, '--import', 'tsx', path.join(repo, 'lib', 'cli', `${bin}.ts`), ...args];
}

/** cliArgv without the leading node: the arguments to give `process.execPath` (spawn, spawnSync). */
export function cliNodeArgs(bin: 'main' | 'mac', args: string[]): string[] {
  return cliArgv(bin, args).slice(1);
}

/** Resolves with the first stdout line that parses as a JSON object; rejects if the child exits first. */
export function firstJsonLine<T = Record<string, unknown>>(child: ChildProcess, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{') || !line.endsWith('}')) continue;
        try {
          const value = JSON.parse(line) as T;
          clearTimeout(timer);
          resolve(value);
          return;
        } catch {
          // A partial line; wait for more.
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before a JSON line; stderr: ${err}`));
    });
  });
}
