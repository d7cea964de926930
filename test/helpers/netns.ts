// A two-host test network: two Linux network namespaces joined by a veth pair, each end with a private
// IPv4 address, multicast routed over the link (mDNS works between them), loopback up. Processes run inside
// a namespace through `ip netns exec`. Everything is removed again: on close(), on tap teardown (a failed
// test included) and, as a last resort, on process exit.
//
//   const net = netnsAvailable();               // { ok: true } | { ok: false, reason }
//   t.test('…', { skip: !net.ok && net.reason }, async (t) => { … });
//   const pair = await createNetnsPair(t);      // t is optional; with it, teardown is registered
//   const pair = await createNetnsPair(t, { bridge: true });   // each address on a bridge over the veth end
//   pair.a.address / pair.b.address             // e.g. 10.213.7.1 and 10.213.7.2 (/24 on the veth)
//   const child = pair.a.spawn(['node', 'server.js'], { env });   // a ChildProcess, killed on close
//   const { code, stdout } = await pair.b.run(['curl', `http://${pair.a.address}:8080/`]);
//   await pair.close();                         // idempotent
//
// Names are unique per call (pid + random), so parallel suites in other checkouts never collide. Needs
// root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2; netnsAvailable() says why not when it cannot work.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import crypto from 'node:crypto';

export interface NetnsRunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Netns {
  /** The namespace name (`ip netns exec <name> …`). */
  readonly name: string;
  /** This end's IPv4 address on the link. */
  readonly address: string;
  /** The interface holding this end's address: the veth end, or with `bridge` the bridge over it. */
  readonly iface: string;
  /** The argv prefix that runs a program in this namespace: ['ip', 'netns', 'exec', name]. */
  readonly prefix: readonly string[];
  /** Starts argv inside the namespace. The child is killed (SIGKILL to its process group) on close. */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs argv to completion inside the namespace; rejects if it outlives timeoutMs (default 60 s). */
  run(argv: readonly string[], options?: SpawnOptions & { timeoutMs?: number }): Promise<NetnsRunResult>;
}

export interface NetnsPair {
  readonly a: Netns;
  readonly b: Netns;
  /** Kills every process spawned through the pair, then deletes both namespaces (the veth pair goes with them). */
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

let cachedAvailability: { ok: true } | { ok: false; reason: string } | undefined;

/** Whether namespaces can be made here; the reason when not (for a test's skip message). */
export function netnsAvailable(): { ok: true } | { ok: false; reason: string } {
  if (cachedAvailability) return cachedAvailability;
  if (process.platform !== 'linux')
    return (cachedAvailability = { ok: false, reason: 'network namespaces are Linux-only' });
  if (process.getuid?.() !== 0)
    return (cachedAvailability = { ok: false, reason: 'creating network namespaces needs root' });
  const probe = `ocprobe-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    cachedAvailability = { ok: true };
  } catch (err) {
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    cachedAvailability = { ok: false, reason: `cannot create a network namespace here: ${detail}` };
  }
  return cachedAvailability;
}

const live = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: a test process that dies without teardown still removes its namespaces.
  process.once('exit', () => {
    for (const cleanup of live) cleanup();
  });
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function inNs(ns: string, args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'pipe' });
}

export interface NetnsPairOptions {
  /**
   * Put each end's address on a bridge with the veth end as its port, as a host with a bridged LAN has.
   * @homebridge/ciao (the real OpenClaw Gateway's mDNS responder) names Linux interfaces from `ip -o link
   * show`, where a veth reads `vaX@if2`: that name is not in os.networkInterfaces(), so ciao skips the veth
   * and sends nothing on it. A bridge's name has no `@peer` suffix.
   */
  bridge?: boolean;
}

/** Creates the pair. With `t` (a tap test), close() is registered as its teardown. */
export async function createNetnsPair(t?: Teardown, options: NetnsPairOptions = {}): Promise<NetnsPair> {
  const available = netnsAvailable();
  if (!available.ok) throw new Error(available.reason);
  const id = `${process.pid.toString(36)}${crypto.randomBytes(3).toString('hex')}`;
  const names = { a: `oc-${id}-a`, b: `oc-${id}-b` };
  // Interface names are at most 15 bytes.
  const ifaces = { a: `va${id}`.slice(0, 15), b: `vb${id}`.slice(0, 15) };
  const bridges = { a: `ba${id}`.slice(0, 15), b: `bb${id}`.slice(0, 15) };
  const subnet = `10.213.${crypto.randomInt(1, 255)}`;
  const addresses = { a: `${subnet}.1`, b: `${subnet}.2` };
  const children = new Set<ChildProcess>();

  const removeAll = (): void => {
    for (const child of children) killGroup(child);
    children.clear();
    for (const ns of [names.a, names.b]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
      } catch {
        // Not created, or already gone.
      }
    }
  };
  installExitHook();
  live.add(removeAll);
  try {
    ip(['netns', 'add', names.a]);
    ip(['netns', 'add', names.b]);
    ip(['link', 'add', ifaces.a, 'netns', names.a, 'type', 'veth', 'peer', 'name', ifaces.b, 'netns', names.b]);
    for (const side of ['a', 'b'] as const) {
      inNs(names[side], ['ip', 'link', 'set', 'lo', 'up']);
      inNs(names[side], ['ip', 'link', 'set', ifaces[side], 'up', 'multicast', 'on']);
      if (options.bridge) {
        inNs(names[side], ['ip', 'link', 'add', bridges[side], 'type', 'bridge']);
        inNs(names[side], ['ip', 'link', 'set', ifaces[side], 'master', bridges[side]]);
        inNs(names[side], ['ip', 'link', 'set', bridges[side], 'up', 'multicast', 'on']);
      }
      const addressed = options.bridge ? bridges[side] : ifaces[side];
      inNs(names[side], ['ip', 'addr', 'add', `${addresses[side]}/24`, 'dev', addressed]);
      // Without a route for 224.0.0.0/4 a sender that does not pick an interface gets ENETUNREACH.
      inNs(names[side], ['ip', 'route', 'add', '224.0.0.0/4', 'dev', addressed]);
    }
  } catch (err) {
    removeAll();
    live.delete(removeAll);
    throw err;
  }

  const makeNs = (side: 'a' | 'b'): Netns => {
    const prefix = ['ip', 'netns', 'exec', names[side]] as const;
    const spawnIn = (argv: readonly string[], options: SpawnOptions = {}): ChildProcess => {
      const child = spawn(prefix[0], [...prefix.slice(1), ...argv], { stdio: 'pipe', ...options, detached: true });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    };
    return {
      name: names[side],
      address: addresses[side],
      iface: options.bridge ? bridges[side] : ifaces[side],
      prefix,
      spawn: spawnIn,
      run: (argv, options = {}) =>
        new Promise((resolve, reject) => {
          const { timeoutMs = 60_000, ...spawnOptions } = options;
          const child = spawnIn(argv, spawnOptions);
          let stdout = '';
          let stderr = '';
          child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
          const timer = setTimeout(() => {
            killGroup(child);
            reject(new Error(`${argv.join(' ')} in ${names[side]} outlived ${timeoutMs} ms; stderr: ${stderr}`));
          }, timeoutMs);
          child.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
          child.once('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
          });
        }),
    };
  };

  let closed: Promise<void> | undefined;
  const pair: NetnsPair = {
    a: makeNs('a'),
    b: makeNs('b'),
    close: () =>
      (closed ??= (async () => {
        const exits = [...children].map(
          (child) =>
            new Promise<void>((resolve) =>
              child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
            ),
        );
        for (const child of children) killGroup(child);
        // Wait for the kills to land (bounded), so no process still holds the namespace when it is deleted.
        // The bound's timer is unref'd: it must not keep the test process alive once the kills have landed.
        await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
        removeAll();
        live.delete(removeAll);
      })()),
  };
  t?.teardown(() => pair.close());
  return pair;
}

/** SIGKILL to the child's process group (spawned detached, so `ip netns exec` and what it runs go together). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
