// openclaw-mac's commands (the bin is lib/cli/mac.ts; tests run this table in-process): what the native
// layer sees on this machine — TCC permissions, code identity and TeamID of a binary or process, and a
// Unix-socket server's credentials as the client sees them.
// On Linux every answer is the honest one (not-applicable / unsupported-platform), not an error.
import net from 'node:net';
import type { ParseArgsConfig } from 'node:util';

import { IpcError } from '../common/errors.js';
import { codeIdentity, verifyTeamId, type CodeIdentity, type CodeTarget } from '../native/code-identity.js';
import { openPeerProcess, peerCredentials, type PeerCredentials } from '../native/peer.js';
import { PERMISSION_NAMES, permissions, type PermissionName, type PermissionResult } from '../native/permissions.js';
import { ExitCode, parseCommandArgs, positiveIntOption, UsageError, type CommandTable } from './run.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** openclaw-mac waits at most ten minutes for anything, a permission prompt included. */
const MAX_MAC_WAIT_MS = 600_000;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** parseCommandArgs with this tool's loosely typed values (usage texts here omit the `usage: ` prefix). */
function parse(
  argv: string[],
  options: ParseArgsConfig['options'],
  usage: string,
): { values: Values; positionals: string[] } | null {
  return parseCommandArgs(argv, options ?? {}, `usage: ${usage}`);
}

function positiveInt(value: unknown, flag: string, max: number): number {
  return positiveIntOption(String(value), flag, max)!;
}

/** Argument validation in lib/native throws TypeError: for a command line that is a usage error (exit 2). */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
}

function print(json: boolean, data: unknown, lines: () => string[]): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${lines().join('\n')}\n`);
}

const yesNo = (v: boolean): string => (v ? 'yes' : 'no');

// ---- permissions ---------------------------------------------------------------------------

const PERMISSIONS_USAGE = `openclaw-mac permissions [status|request] [${PERMISSION_NAMES.join('|')} …] [--target <bundle id>] [--timeout <ms>] [--json]`;

async function permissionsMain(argv: string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      json: { type: 'boolean' },
      target: { type: 'string' },
      timeout: { type: 'string' },
    },
    PERMISSIONS_USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  let action: 'status' | 'request' = 'status';
  let names = positionals;
  if (names[0] === 'status' || names[0] === 'request') {
    action = names[0];
    names = names.slice(1);
  }
  for (const name of names) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown permission '${name}' (expected ${PERMISSION_NAMES.join(', ')})`);
    }
  }
  const selected = (names.length > 0 ? [...new Set(names)] : [...PERMISSION_NAMES]) as PermissionName[];
  const timeoutMs =
    values.timeout === undefined ? undefined : positiveInt(values.timeout, '--timeout', MAX_MAC_WAIT_MS);
  const target = values.target as string | undefined;
  if (target !== undefined && !selected.includes('appleScript')) {
    throw new UsageError('--target applies to appleScript only');
  }

  const results: Partial<Record<PermissionName, PermissionResult>> = {};
  // One at a time: a request may show a system prompt, and prompts must not pile up.
  for (const name of selected) {
    const opts = {
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(name === 'appleScript' && target !== undefined ? { targetBundleId: target } : {}),
    };
    results[name] = await asUsage(() =>
      action === 'request' ? permissions.requestDetail(name, opts) : permissions.statusDetail(name, opts),
    );
  }
  const width = Math.max(...selected.map((n) => n.length));
  print(values.json === true, { platform: process.platform, action, permissions: results }, () =>
    selected.map((name) => {
      const r = results[name]!;
      const detail = [r.reason, r.osStatus !== undefined ? `OSStatus ${r.osStatus}` : undefined]
        .filter(Boolean)
        .join(', ');
      return `${name.padEnd(width)}  ${r.status}${detail ? `  (${detail})` : ''}`;
    }),
  );
  return ExitCode.ok;
}

// ---- identity / verify-team ----------------------------------------------------------------

function codeTarget(values: Values, positionals: string[], usage: string): { target: CodeTarget; label: string } {
  if (values.pid !== undefined) {
    if (positionals.length > 0) throw new UsageError(`give a path or --pid, not both\nusage: ${usage}`);
    const pid = positiveInt(values.pid, '--pid', 0x7fffffff);
    return { target: { pid }, label: `pid ${pid}` };
  }
  if (positionals.length !== 1) throw new UsageError(`expected exactly one path or --pid N\nusage: ${usage}`);
  return { target: { path: positionals[0] }, label: positionals[0] };
}

function identityLines(id: CodeIdentity): string[] {
  const lines = [
    `executable: ${id.executable}`,
    ...(id.pid !== undefined ? [`pid:        ${id.pid}`] : []),
    `signed:     ${yesNo(id.signed)}`,
    `valid:      ${yesNo(id.valid)}`,
    `team id:    ${id.teamId ?? '(none)'}`,
    `signing id: ${id.signingId ?? '(none)'}`,
  ];
  if (id.cdhash) lines.push(`cdhash:     ${id.cdhash}`);
  if (id.sha256) lines.push(`sha256:     ${id.sha256}`);
  if (id.reason) lines.push(`reason:     ${id.reason}${id.osStatus !== undefined ? ` (OSStatus ${id.osStatus})` : ''}`);
  return lines;
}

const IDENTITY_USAGE = 'openclaw-mac identity <path|--pid N> [--json]';

async function identityMain(argv: string[]): Promise<number> {
  const parsed = parse(argv, { json: { type: 'boolean' }, pid: { type: 'string' } }, IDENTITY_USAGE);
  if (!parsed) return ExitCode.ok;
  const { target } = codeTarget(parsed.values, parsed.positionals, IDENTITY_USAGE);
  const id = await asUsage(() => codeIdentity(target));
  print(parsed.values.json === true, id, () => [`platform:   ${id.platform}`, ...identityLines(id)]);
  return ExitCode.ok;
}

const VERIFY_USAGE =
  'openclaw-mac verify-team <path|--pid N> --team TEAMID [--team TEAMID …] [--signing-id ID] [--json]';

async function verifyTeamMain(argv: string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      json: { type: 'boolean' },
      pid: { type: 'string' },
      team: { type: 'string', multiple: true },
      'signing-id': { type: 'string' },
    },
    VERIFY_USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  const { target, label } = codeTarget(values, positionals, VERIFY_USAGE);
  const teams = (values.team as string[] | undefined) ?? [];
  if (teams.length === 0) throw new UsageError(`--team is required\nusage: ${VERIFY_USAGE}`);
  const signingId = values['signing-id'] as string | undefined;
  const result = await asUsage(() => verifyTeamId(target, teams, signingId !== undefined ? { signingId } : {}));
  print(values.json === true, { platform: process.platform, target: label, allowedTeamIds: teams, ...result }, () =>
    result.ok
      ? [`ok: ${label} is signed by team ${result.teamId} (signing id ${result.signingId})`]
      : [`refused: ${label}: ${result.reason}${result.osStatus !== undefined ? ` (OSStatus ${result.osStatus})` : ''}`],
  );
  return result.ok ? ExitCode.ok : ExitCode.denied;
}

// ---- peercred ------------------------------------------------------------------------------

const PEERCRED_USAGE = 'openclaw-mac peercred --socket <path> [--timeout <ms>] [--json]';

/** Connects with a deadline; the socket is only connected, never read from. */
function connectUnix(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new IpcError('ETIMEDOUT', `connect ${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
  });
}

interface PeercredReport {
  platform: NodeJS.Platform;
  socket: string;
  pid?: number;
  uid: number;
  gid: number;
  pidReliable: boolean;
  pidVersion?: number;
  auditToken?: string;
  /** Linux: the server's executable, read through its pidfd (absent when that is not possible). */
  executable?: string;
}

function describeServer(sock: net.Socket, socketPath: string): PeercredReport {
  const cred: PeerCredentials = peerCredentials(sock);
  const report: PeercredReport = {
    platform: process.platform,
    socket: socketPath,
    uid: cred.uid,
    gid: cred.gid,
    pidReliable: cred.pidReliable,
  };
  if (cred.pid !== undefined) report.pid = cred.pid;
  if (cred.pidVersion !== undefined) report.pidVersion = cred.pidVersion;
  if (cred.auditToken) report.auditToken = cred.auditToken.toString('hex');
  if (process.platform === 'linux') {
    const peer = openPeerProcess(sock);
    try {
      report.executable = peer.executable();
    } catch {
      // No pidfd (old kernel) or the server already exited: say nothing rather than guess from the pid.
    } finally {
      peer.close();
    }
  }
  return report;
}

async function peercredMain(argv: string[]): Promise<number> {
  const parsed = parse(
    argv,
    { json: { type: 'boolean' }, socket: { type: 'string' }, timeout: { type: 'string' } },
    PEERCRED_USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${PEERCRED_USAGE}`);
  const socketPath = values.socket as string | undefined;
  if (!socketPath) throw new UsageError(`--socket is required\nusage: ${PEERCRED_USAGE}`);
  const timeoutMs =
    values.timeout === undefined
      ? DEFAULT_CONNECT_TIMEOUT_MS
      : positiveInt(values.timeout, '--timeout', MAX_MAC_WAIT_MS);
  const sock = await connectUnix(socketPath, timeoutMs);
  let report: PeercredReport;
  try {
    report = describeServer(sock, socketPath);
  } finally {
    sock.destroy();
  }
  print(values.json === true, report, () => [
    `socket:       ${report.socket}`,
    `server pid:   ${report.pid ?? '(unknown)'}${report.pidReliable ? '' : ' (not pinned: the pid may be reused)'}`,
    `server uid:   ${report.uid}`,
    `server gid:   ${report.gid}`,
    ...(report.pidVersion !== undefined ? [`pid version:  ${report.pidVersion}`] : []),
    ...(report.auditToken ? [`audit token:  ${report.auditToken}`] : []),
    ...(report.executable ? [`executable:   ${report.executable}`] : []),
  ]);
  return ExitCode.ok;
}

export const macCommands: CommandTable = {
  connect: {
    summary:
      'open a Gateway session with a device identity and print its health: connect [--url ws://…] [--probe] [--json]',
    load: () => import('./commands/connect.js'),
  },
  discover: {
    summary: 'find Gateways on the local network (mDNS _openclaw-gw._tcp): discover [--timeout ms] [--json]',
    load: () => import('./commands/discover.js'),
  },
  doctor: {
    summary: 'check the state dir, sockets, locks, Gateway and service; a fix for each problem: doctor [--json]',
    load: () => import('./commands/doctor.js'),
  },
  permissions: {
    summary: 'TCC permission status, or request them: permissions [status|request] [name…] [--json]',
    load: async () => ({ main: permissionsMain }),
  },
  identity: {
    summary: 'code identity (signature, TeamID, CDHash) of a file or process: identity <path|--pid N> [--json]',
    load: async () => ({ main: identityMain }),
  },
  'verify-team': {
    summary:
      'does it satisfy an Apple TeamID requirement? verify-team <path|--pid N> --team TEAMID [--json]; exit 4 when not',
    load: async () => ({ main: verifyTeamMain }),
  },
  peercred: {
    summary: "a Unix socket server's credentials as the client sees them: peercred --socket <path> [--json]",
    load: async () => ({ main: peercredMain }),
  },
};

const EXAMPLES: Record<string, string> = {
  connect: 'connect --probe --json',
  discover: 'discover --timeout 3000 --json',
  doctor: 'doctor --json',
  permissions: 'permissions status --json',
  identity: 'identity /usr/bin/ssh --json',
  'verify-team': 'verify-team /Applications/OpenClaw.app --team Y5PE65HELJ',
  peercred: 'peercred --socket ~/.openclaw/exec-approvals.sock --json',
};
for (const [name, example] of Object.entries(EXAMPLES)) if (macCommands[name]) macCommands[name].example = example;
