// Launching the two hosts' processes inside a netns pair (test/helpers/netns.ts): our CLI from source, read up
// to its first JSON line, and the real OpenClaw as a host of its own. One shape for test/gateway/remote-netns,
// test/cli/up-tls (our CLI on this host) and interop parts 4 and 5 (scripts/interop-operator.ts,
// scripts/interop-remote.ts).
//
//   const gw = ourCliIn(pair.a, ['gateway', '--bind', pair.a.address, '--tls', '--port', '0', '--json'], { env });
//   const ready = await firstJsonLine(gw, 'gateway');                   // {"ready":true,…}
//   const real = realOpenclawIn(pair.b, 'real-b', [node24, entry, 'node', 'run', …], { env });
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { repo } from './cli.js';
import type { Netns } from './netns.js';
import { OPERATOR_DRIVER, OperatorDriver } from './operator-driver.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a CLI's --json line, read field by field
type JsonLine = Record<string, any>;

/** argv of our CLI from source: `main` is openclaw-ipc, `mac` is openclaw-mac. */
export function ourCliArgv(args: readonly string[], bin: 'main' | 'mac' = 'main'): string[] {
  return [process.execPath, '--import', 'tsx', path.join(repo, 'lib', 'cli', `${bin}.ts`), ...args];
}

/** Our CLI inside `ns`, run from the repo (tsx resolves from there). */
export function ourCliIn(
  ns: Netns,
  args: readonly string[],
  options: SpawnOptions & { bin?: 'main' | 'mac' } = {},
): ChildProcess {
  const { bin, ...spawnOptions } = options;
  return ns.spawn(ourCliArgv(args, bin), { cwd: repo, ...spawnOptions });
}

/** An operator connection (our GatewayClient, every operator scope) inside `ns`, driven over stdio. */
export function operatorIn(
  ns: Netns,
  target: { url: string; token: string; tlsFingerprint?: string },
  env: NodeJS.ProcessEnv = { PATH: process.env.PATH },
): OperatorDriver {
  const driverEnv = { ...env, DRIVER_URL: target.url, DRIVER_TOKEN: target.token };
  if (target.tlsFingerprint) Object.assign(driverEnv, { DRIVER_TLS_FINGERPRINT: target.tlsFingerprint });
  return new OperatorDriver(
    ns.spawn([process.execPath, '--import', 'tsx', OPERATOR_DRIVER], { cwd: repo, env: driverEnv }),
  );
}

/**
 * argv prefix that makes the rest a host of its own: its own UTS host name (a Bonjour instance is named after
 * the host, and our discover leaves out beacons named like this machine), and private tmpfs mounts over the
 * real OpenClaw's hard-coded /tmp/openclaw and /tmp/openclaw-state-locks-<uid> (another process or run on
 * this machine shares nothing with it, and nothing is left behind).
 */
export function ownHostPrefix(hostname: string): string[] {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(hostname)) throw new Error(`not a plain host name: ${hostname}`);
  return [
    'unshare',
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    'hostname "$0" && for d in /tmp/openclaw "/tmp/openclaw-state-locks-$(id -u)"; do mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || exit 1; done; exec "$@"',
    hostname,
  ];
}

/** argv (the real OpenClaw: `[node24, openclaw.mjs, …]`) inside `ns` as the host `hostname` (ownHostPrefix). */
export function realOpenclawIn(
  ns: Netns,
  hostname: string,
  argv: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  return ns.spawn([...ownHostPrefix(hostname), ...argv], options);
}

/** Keeps the last 200 kB of a child's stdout and stderr; returns a reader. */
export function capture(child: ChildProcess): () => string {
  let output = '';
  const keep = (c: Buffer): void => {
    output = (output + c.toString()).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => output;
}

/** Polls `ok` every 250 ms; rejects with the output's tail on timeout or when `child` exits first. */
export async function until(
  what: string,
  ok: () => boolean,
  timeoutMs: number,
  output: () => string,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(
        `${what}: the process exited (${child.exitCode ?? child.signalCode}); output: ${output().slice(-1500)}`,
      );
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs / 1000} s; output: ${output().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The first stdout line that is a JSON object (a `--json` ready line); rejects when the process exits first. */
export function firstJsonLine(child: ChildProcess, what: string, timeoutMs = 60_000): Promise<JsonLine> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no JSON line in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)),
      timeoutMs,
    );
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as JsonLine);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} first; stderr: ${stderr.slice(-2000)}`));
    });
  });
}
