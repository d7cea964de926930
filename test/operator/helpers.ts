// Helpers for test/operator: the CLIs as real child processes, and waiting for a child's JSON ready line.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** argv that runs `openclaw-ipc` (main) or `openclaw-mac` (mac) from source, as the bins run. */
export function cliArgv(bin: 'main' | 'mac', args: string[]): string[] {
  return [process.execPath, '--import', 'tsx', path.join(repo, 'lib', 'cli', `${bin}.ts`), ...args];
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
