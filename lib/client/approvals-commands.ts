// `openclaw-ipc approvals pending | approve <id> [--always] | deny <id>`: approvals waiting in the
// Gateway (exec.approval.list / exec.approval.resolve), as entries for the approvals subcommand table.
import type { ApprovalsSubcommand } from '../cli/commands/approvals.js';
import { ExitCode, UsageError } from '../cli/run.js';
import { connectOperator, resolveOperatorTarget } from './operator.js';

interface ListedApproval {
  id: string;
  request?: Record<string, unknown>;
  createdAtMs?: number;
  expiresAtMs?: number;
  allowedDecisions?: string[];
}

function describe(request: Record<string, unknown> | undefined): string {
  if (!request) return '';
  const command =
    typeof request.command === 'string'
      ? request.command
      : Array.isArray(request.commandArgv)
        ? (request.commandArgv as string[]).join(' ')
        : '';
  const where =
    typeof request.nodeId === 'string'
      ? `node ${request.nodeId.slice(0, 12)}`
      : typeof request.host === 'string'
        ? request.host
        : '';
  return [command, where ? `(${where})` : ''].filter(Boolean).join(' ');
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
    },
  };
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
        const result = await client.request<{ approvals?: ListedApproval[] }>('exec.approval.list', {});
        approvals = Array.isArray(result?.approvals) ? result.approvals : [];
      } finally {
        await client.close();
      }
      if (ctx.json) {
        ctx.out(`${JSON.stringify({ approvals }, null, 2)}\n`);
      } else if (approvals.length === 0) {
        ctx.out('no pending approvals\n');
      } else {
        const now = Date.now();
        for (const a of approvals) {
          const left =
            typeof a.expiresAtMs === 'number' ? `${Math.max(0, Math.round((a.expiresAtMs - now) / 1000))}s left` : '';
          ctx.out(`${a.id}  ${describe(a.request)}  ${left}\n`);
        }
      }
      return ExitCode.ok;
    },
  },
  approve: resolver((always) => (always ? 'allow-always' : 'allow-once'), 'approve', ['always']),
  deny: resolver(() => 'deny', 'deny', []),
};
