// Helpers for the openclaw-mac tests (test/cli/mac.test.ts, test/native/maccheck.test.ts): run the real
// openclaw-mac bin as a child process; real sockets and processes.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { spawnNodeAs } from './other-uid.js';
import { cliNodeArgs } from './operator-cli.js';

type Teardown = Parameters<typeof spawnNodeAs>[0];

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `openclaw-mac <args>` as the bin runs (built dist/ when fresh, else from source: cliArgv), and collects its output. */
export function runMac(args: string[], opts: SpawnOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, cliNodeArgs('mac', [...args]), { cwd: repoRoot, ...opts });
}

export function runProcess(file: string, args: string[], opts: SpawnOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function tempDir(prefix: string): string {
  // Not t.testdir(): no test object here, and the callers put Unix sockets under it (sun_path's 108 bytes).
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A Unix-socket server in a separate node process (optionally as another uid), listening at sockPath.
 * Resolves once it is listening; kill() ends it.
 */
export async function spawnServer(sockPath: string, as?: { t: Teardown; uid: number }): Promise<ChildProcess> {
  const code =
    `const s=require('net').createServer(c=>c.on('error',()=>{}));` +
    `s.listen(${JSON.stringify(sockPath)},()=>process.stdout.write('listening\\n'));` +
    `process.stdin.on('end',()=>process.exit(0));process.stdin.resume();`;
  // Without the test runner's NODE_OPTIONS: its hooks write to .tap/, which another uid cannot.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const stdio: SpawnOptions['stdio'] = ['pipe', 'pipe', 'inherit'];
  const child = as
    ? spawnNodeAs(as.t, ['-e', code], { stdio, env, uid: as.uid })
    : spawn(process.execPath, ['-e', code], { stdio, cwd: '/', env });
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (buf.includes('listening\n')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`server exited early with ${c}`)));
  });
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
