// Resolves argv[0] to the canonical executable the policy judges and the runner executes.
// Bare names are looked up on a trusted PATH (never the request's, never relative entries, so a
// hostile cwd cannot supply `true`); the result is realpath'd so `..` and symlinks cannot disguise it.
import fs from 'node:fs';
import path from 'node:path';

export interface ResolvedExecutable {
  /** Canonical absolute path (realpath) of a regular, executable file. */
  path: string;
  /** How argv[0] was written: with a slash (explicit path) or a bare name found on PATH. */
  via: 'path' | 'search';
  /** The absolute path as found, before symlinks are resolved: argv0 against cwd, or `<PATH entry>/<name>`. */
  found: string;
}

export type ResolveFailure = 'not-found' | 'not-executable' | 'not-a-file' | 'invalid';

function checkExecutable(candidate: string): string {
  let real: string;
  try {
    real = fs.realpathSync.native(candidate);
  } catch {
    return 'not-found';
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch {
    return 'not-found';
  }
  if (!st.isFile()) return 'not-a-file';
  try {
    fs.accessSync(real, fs.constants.X_OK);
  } catch {
    return 'not-executable';
  }
  return real;
}

/**
 * `argv0` with a `/`: resolved against `cwd` (absolute cwd required) then realpath'd.
 * A bare name: the first executable regular file on `searchPath`'s absolute entries.
 */
export function resolveExecutable(
  argv0: string,
  cwd: string | undefined,
  searchPath: string,
): ResolvedExecutable | { failure: ResolveFailure } {
  if (argv0.length === 0 || argv0.includes('\0') || argv0.endsWith('/')) return { failure: 'invalid' };
  if (argv0.includes('/')) {
    const base = cwd && path.isAbsolute(cwd) ? cwd : undefined;
    if (!path.isAbsolute(argv0) && !base) return { failure: 'invalid' };
    const found = base ? path.resolve(base, argv0) : argv0;
    const result = checkExecutable(found);
    return isFailure(result) ? { failure: result } : { path: result, via: 'path', found };
  }
  let lastFailure: ResolveFailure = 'not-found';
  for (const found of pathCandidates(argv0, searchPath)) {
    const result = checkExecutable(found);
    if (!isFailure(result)) return { path: result, via: 'search', found };
    if (result !== 'not-found') lastFailure = result;
  }
  return { failure: lastFailure };
}

/**
 * The one PATH walk: `<dir>/<name>` for each absolute entry of `searchPath`, in order. Empty and relative
 * entries mean "the current directory" and are never used (a hostile cwd could supply the program).
 */
export function* pathCandidates(name: string, searchPath: string): Generator<string> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir && path.isAbsolute(dir)) yield path.join(dir, name);
  }
}

/**
 * Why argv[0] could not be started, and where it was looked up: "nosuchprogram: not found in PATH
 * (/usr/local/bin:/usr/bin:/bin)", "/opt/x: no such file", "./x: a relative path needs an absolute cwd".
 */
export function describeResolveFailure(
  argv0: string,
  failure: ResolveFailure,
  searchPath: string,
  cwd?: string,
): string {
  const searched = argv0.includes('/') ? undefined : searchPath;
  const where = searched ? ` in PATH (${searched})` : cwd && !path.isAbsolute(argv0) ? ` (relative to ${cwd})` : '';
  switch (failure) {
    case 'not-found':
      return searched ? `${argv0}: not found${where}` : `${argv0}: no such file${where}`;
    case 'not-executable':
      return `${argv0}: not executable${where}`;
    case 'not-a-file':
      return `${argv0}: not a regular file${where}`;
    default:
      return argv0.includes('/') && !path.isAbsolute(argv0)
        ? `${argv0}: a relative path needs an absolute cwd`
        : `${argv0}: not a valid program name`;
  }
}

function isFailure(value: string): value is ResolveFailure {
  return value === 'not-found' || value === 'not-executable' || value === 'not-a-file' || value === 'invalid';
}

/** The PATH used for lookups: the daemon's own, minus relative entries. */
export function trustedSearchPath(env: NodeJS.ProcessEnv = process.env): string {
  const fallback = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return (
    (env.PATH ?? fallback)
      .split(path.delimiter)
      .filter((dir) => dir && path.isAbsolute(dir))
      .join(path.delimiter) || fallback
  );
}

/** What identifies the checked executable: re-compared right before it runs. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export function fileIdentity(file: string): FileIdentity | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** True when `file` is still the inode (unmodified) that was checked. */
export function sameFile(file: string, checked: FileIdentity | undefined): boolean {
  const now = fileIdentity(file);
  return (
    !!now &&
    !!checked &&
    now.dev === checked.dev &&
    now.ino === checked.ino &&
    now.size === checked.size &&
    now.mtimeMs === checked.mtimeMs
  );
}

/** The checked executable, held open so that the file that runs is the file that was checked. */
export interface PinnedExecutable {
  /** Linux: an O_CLOEXEC fd to run (nativeSpawn `execFd`, or /proc/self/fd/N); undefined: run by path. */
  readonly execFd: number | undefined;
  /** Closes the fd; call once the child has been spawned (or the run is over). Idempotent. */
  close(): void;
}

const canExecByFd = process.platform === 'linux' && fs.existsSync('/proc/self/fd');

function sameIdentity(st: fs.Stats, checked: FileIdentity): boolean {
  return (
    st.isFile() &&
    st.dev === checked.dev &&
    st.ino === checked.ino &&
    st.size === checked.size &&
    st.mtimeMs === checked.mtimeMs
  );
}

/**
 * Re-checks `file` against the identity taken at policy time and, where the OS allows, keeps it open so the
 * run goes through that descriptor (fexecve-like): renaming another file over the path afterwards changes
 * nothing. Returns undefined when the file is no longer the checked one.
 * Run by path (the re-check just done is then the last one; a window of microseconds remains) for `#!` scripts
 * (the kernel hands their interpreter /dev/fd/N, which the exec closes), for files this process may execute
 * but not read, and on macOS (posix_spawn takes only a path).
 */
export function openPinnedExecutable(file: string, checked: FileIdentity | undefined): PinnedExecutable | undefined {
  if (!checked) return undefined;
  const byPath: PinnedExecutable = { execFd: undefined, close: () => undefined };
  if (!canExecByFd) return sameFile(file, checked) ? byPath : undefined;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in after the check must not stall the daemon in open(). libuv adds O_CLOEXEC.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return sameFile(file, checked) ? byPath : undefined;
    return undefined;
  }
  let keep = false;
  try {
    if (!sameIdentity(fs.fstatSync(fd), checked)) return undefined;
    const head = Buffer.alloc(2);
    const isScript = fs.readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
    if (isScript) return byPath;
    keep = true;
    let open = true;
    return {
      execFd: fd,
      close: () => {
        if (open) fs.closeSync(fd);
        open = false;
      },
    };
  } finally {
    if (!keep) fs.closeSync(fd);
  }
}
