// `openclaw-ipc approvals pending | approve <id> [--always] | deny <id>`: approvals waiting in the
// Gateway (exec.approval.list / exec.approval.resolve), as entries for the approvals subcommand table.
import { displayApprovalCommand, displayString } from '../../common/argv-display.js';
import { connectOperator, resolveOperatorTarget } from '../../client/operator.js';
import { ExitCode, UsageError } from '../run.js';
import type { ApprovalsSubcommand } from './approvals-subcommand.js';

interface ListedApproval {
  id: string;
  request?: Record<string, unknown>;
  createdAtMs?: number;
  expiresAtMs?: number;
  allowedDecisions?: string[];
}

/**
 * One pending approval as a line: id, the command (escaped argv: lib/common/argv-display.ts), where it
 * would run, time left. Every field an untrusted requester chose is escaped: one line per approval, always.
 */
function describe(approval: ListedApproval, now: number): string {
  const request = approval.request;
  const where =
    typeof request?.nodeId === 'string'
      ? `node ${displayString(request.nodeId, { maxChars: 12 })}`
      : typeof request?.host === 'string'
        ? displayString(request.host, { maxChars: 40 })
        : '';
  const cwd = typeof request?.cwd === 'string' ? `in ${displayString(request.cwd, { maxChars: 200 })}` : '';
  const left =
    typeof approval.expiresAtMs === 'number'
      ? `${Math.max(0, Math.round((approval.expiresAtMs - now) / 1000))}s left`
      : '';
  return [
    displayString(String(approval.id), { maxChars: 80 }),
    displayApprovalCommand(request),
    [where && `(${where})`, cwd].filter(Boolean).join(' '),
    left,
  ]
    .filter(Boolean)
    .join('  ');
}

function resolver(
  decision: (always: boolean) => 'allow-once' | 'allow-always' | 'deny',
  name: string,
  flags: readonly string[],
): ApprovalsSubcommand {
  return {
    usage: `${name} <id>${flags.includes('always') ? ' [--always]' : ''} [--url ws://…] [--token T | --password P]`,
    valued: ['url', 'token', 'password'],
    flags,
    run: async (ctx) => {
      const [id] = ctx.positionals;
      if (!id || ctx.positionals.length !== 1) throw new UsageError(`approvals ${name} takes exactly one approval id`);
      const chosen = decision(ctx.flag('always'));
      return sendDecision(ctx, id, chosen);
    },
  };
}

/** Resolves one approval on the Gateway and prints what was decided. */
async function sendDecision(
  ctx: Parameters<ApprovalsSubcommand['run']>[0],
  id: string,
  chosen: 'allow-once' | 'allow-always' | 'deny',
): Promise<number> {
  const client = await connectOperator(
    resolveOperatorTarget({ url: ctx.option('url'), token: ctx.option('token'), password: ctx.option('password') }),
  );
  try {
    await client.request('exec.approval.resolve', { id, decision: chosen });
  } finally {
    await client.close();
  }
  ctx.out(ctx.json ? `${JSON.stringify({ ok: true, id, decision: chosen })}\n` : `${id}: ${chosen}\n`);
  return ExitCode.ok;
}

export const gatewayApprovalSubcommands: Record<string, ApprovalsSubcommand> = {
  pending: {
    usage: 'pending [--url ws://…] [--token T | --password P] [--json]',
    valued: ['url', 'token', 'password'],
    run: async (ctx) => {
      const client = await connectOperator(
        resolveOperatorTarget({ url: ctx.option('url'), token: ctx.option('token'), password: ctx.option('password') }),
      );
      let approvals: ListedApproval[];
      try {
        // A bare array (upstream's shape); older Gateways of ours answered {approvals: [...]}.
        const result = await client.request<ListedApproval[] | { approvals?: ListedApproval[] }>(
          'exec.approval.list',
          {},
        );
        approvals = Array.isArray(result) ? result : Array.isArray(result?.approvals) ? result.approvals : [];
      } finally {
        await client.close();
      }
      if (ctx.json) {
        ctx.out(`${JSON.stringify({ approvals }, null, 2)}\n`);
      } else if (approvals.length === 0) {
        ctx.out('no pending approvals\n');
      } else {
        const now = Date.now();
        for (const a of approvals) ctx.out(`${describe(a, now)}\n`);
      }
      return ExitCode.ok;
    },
  },
  approve: resolver((always) => (always ? 'allow-always' : 'allow-once'), 'approve', ['always']),
  deny: resolver(() => 'deny', 'deny', []),
  // Upstream's spelling: `approvals resolve <id> <allow-once|allow-always|deny>`.
  resolve: {
    usage: 'resolve <id> <allow-once|allow-always|deny> [--url ws://…] [--token T | --password P]',
    valued: ['url', 'token', 'password'],
    run: async (ctx) => {
      const [id, decision] = ctx.positionals;
      if (!id || !decision || ctx.positionals.length !== 2)
        throw new UsageError('approvals resolve takes an approval id and a decision');
      const chosen = (['allow-once', 'allow-always', 'deny'] as const).find((d) => d === decision);
      if (!chosen) throw new UsageError('Decision must be one of: allow-once, allow-always, deny.');
      return sendDecision(ctx, id, chosen);
    },
  },
};
