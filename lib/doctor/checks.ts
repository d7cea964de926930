// The checks behind `doctor`. Each returns findings: ok / warn / fail, what was seen, and for anything not
// ok one sentence saying how to fix it. Checks never change anything; they read files, connect to sockets
// and the Gateway, and send one signed dry run (nothing is prompted or run).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { resolveOperatorTarget } from '../client/operator.js';
import { presentedFingerprint } from '../client/tls-pin.js';
import { fingerprintsEqual, normalizeTlsFingerprint } from '../common/tls-fingerprint.js';
import { dryRunViaSocket } from '../exec-host/client.js';
import { rememberedGateway } from '../node-host/node-config.js';
import { approvalsFilePath, readApprovals, requireToken } from '../exec-host/exec-approvals-file.js';
import { inspectSocketFile } from '../native/socket-owner.js';
import { readOpenclawConfig, resolveConfigPath } from '../common/openclaw-config.js';
import { readJsonFile } from '../common/state-dir.js';
import { isRecord } from '../common/records.js';
import { inspectInstanceLock } from '../native/file-lock.js';
import { peerCredentials, openPeerProcess } from '../native/peer.js';
import { lockFiles, managerFor, serviceStatus, definitionPath, type ServiceContext } from '../service/manager.js';
import { bridgeSocketPath, execSocketPath, probeGateway } from '../service/inspect.js';
import { SERVICE_ROLES, serviceSpec } from '../service/spec.js';

export type FindingStatus = 'ok' | 'warn' | 'fail';

export interface Finding {
  /** Stable id of the check (state-dir, approvals-file, exec-socket, …). */
  id: string;
  status: FindingStatus;
  summary: string;
  /** One sentence: what to do. Present on warn and fail. */
  fix?: string;
  details?: Record<string, unknown>;
}

const ok = (id: string, summary: string, details?: Record<string, unknown>): Finding => ({
  id,
  status: 'ok',
  summary,
  ...(details ? { details } : {}),
});
const warn = (id: string, summary: string, fix: string, details?: Record<string, unknown>): Finding => ({
  id,
  status: 'warn',
  summary,
  fix,
  ...(details ? { details } : {}),
});
const failed = (id: string, summary: string, fix: string, details?: Record<string, unknown>): Finding => ({
  id,
  status: 'fail',
  summary,
  fix,
  ...(details ? { details } : {}),
});

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;
const myUid = (): number => process.geteuid?.() ?? -1;

export function checkStateDir(stateDir: string): Finding[] {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(stateDir);
  } catch {
    return [
      warn(
        'state-dir',
        `${stateDir} does not exist yet`,
        'Run `openclaw-ipc up` once (it creates the state dir with mode 0700).',
      ),
    ];
  }
  if (st.isSymbolicLink())
    return [
      failed(
        'state-dir',
        `${stateDir} is a symbolic link`,
        `Replace the link with a real directory (mode 0700) owned by you.`,
      ),
    ];
  if (!st.isDirectory())
    return [
      failed('state-dir', `${stateDir} is not a directory`, `Move the file away; the state dir must be a directory.`),
    ];
  if (st.uid !== myUid())
    return [
      failed(
        'state-dir',
        `${stateDir} is owned by uid ${st.uid}, not ${myUid()}`,
        `Run \`chown ${myUid()} ${stateDir}\` or use a state dir of your own (OPENCLAW_STATE_DIR).`,
      ),
    ];
  if ((st.mode & 0o077) !== 0)
    return [
      failed(
        'state-dir',
        `${stateDir} has mode ${octal(st.mode)}: other users can see into it`,
        `Run \`chmod 700 ${stateDir}\`.`,
        { mode: octal(st.mode) },
      ),
    ];
  return [ok('state-dir', `${stateDir} (mode 0700, yours)`)];
}

/** A private file: a regular file (not a link) of ours, mode 0600 or tighter; then `parse` it. */
function checkPrivateFile(
  id: string,
  file: string,
  what: string,
  options: { missing: () => Finding; parse?: () => Finding | undefined },
): Finding {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return options.missing();
  }
  if (!st.isFile())
    return failed(id, `${file} is not a regular file`, `Remove ${file}; it is recreated on the next start.`);
  if (st.uid !== myUid())
    return failed(
      id,
      `${file} is owned by uid ${st.uid}, not ${myUid()}`,
      `Run \`chown ${myUid()} ${file}\` (or remove it).`,
    );
  if ((st.mode & 0o077) !== 0)
    return failed(
      id,
      `${file} has mode ${octal(st.mode)}: ${what} is readable by other users`,
      `Run \`chmod 600 ${file}\` (and rotate the secret if others could have read it).`,
      { mode: octal(st.mode) },
    );
  return options.parse?.() ?? ok(id, `${file} (mode ${octal(st.mode)}, yours)`);
}

export function checkFiles(stateDir: string): Finding[] {
  const configFile = resolveConfigPath({ stateDir });
  const approvals = approvalsFilePath(stateDir);
  const findings = [
    checkPrivateFile('config-file', configFile, 'the Gateway secret', {
      missing: () => ok('config-file', `${configFile} does not exist (defaults apply)`),
      parse: () => {
        try {
          readOpenclawConfig({ stateDir });
          return undefined;
        } catch (err) {
          return failed(
            'config-file',
            `${configFile} is malformed: ${(err as Error).message}`,
            `Fix the syntax in ${configFile}.`,
          );
        }
      },
    }),
    checkPrivateFile('approvals-file', approvals, 'the exec socket token', {
      missing: () =>
        warn(
          'approvals-file',
          `${approvals} does not exist`,
          'Start the exec host (`openclaw-ipc up` or `openclaw-ipc app`); it writes the file with a token.',
        ),
      parse: () => {
        try {
          const data = readApprovals(approvals);
          requireToken(data ?? { version: 1 }, approvals);
          return undefined;
        } catch (err) {
          return failed(
            'approvals-file',
            `${approvals}: ${(err as Error).message}`,
            `Fix ${approvals} (see \`openclaw-ipc approvals show\`) or move it away so the exec host writes a new one.`,
          );
        }
      },
    }),
  ];
  for (const name of ['device.json', 'device-auth.json']) {
    const file = path.join(stateDir, 'identity', name);
    if (fs.existsSync(file) || name === 'device.json')
      findings.push(
        checkPrivateFile('identity-file', file, 'a device key or token', {
          missing: () => ok('identity-file', `${file} does not exist yet (created on first connect)`),
        }),
      );
  }
  return findings;
}

export function checkLocks(stateDir: string): Finding[] {
  return lockFiles(stateDir).map((file) => {
    const lock = inspectInstanceLock(file);
    const id = `lock:${path.basename(file)}`;
    switch (lock.state) {
      case 'absent':
        return ok(id, `${path.basename(file)}: not held (nothing running)`);
      case 'live':
        return ok(id, `${path.basename(file)}: held by live pid ${lock.pid ?? 'unknown'}`, { pid: lock.pid });
      case 'stale':
        return warn(
          id,
          `${path.basename(file)} is stale: no process holds it (pid ${lock.pid ?? 'unknown'} ended without removing it)`,
          `Nothing to do if you start again (a stale lock is taken over); to tidy up, remove ${file}.`,
          { pid: lock.pid },
        );
      default:
        return failed(
          id,
          `${file} is unreadable: ${'reason' in lock ? lock.reason : ''}`,
          `If \`openclaw-ipc status\` shows nothing running, remove ${file}.`,
        );
    }
  });
}

function connectUnix(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Who serves a socket: uid, pid, executable (Linux) and TeamID (macOS). Undefined fields were not knowable. */
async function socketServer(
  socketPath: string,
): Promise<{ uid: number; pid?: number; executable?: string; teamId?: string | null }> {
  const sock = await connectUnix(socketPath, 3_000);
  try {
    const cred = peerCredentials(sock);
    const server: { uid: number; pid?: number; executable?: string; teamId?: string | null } = { uid: cred.uid };
    if (cred.pid !== undefined) server.pid = cred.pid;
    if (process.platform === 'linux') {
      const peer = openPeerProcess(sock);
      try {
        server.executable = peer.executable();
      } catch {
        // No pidfd, or it exited.
      } finally {
        peer.close();
      }
    } else if (process.platform === 'darwin' && cred.pid !== undefined) {
      const { codeIdentity } = await import('../native/code-identity.js');
      const id = await codeIdentity({ pid: cred.pid });
      server.executable = id.executable;
      server.teamId = id.teamId ?? null;
    }
    return server;
  } finally {
    sock.destroy();
  }
}

/** The socket file: present, a socket, ours, not writable by others; then who serves it. */
async function checkSocket(
  id: string,
  socketPath: string,
  missing: Finding,
): Promise<{ findings: Finding[]; served: boolean }> {
  const file = inspectSocketFile(socketPath, myUid(), { followSymlinks: false });
  if (!file.ok && file.problem === 'missing') return { findings: [missing], served: false };
  if (!file.ok && file.problem === 'owner')
    return {
      findings: [
        failed(
          id,
          `${socketPath} is owned by uid ${file.uid}, not ${myUid()}: another user put it there`,
          `Stop whatever created it and remove ${socketPath}; clients refuse it until then.`,
          { ownerUid: file.uid },
        ),
      ],
      served: false,
    };
  if (!file.ok)
    return {
      findings: [
        failed(id, `${socketPath} is not a socket`, `Remove ${socketPath}; the host recreates it when it starts.`),
      ],
      served: false,
    };
  const mode = fs.lstatSync(socketPath).mode;
  const findings: Finding[] = [];
  if ((mode & 0o022) !== 0)
    findings.push(
      failed(
        `${id}-mode`,
        `${socketPath} has mode ${octal(mode)}: other users may connect`,
        `Restart the host; it creates the socket 0600 in a 0700 directory.`,
      ),
    );
  let server;
  try {
    server = await socketServer(socketPath);
  } catch (err) {
    findings.push(
      failed(
        id,
        `${socketPath} exists but nothing answers (${(err as Error).message}): a leftover of a crashed host`,
        'Start the host again (it replaces a dead socket), or remove the file.',
      ),
    );
    return { findings, served: false };
  }
  if (server.uid !== myUid()) {
    findings.push(
      failed(
        id,
        `${socketPath} is served by uid ${server.uid}, not ${myUid()}`,
        'Stop that process; only your own host may serve this socket.',
        server,
      ),
    );
    return { findings, served: false };
  }
  const executable = server.executable ? `, ${server.executable}` : '';
  const teamId = server.teamId !== undefined ? `, TeamID ${server.teamId ?? 'none'}` : '';
  findings.push(
    ok(id, `${socketPath}: served by pid ${server.pid ?? '?'} (uid ${server.uid}${executable}${teamId})`, server),
  );
  return { findings, served: true };
}

/** A path that cannot exist: even an exec host that ignored dryRun would have nothing to start. */
export const DOCTOR_NOOP_COMMAND = ['/nonexistent/openclaw-ipc-doctor-noop'];

export async function checkExecSocket(stateDir: string): Promise<Finding[]> {
  const socketPath = execSocketPath(stateDir);
  const lock = inspectInstanceLock(path.join(stateDir, 'exec-approvals.lock'));
  const missing =
    lock.state === 'live'
      ? failed(
          'exec-socket',
          `${socketPath} is missing although the exec host (pid ${lock.pid}) runs`,
          'Restart the exec host (`openclaw-ipc service restart` or stop and start `openclaw-ipc up`).',
        )
      : warn(
          'exec-socket',
          `${socketPath} does not exist: the exec host is not running`,
          'Start it with `openclaw-ipc up` (or `openclaw-ipc app`); until then nodes cannot run commands.',
        );
  const { findings, served } = await checkSocket('exec-socket', socketPath, missing);
  if (!served) return findings;
  let token: string;
  try {
    token = requireToken(readApprovals(approvalsFilePath(stateDir)) ?? { version: 1 }, approvalsFilePath(stateDir));
  } catch (err) {
    findings.push(
      failed(
        'exec-roundtrip',
        `no socket token: ${(err as Error).message}`,
        'Restart the exec host; it writes the token into exec-approvals.json.',
      ),
    );
    return findings;
  }
  try {
    const result = await dryRunViaSocket({ command: DOCTOR_NOOP_COMMAND }, { socketPath, token, timeoutMs: 5_000 });
    findings.push(
      ok('exec-roundtrip', `signed no-op round trip accepted (policy evaluated: ${result.outcome}; nothing ran)`, {
        ...result,
      }),
    );
  } catch (err) {
    findings.push(
      failed(
        'exec-roundtrip',
        `signed no-op round trip failed: ${(err as Error).message}`,
        'Restart the exec host so it re-reads the token; if it persists, see `openclaw-ipc logs`.',
        { code: (err as { code?: string }).code },
      ),
    );
  }
  return findings;
}

export async function checkBridgeSocket(stateDir: string): Promise<Finding[]> {
  const socketPath = bridgeSocketPath(stateDir);
  const missing = warn(
    'bridge-socket',
    `${socketPath} does not exist: the bridge host is not running`,
    'Start `openclaw-ipc up` (without --no-bridge) if you need UI automation; nothing else depends on it.',
  );
  return (await checkSocket('bridge-socket', socketPath, missing)).findings;
}

export async function checkTcc(): Promise<Finding[]> {
  if (process.platform !== 'darwin') return [];
  const { PERMISSION_NAMES, permissions } = await import('../native/permissions.js');
  const findings: Finding[] = [];
  for (const name of PERMISSION_NAMES) {
    const result = await permissions.statusDetail(name, {});
    findings.push(
      result.status === 'granted'
        ? ok(`tcc:${name}`, `${name}: granted`)
        : warn(
            `tcc:${name}`,
            `${name}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`,
            `Grant it in System Settings › Privacy & Security, or run \`openclaw-mac permissions request ${name}\`.`,
          ),
    );
  }
  return findings;
}

function ownDeviceId(stateDir: string): string | undefined {
  try {
    const device = readJsonFile(path.join(stateDir, 'identity', 'device.json'));
    return isRecord(device) && typeof device.deviceId === 'string' ? device.deviceId : undefined;
  } catch {
    return undefined;
  }
}

export async function checkGateway(stateDir: string): Promise<Finding[]> {
  const probe = await probeGateway(stateDir, 3_000);
  const lock = inspectInstanceLock(path.join(stateDir, 'gateway.lock'));
  if (!probe.reachable) {
    const auth = /unauthorized|token|password/i.test(probe.error ?? '');
    const staleLock =
      lock.state === 'stale' ? ` (its lock names pid ${lock.pid ?? 'unknown'}, which no longer holds it)` : '';
    return [
      failed(
        'gateway',
        `Gateway at ${probe.url} does not answer: ${probe.error}${staleLock}`,
        auth
          ? 'Use the Gateway secret: set OPENCLAW_GATEWAY_TOKEN (or _PASSWORD) or gateway.auth.* in openclaw.json to what the Gateway uses.'
          : 'Start it with `openclaw-ipc up` (or `openclaw-ipc service install`), then check `openclaw-ipc logs`.',
        { url: probe.url, ...(probe.errorCode ? { code: probe.errorCode } : {}) },
      ),
    ];
  }
  const findings = [ok('gateway', `Gateway at ${probe.url} answers (health ok: ${String(probe.health?.ok ?? '?')})`)];
  const deviceId = ownDeviceId(stateDir);
  const node = deviceId ? probe.nodes?.find((n) => n.nodeId === deviceId) : undefined;
  if (!deviceId)
    findings.push(
      warn(
        'node',
        'this state dir has no node identity yet',
        'Start `openclaw-ipc up` (or `openclaw-ipc node run`) to join a node.',
      ),
    );
  else if (node?.connected) findings.push(ok('node', `our node ${deviceId.slice(0, 12)} is connected`));
  else
    findings.push(
      warn(
        'node',
        `our node ${deviceId.slice(0, 12)} is ${node ? 'known but offline' : 'not known to this Gateway'}`,
        'Start `openclaw-ipc up` or `openclaw-ipc node run`; if it runs, see `openclaw-ipc logs` for its connect errors.',
      ),
    );
  return findings;
}

/** Where TLS matters: node.json's Gateway when it uses TLS (or pins), else the local Gateway when wss://. */
function tlsTarget(stateDir: string): { url: string; pin?: string } | undefined {
  const remembered = rememberedGateway(stateDir);
  if (remembered && (remembered.tls || remembered.tlsFingerprint)) {
    const host = remembered.host.includes(':') ? `[${remembered.host}]` : remembered.host;
    return {
      url: `wss://${host}:${remembered.port}`,
      ...(remembered.tlsFingerprint ? { pin: normalizeTlsFingerprint(remembered.tlsFingerprint) } : {}),
    };
  }
  try {
    const target = resolveOperatorTarget({}, { ...process.env, OPENCLAW_STATE_DIR: stateDir });
    return target.url.startsWith('wss://') ? { url: target.url } : undefined;
  } catch {
    return undefined; // the gateway check reports an unusable config
  }
}

/**
 * The SHA-256 of the certificate the Gateway presents, and whether it matches the pin node.json keeps
 * (`gateway.tlsFingerprint`): a mismatch is a fail, as the node host refuses that Gateway before sending
 * anything. No finding for a plain ws:// setup.
 */
export async function checkTls(stateDir: string): Promise<Finding[]> {
  const target = tlsTarget(stateDir);
  if (!target) return [];
  let presented: string;
  try {
    presented = await presentedFingerprint(target.url, 3_000);
  } catch (err) {
    return [
      warn(
        'tls',
        `no TLS handshake with ${target.url}: ${(err as Error).message}`,
        'Start the Gateway with TLS (`openclaw-ipc up` with gateway.tls.enabled), then run doctor again.',
        { url: target.url, ...(target.pin ? { pinned: target.pin } : {}) },
      ),
    ];
  }
  const details = { url: target.url, fingerprintSha256: presented, pinned: target.pin ?? null };
  if (!target.pin)
    return [ok('tls', `Gateway at ${target.url} presents SHA-256 ${presented} (node.json pins none)`, details)];
  if (fingerprintsEqual(presented, target.pin))
    return [
      ok('tls', `Gateway at ${target.url} presents SHA-256 ${presented}, the fingerprint node.json pins`, details),
    ];
  return [
    failed(
      'tls',
      `Gateway at ${target.url} presents SHA-256 ${presented}, but node.json pins ${target.pin}: the node host refuses it`,
      `If the Gateway's certificate was replaced on purpose, run \`openclaw-ipc node run --tls-fingerprint ${presented}\` once; ` +
        `otherwise find out who answers at ${target.url}.`,
      details,
    ),
  ];
}

export async function checkServices(stateDir: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const role of SERVICE_ROLES) {
    const ctx: ServiceContext = { spec: serviceSpec(role, { stateDir }), manager: managerFor() };
    if (!fs.existsSync(definitionPath(ctx))) continue;
    const status = await serviceStatus(ctx);
    const id = `service:${role}`;
    if (status.managerError)
      findings.push(
        warn(
          id,
          `${status.name} is installed, but the service manager did not answer: ${status.managerError}`,
          'Run it in your login session (systemctl --user / launchctl need it).',
        ),
      );
    else if (!status.running)
      findings.push(
        failed(
          id,
          `${status.name} is installed but not running`,
          `Run \`openclaw-ipc service restart --role ${role}\` and read \`openclaw-ipc logs --role ${role}\`.`,
        ),
      );
    else if (!status.current)
      findings.push(
        warn(
          id,
          `${status.name} runs (pid ${status.pid}) from an older definition`,
          `Run \`openclaw-ipc service install --role ${role}\` to rewrite it.`,
        ),
      );
    else findings.push(ok(id, `${status.name} runs (pid ${status.pid})`));
  }
  if (findings.length === 0)
    findings.push(ok('service', 'no service installed (optional: `openclaw-ipc service install`)'));
  return findings;
}
