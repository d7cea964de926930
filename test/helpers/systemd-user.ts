// A real systemd user manager for tests, where PID 1 is not systemd (a container). `systemd --user` refuses
// to start unless /run/systemd/system exists ("not booted with systemd"), so it runs in a private mount
// namespace where a tmpfs over /run/systemd holds that directory: the host's /run/systemd is untouched and
// nothing else on the machine sees a booted systemd. Its runtime dir and HOME are temp dirs, so units go
// to <home>/.config/systemd/user and `systemctl --user` reaches it with the returned env.
//
//   const um = await startUserManager(t);        // skip with userManagerAvailable().reason when !ok
//   spawn('systemctl', ['--user', 'status'], { env: { ...process.env, ...um.env } });
//   await um.close();                            // `systemctl --user exit`: stops every unit, then itself
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SYSTEMD = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find((p) => fs.existsSync(p));

// Fixed script; the only input is the systemd binary path, passed as $1.
const LAUNCH = [
  '[ -d /run/systemd ] || mkdir /run/systemd',
  'mount -t tmpfs -o mode=0755 tmpfs /run/systemd',
  'mkdir /run/systemd/system',
  'exec "$1" --user',
].join(' && ');

export interface UserManager {
  /** XDG_RUNTIME_DIR, HOME and XDG_CONFIG_HOME for `systemctl --user` and for the CLI under test. */
  env: { XDG_RUNTIME_DIR: string; HOME: string; XDG_CONFIG_HOME: string };
  child: ChildProcess;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function userManagerAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'systemd is Linux-only' };
  if (process.getuid?.() !== 0)
    return { ok: false, reason: 'starting a user manager outside a login session needs root (mount namespace)' };
  if (!SYSTEMD) return { ok: false, reason: 'no systemd binary at /lib/systemd/systemd' };
  for (const tool of ['unshare', 'systemctl']) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'pipe' });
    } catch {
      return { ok: false, reason: `${tool} is not installed` };
    }
  }
  return { ok: true };
}

/** A wait that does not keep the process alive once everything else is done (a test file exits at once). */
function unrefDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function systemctl(env: NodeJS.ProcessEnv, args: string[]): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync('systemctl', ['--user', ...args], { env, stdio: 'pipe', timeout: 10_000 }).toString(),
    };
  } catch (err) {
    const e = err as { status?: number; stdout?: Buffer; stderr?: Buffer };
    return { code: e.status ?? 1, out: `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` };
  }
}

/**
 * Starts the manager and waits until `systemctl --user` answers (at most 30 s). The runtime dir is under
 * os.tmpdir() (socket paths must stay short); HOME is made under `homeParent` when given (a unit with
 * PrivateTmp= cannot see a state dir under /tmp).
 */
export async function startUserManager(t?: Teardown, options: { homeParent?: string } = {}): Promise<UserManager> {
  const available = userManagerAvailable();
  if (!available.ok) throw new Error(available.reason);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-um-'));
  const runtime = path.join(root, 'runtime');
  const home = options.homeParent ? fs.mkdtempSync(path.join(options.homeParent, 'home-')) : path.join(root, 'home');
  fs.mkdirSync(runtime, { mode: 0o700 });
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { XDG_RUNTIME_DIR: runtime, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') };
  const fullEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', LAUNCH, 'sh', SYSTEMD!], {
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        systemctl(fullEnv, ['exit']);
        const done = await Promise.race([exited.then(() => true), unrefDelay(15_000).then(() => false)]);
        if (!done) {
          child.kill('SIGTERM');
          await Promise.race([exited, unrefDelay(5_000)]);
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      }
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(home, { recursive: true, force: true });
    })());
  t?.teardown(close);

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await close();
      throw new Error(`systemd --user exited: ${output.trim() || `code ${child.exitCode}`}`);
    }
    // is-system-running says "offline" for a user manager without a booted system; a property read answers.
    const state = systemctl(fullEnv, ['show', '--property=Version']);
    if (state.code === 0 && /^Version=/m.test(state.out)) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`systemd --user did not answer within 30 s: ${state.out.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { env, child, close };
}
