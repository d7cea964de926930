// Client side of the exec-approvals socket (what a node host uses). Before a single byte is sent it
// checks that the path is a socket owned by us and that the process that accepted the connection
// runs as our uid (connect() follows symlinks; a planted socket must never see the token or a MAC).
import crypto from 'node:crypto';
import net from 'node:net';

import { IpcError } from '../common/errors.js';
import { encodeLine, parseUntrustedJson, readLine } from '../common/jsonl.js';
import { APPROVAL_DECISIONS, type ApprovalDecision } from '../common/approval-queue.js';
import { inspectServerUid, inspectSocketFile } from '../native/socket-owner.js';
import { resolveStateDir } from '../common/state-dir.js';
import { approvalsFilePath, readApprovals, requireToken, socketPathFor } from './exec-approvals-file.js';
import { newNonce, signExecRequest } from './hmac.js';
import type { ExecHostRequest } from './policy.js';
import type { ExecResult } from './runner.js';

export class ExecHostClientError extends IpcError {}

/** OpenClaw's client timeouts: `exec` 20 s, `request` 15 s. */
export const EXEC_TIMEOUT_MS = 20_000;
export const APPROVAL_TIMEOUT_MS = 15_000;
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

export interface SocketClientOptions {
  socketPath: string;
  token: string;
  timeoutMs?: number;
  /**
   * Aborting closes the connection (ERR_EXEC_HOST_CANCELLED): the exec host then withdraws the prompt,
   * drops the queued request or kills the running command.
   */
  signal?: AbortSignal;
}

export interface ExecHostError {
  code: string;
  message: string;
  reason?: string;
  /** Our exec host: why, in words (who denied, or that nobody answered and which askFallback applied). */
  detail?: string;
}

export type ExecHostResponse =
  | { type: 'exec-res'; id: string; ok: true; payload: ExecResult }
  | { type: 'exec-res'; id: string; ok: false; error: ExecHostError };

export interface ApprovalSocketRequest {
  command: string;
  cwd?: string;
  host?: string;
  security?: string;
  ask?: string;
  agentId?: string;
  resolvedPath?: string;
  sessionKey?: string;
  allowedDecisions?: ApprovalDecision[];
}

/** Socket path and token from `<stateDir>/exec-approvals.json` (throws when missing or unsafe). */
export function loadClientConfig(stateDir = resolveStateDir()): { socketPath: string; token: string } {
  const file = approvalsFilePath(stateDir);
  const data = readApprovals(file);
  if (!data)
    throw new ExecHostClientError('ERR_APPROVALS_MISSING', `${file} does not exist (is the exec host running?)`);
  return { socketPath: socketPathFor(data, stateDir), token: requireToken(data, file) };
}

/** The exact `exec` line: requestJson is serialised once and MAC'd as sent. */
export function buildExecLine(
  request: ExecHostRequest,
  token: string,
  overrides: { id?: string; nonce?: string; ts?: number } = {},
): { id: string; line: string } {
  const id = overrides.id ?? crypto.randomUUID();
  const nonce = overrides.nonce ?? newNonce();
  const ts = overrides.ts ?? Date.now();
  const requestJson = JSON.stringify(request);
  const hmac = signExecRequest(token, nonce, ts, requestJson);
  return { id, line: encodeLine({ type: 'exec', id, nonce, ts, hmac, requestJson }) };
}

/** A socket (not a symlink to one) owned by our euid, else ExecHostClientError. */
export function checkSocketFile(socketPath: string, uid: number = process.geteuid?.() ?? -1): void {
  const check = inspectSocketFile(socketPath, uid, { followSymlinks: false });
  if (check.ok) return;
  switch (check.problem) {
    case 'missing':
      throw new ExecHostClientError('ERR_SOCKET_NOT_FOUND', `exec host socket ${socketPath} not found`, {
        cause: check.error,
      });
    case 'owner':
      throw new ExecHostClientError(
        'ERR_SOCKET_OWNER',
        `refusing ${socketPath}: owned by uid ${check.uid}, not ${uid}`,
      );
    case 'not-socket':
      throw new ExecHostClientError(
        'ERR_SOCKET_NOT_SOCKET',
        `refusing ${socketPath}: not a socket${check.symlink ? ' (a symbolic link)' : ''}`,
      );
  }
}

/**
 * Connects, verifies the server's uid, writes `line`, half-closes, and waits for the reply line that
 * `accept` recognises. All within `timeoutMs` (ERR_EXEC_HOST_TIMEOUT).
 */
export async function exchangeLine(
  socketPath: string,
  line: string,
  accept: (msg: Record<string, unknown>) => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const uid = process.geteuid?.() ?? -1;
  checkSocketFile(socketPath, uid);
  const cancelled = (): ExecHostClientError =>
    new ExecHostClientError('ERR_EXEC_HOST_CANCELLED', 'cancelled: the request was withdrawn by its caller');
  if (signal?.aborted) throw cancelled();
  const deadline = Date.now() + timeoutMs;
  const socket = await connectWithRetry(socketPath, deadline, timeoutMs);
  const onAbort = (): void => {
    socket.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw cancelled();
    const server = inspectServerUid(socket, uid);
    if (!server.ok && server.problem === 'unverifiable') {
      throw new ExecHostClientError(
        'ERR_PEER_UNVERIFIABLE',
        `cannot verify the exec host's uid: ${server.error.message}`,
        { cause: server.error },
      );
    }
    if (!server.ok && server.problem === 'uid') {
      throw new ExecHostClientError(
        'ERR_PEER_UID',
        `refusing exec host on ${socketPath}: it runs as uid ${server.uid}`,
      );
    }
    socket.end(line);
    let reply: Record<string, unknown> | undefined;
    try {
      await readLine(socket, {
        maxLineBytes: MAX_REPLY_BYTES,
        timeoutMs: Math.max(1, deadline - Date.now()),
        accept: (text) => {
          try {
            const msg = parseUntrustedJson(text);
            if (
              typeof msg === 'object' &&
              msg !== null &&
              !Array.isArray(msg) &&
              accept(msg as Record<string, unknown>)
            ) {
              reply = msg as Record<string, unknown>;
              return true;
            }
          } catch {
            // not JSON: keep reading
          }
          return false;
        },
      });
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      const code = (err as IpcError).code === 'ERR_READ_TIMEOUT' ? 'ERR_EXEC_HOST_TIMEOUT' : 'ERR_EXEC_HOST_CLOSED';
      throw new ExecHostClientError(code, `no reply from the exec host: ${(err as Error).message}`, { cause: err });
    }
    return reply as Record<string, unknown>;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/**
 * connect() with retries while the listen backlog is full (EAGAIN on a Unix socket), until the deadline.
 */
async function connectWithRetry(socketPath: string, deadline: number, timeoutMs: number): Promise<net.Socket> {
  for (let attempt = 0; ; attempt++) {
    const socket = net.connect(socketPath);
    socket.on('error', () => {
      /* surfaced through the awaits below */
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new ExecHostClientError('ERR_EXEC_HOST_TIMEOUT', `no connection to ${socketPath} within ${timeoutMs} ms`),
            ),
          Math.max(1, deadline - Date.now()),
        );
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      return socket;
    } catch (err) {
      socket.destroy();
      if (err instanceof ExecHostClientError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && Date.now() + 10 < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(100, 5 * (attempt + 1))));
        continue;
      }
      throw new ExecHostClientError('ERR_CONNECT', `cannot connect to ${socketPath}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/** Sends one signed `exec` and resolves to the `exec-res` reply. */
export async function execViaSocket(request: ExecHostRequest, options: SocketClientOptions): Promise<ExecHostResponse> {
  const { id, line } = buildExecLine(request, options.token);
  const reply = await exchangeLine(
    options.socketPath,
    line,
    (msg) => (msg.type === 'exec-res' && msg.id === id) || msg.type === 'decision',
    options.timeoutMs ?? EXEC_TIMEOUT_MS,
    options.signal,
  );
  if (reply.type === 'decision') {
    // The server refused our connection outright (peer check) before reading the request.
    throw new ExecHostClientError('ERR_PEER_DENIED', 'the exec host refused this connection');
  }
  return reply as unknown as ExecHostResponse;
}

export interface DryRunResult {
  dryRun: true;
  /** What the exec host would do with this request: allow (run), deny, or prompt a human. */
  outcome: 'allow' | 'deny' | 'prompt';
  reason?: string;
  security?: string;
  ask?: string;
  file?: string;
}

/**
 * A signed `exec` with dryRun: proves the socket, the server's uid, the token (HMAC) and the replay cache
 * work end to end, and that the policy is readable, while nothing is prompted or run.
 */
export async function dryRunViaSocket(
  request: Omit<ExecHostRequest, 'dryRun'>,
  options: SocketClientOptions,
): Promise<DryRunResult> {
  const reply = await execViaSocket({ ...request, dryRun: true }, options);
  if (!reply.ok)
    throw new ExecHostClientError(
      reply.error.code,
      `${reply.error.message}${reply.error.reason ? ` (${reply.error.reason})` : ''}`,
    );
  const payload = reply.payload as unknown as Partial<DryRunResult>;
  if (payload?.dryRun !== true)
    throw new ExecHostClientError(
      'ERR_DRY_RUN_UNSUPPORTED',
      'the exec host does not support dry runs (it ran the request?)',
    );
  return payload as DryRunResult;
}

/** Sends a plain `request` (prompt) and resolves to the human's decision. */
export async function requestApprovalViaSocket(
  request: ApprovalSocketRequest,
  options: SocketClientOptions,
): Promise<ApprovalDecision> {
  const id = crypto.randomUUID();
  const line = encodeLine({ type: 'request', token: options.token, id, request });
  const reply = await exchangeLine(
    options.socketPath,
    line,
    (msg) => msg.type === 'decision',
    options.timeoutMs ?? APPROVAL_TIMEOUT_MS,
    options.signal,
  );
  // Fail closed: a reply for another id, or a decision outside the known vocabulary, is a deny.
  const decision = APPROVAL_DECISIONS.find((d) => d === reply.decision);
  return reply.id === id && decision ? decision : 'deny';
}
