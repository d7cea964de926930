// Runs the CLI's CommonJS bundle (dist/cli/main.cjs, scripts/bundle.ts) with a V8 code cache. Node 20
// has no compile cache for ES modules, and compiling the ~0.9 MB the CLI loads is a third of `up`'s CPU
// time to ready; V8's code cache (vm.Script cachedData) skips that compile, and a cache made after start-up
// also holds the functions compiled lazily while starting.
//
// The cache sits next to the bundle (main.cjs.v8cache) and is trusted like the bundle: it holds bytecode,
// so it is used only when its owner is us or the bundle's owner and nobody else can write it. V8 checks
// its own version and flags but keys the source by length only, so the file starts with a header naming
// the SHA-256 of the bundle it was made from; any mismatch (rebuild, other Node) means "no cache": the
// bundle compiles as usual and `up` writes a fresh cache once it is ready (`saveCodeCache`).
import crypto from 'node:crypto';
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const MAGIC = 'openclaw-ipc v8 code cache 1';
/** Where the bundle leaves its save hook for code in it (the bundle and this loader are separate builds). */
const SAVE_HOOK = Symbol.for('openclaw-ipc.saveCodeCache');
/** A cache larger than this is not ours (the bundle's cache is about its size, under 2 MB). */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

export interface CodeCacheRun {
  /** 'used': V8 accepted the cache; 'rejected': V8 refused it; 'none': no valid cache file (see `reason`). */
  status: 'used' | 'rejected' | 'none';
  reason?: string;
  /** Writes the cache (after start-up, so it holds what start-up compiled); true when written. */
  save(): boolean;
}

export function cacheFileFor(bundleFile: string): string {
  return `${bundleFile}.v8cache`;
}

function header(sourceHash: string): string {
  return `${MAGIC}\n${sourceHash}\n${process.version} ${process.arch}\n`;
}

/** The cache's V8 data when the file is ours, unshared, and made from this very bundle by this Node. */
function readCache(cacheFile: string, bundleOwner: number, sourceHash: string): { data?: Buffer; reason?: string } {
  let fd: number;
  try {
    fd = fs.openSync(cacheFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    return { reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache file' : (err as Error).message };
  }
  try {
    const st = fs.fstatSync(fd);
    const me = process.geteuid?.() ?? st.uid;
    if (!st.isFile() || st.size > MAX_CACHE_BYTES) return { reason: 'not a regular file of a sane size' };
    if (st.uid !== me && st.uid !== bundleOwner) return { reason: `owned by uid ${st.uid}` };
    if ((st.mode & 0o022) !== 0) return { reason: 'writable by group or others' };
    const file = fs.readFileSync(fd);
    const expected = Buffer.from(header(sourceHash));
    if (file.length < expected.length || !file.subarray(0, expected.length).equals(expected))
      return { reason: 'made from another bundle or Node' };
    return { data: file.subarray(expected.length) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Atomically replaces the cache (temp file + rename, so a reader never sees half of one); false when it cannot. */
function writeCache(cacheFile: string, sourceHash: string, data: Buffer): boolean {
  const tmp = `${cacheFile}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(header(sourceHash)), data]), { mode: 0o644, flag: 'wx' });
    fs.renameSync(tmp, cacheFile);
    return true;
  } catch {
    // A read-only install (or a directory owned by someone else) runs without a cache: slower, not broken.
    fs.rmSync(tmp, { force: true });
    return false;
  }
}

/** Compiles and runs a CommonJS bundle as Node's own loader would, with the cache when there is a valid one. */
export function runBundle(bundleFile: string): CodeCacheRun {
  const source = fs.readFileSync(bundleFile, 'utf8');
  const sourceHash = crypto.createHash('sha256').update(source).digest('hex');
  const cacheFile = cacheFileFor(bundleFile);
  const cached = readCache(cacheFile, fs.statSync(bundleFile).uid, sourceHash);
  // The entry's hashbang is valid only at the very start of a script: inside the wrapper it becomes a comment.
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new vm.Script(Module.wrap(body), {
    filename: bundleFile,
    ...(cached.data ? { cachedData: cached.data } : {}),
  });
  const status = cached.data ? (script.cachedDataRejected ? 'rejected' : 'used') : 'none';
  let saved = false;
  const run: CodeCacheRun = {
    status,
    ...(cached.reason ? { reason: cached.reason } : status === 'rejected' ? { reason: 'rejected by V8' } : {}),
    save() {
      if (status === 'used' || saved) return false;
      saved = true;
      return writeCache(cacheFile, sourceHash, script.createCachedData());
    },
  };
  (globalThis as Record<symbol, unknown>)[SAVE_HOOK] = run;
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, createRequire(bundleFile), module, bundleFile, path.dirname(bundleFile));
  return run;
}

/**
 * Called by `up` once it is ready: writes the code cache when this process ran the bundle without a valid
 * one. A no-op elsewhere (tsx, tests, the library) and when the cache was used.
 */
export function saveCodeCache(): boolean {
  const run = (globalThis as Record<symbol, unknown>)[SAVE_HOOK] as CodeCacheRun | undefined;
  return run ? run.save() : false;
}

/** How this process's CLI code was loaded, for `up --json` (null: not from the bundle). */
export function codeCacheStatus(): Pick<CodeCacheRun, 'status' | 'reason'> | null {
  const run = (globalThis as Record<symbol, unknown>)[SAVE_HOOK] as CodeCacheRun | undefined;
  return run ? { status: run.status, ...(run.reason ? { reason: run.reason } : {}) } : null;
}
