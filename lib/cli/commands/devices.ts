// openclaw-ipc devices [list] | approve <requestId> | reject <requestId>  [--url U] [--tls-fingerprint F] [--json]
// Device pairing, as upstream's `openclaw devices`: a device connecting from another machine (not direct
// loopback) waits in `pending` until an operator approves it; it then reconnects and gets its device token.
import { connectOperator, resolveOperatorTarget } from '../../client/operator.js';
import { ExitCode, OPERATOR_OPTIONS, UsageError, parseCommandArgs, SECRET_FLAGS_NOTE } from '../run.js';

const USAGE =
  `usage: openclaw-ipc devices [list|approve <requestId>|reject <requestId>] [--url wss://…] [--tls-fingerprint SHA256] ` +
  `[--token T | --password P] [--json]\n${SECRET_FLAGS_NOTE}`;

interface PendingDevice {
  requestId: string;
  deviceId: string;
  displayName?: string;
  platform?: string;
  role?: string;
  remoteIp?: string;
  reason?: string;
}

interface PairedDeviceSummary {
  deviceId: string;
  displayName?: string;
  platform?: string;
  roles?: string[];
  role?: string;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, OPERATOR_OPTIONS, USAGE);
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  const [sub = 'list', ...rest] = positionals;
  if (!['list', 'approve', 'reject'].includes(sub))
    throw new UsageError(`unknown devices subcommand ${JSON.stringify(sub)}\n${USAGE}`);
  if (sub !== 'list' && rest.length !== 1) throw new UsageError(`devices ${sub} needs one request id\n${USAGE}`);
  const client = await connectOperator(resolveOperatorTarget(values));
  try {
    if (sub === 'list') {
      const result = await client.request<{ pending?: PendingDevice[]; paired?: PairedDeviceSummary[] }>(
        'device.pair.list',
        {},
      );
      if (values.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return ExitCode.ok;
      }
      const pending = Array.isArray(result?.pending) ? result.pending : [];
      const paired = Array.isArray(result?.paired) ? result.paired : [];
      process.stdout.write(pending.length === 0 ? 'no pending devices\n' : 'pending:\n');
      for (const p of pending) {
        const who = [p.displayName, p.platform, p.role, p.remoteIp && `from ${p.remoteIp}`].filter(Boolean).join(', ');
        process.stdout.write(`  ${p.requestId}  ${p.deviceId.slice(0, 16)}  ${who}  (${p.reason ?? 'not-paired'})\n`);
      }
      process.stdout.write(`paired: ${paired.length}\n`);
      for (const d of paired)
        process.stdout.write(
          `  ${d.deviceId.slice(0, 16)}  ${[d.displayName, d.platform].filter(Boolean).join(', ')}\n`,
        );
      return ExitCode.ok;
    }
    const result = await client.request(`device.pair.${sub}`, { requestId: rest[0] });
    process.stdout.write(
      values.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `${sub === 'approve' ? 'approved' : 'rejected'} ${rest[0]}\n`,
    );
    return ExitCode.ok;
  } finally {
    await client.close();
  }
}
