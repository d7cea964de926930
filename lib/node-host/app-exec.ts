// The node host's path to the app: one signed `exec` over the exec-approvals socket (the exec
// host's client does the socket, owner and peer-uid checks). Any transport failure is `null`,
// which the caller turns into COMPANION_APP_UNAVAILABLE: configured for the app means fail closed.
import type { ApprovalsFile } from '../exec-host/exec-approvals-file.js';
import { EXEC_TIMEOUT_MS, ExecHostClientError, checkSocketFile, execViaSocket } from '../exec-host/client.js';
import type { ExecHostRequest } from '../exec-host/policy.js';

export interface AppExecReply {
  ok: boolean;
  payload?: unknown;
  error?: { code: string; message: string; reason?: string; detail?: string };
}

/** True when the approvals file has a socket token and a socket owned by us exists at its path. */
export function appExecAvailable(socketPath: string, file: ApprovalsFile | undefined): boolean {
  if (!file?.socket?.token) return false;
  try {
    checkSocketFile(socketPath);
    return true;
  } catch {
    return false;
  }
}

export async function execThroughApp(
  socketPath: string,
  file: ApprovalsFile | undefined,
  request: ExecHostRequest,
  options: { timeoutMs?: number; log?: (message: string) => void; signal?: AbortSignal } = {},
): Promise<AppExecReply | null> {
  const token = file?.socket?.token;
  if (!token) return null;
  try {
    const reply = await execViaSocket(request, {
      socketPath,
      token,
      timeoutMs: options.timeoutMs ?? EXEC_TIMEOUT_MS,
      signal: options.signal,
    });
    return reply.ok ? { ok: true, payload: reply.payload } : { ok: false, error: reply.error };
  } catch (err) {
    // Cancelled by our caller: not an unreachable app. The caller reports the cancellation.
    if (err instanceof ExecHostClientError && err.code === 'ERR_EXEC_HOST_CANCELLED') throw err;
    if (err instanceof ExecHostClientError) {
      options.log?.(`exec host unreachable: ${err.message}`);
      return null;
    }
    throw err;
  }
}
