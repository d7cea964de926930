// `openclaw-ipc approvals <sub>`: show and edit exec-approvals.json. Subcommands are a table so
// more (pending | approve | deny) can be added as entries.
import { ensurePrivateDir, resolveStateDir } from '../../common/state-dir.js';
import {
  ASK_VALUES,
  SECURITY_VALUES,
  addAllowlistPattern,
  agentSection,
  approvalsFilePath,
  readApprovals,
  redactApprovals,
  socketPathFor,
  updateApprovals,
  type Ask,
  type Security,
} from '../../exec-host/exec-approvals-file.js';
import { allowlistAdvice } from '../../exec-host/allowlist-advice.js';
import { globToRegExp, resolveEffectivePolicy } from '../../exec-host/policy.js';
import { ExitCode, UsageError, parseCommandArgs } from '../run.js';
import { gatewayApprovalSubcommands } from './approvals-pending.js';
import type { ApprovalsSubcommand } from './approvals-subcommand.js';

function requireOneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join('|')}`);
  return value as T;
}

export const subcommands: Record<string, ApprovalsSubcommand> = {
  show: {
    usage: 'show [--agent ID] [--json]',
    valued: ['agent'],
    run: async (ctx) => {
      const data = readApprovals(ctx.file);
      const agentId = ctx.option('agent') ?? 'main';
      const effective = resolveEffectivePolicy(data, agentId);
      const summary = {
        file: ctx.file,
        exists: data !== undefined,
        socketPath: socketPathFor(data ?? { version: 1 }, ctx.stateDir),
        effective: {
          agentId,
          security: effective.security,
          ask: effective.ask,
          askFallback: effective.askFallback,
          allowlist: effective.allowlist.map(({ entry, sectionKey }) => ({ agent: sectionKey, ...entry })),
        },
        config: data ? redactApprovals(data) : null,
      };
      if (ctx.json) {
        ctx.out(`${JSON.stringify(summary, null, 2)}\n`);
        return ExitCode.ok;
      }
      const lines = [
        `file:        ${ctx.file}${data ? '' : ' (missing: project defaults apply)'}`,
        `socket:      ${summary.socketPath}`,
        `agent:       ${agentId}`,
        `security:    ${effective.security}`,
        `ask:         ${effective.ask}`,
        `askFallback: ${effective.askFallback}`,
        'allowlist:',
        ...(effective.allowlist.length === 0
          ? ['  (empty)']
          : effective.allowlist.map(
              ({ entry, sectionKey }) =>
                `  ${entry.id ?? '-'}  [${sectionKey}] ${entry.pattern}${entry.lastUsedAt ? `  last used ${new Date(entry.lastUsedAt).toISOString()}` : ''}`,
            )),
      ];
      ctx.out(`${lines.join('\n')}\n`);
      return ExitCode.ok;
    },
  },
  set: {
    usage:
      'set [--security deny|allowlist|full] [--ask off|on-miss|always] [--ask-fallback deny|allowlist|full] [--agent ID]',
    valued: ['security', 'ask', 'ask-fallback', 'agent'],
    run: async (ctx) => {
      const security = requireOneOf<Security>(ctx.option('security'), SECURITY_VALUES, 'security');
      const ask = requireOneOf<Ask>(ctx.option('ask'), ASK_VALUES, 'ask');
      const askFallback = requireOneOf<Security>(ctx.option('ask-fallback'), SECURITY_VALUES, 'ask-fallback');
      if (!security && !ask && !askFallback)
        throw new UsageError('set needs at least one of --security, --ask, --ask-fallback');
      const agent = ctx.option('agent');
      const data = updateApprovals(ctx.file, (d) => {
        const section = agent ? agentSection(d, agent) : (d.defaults ??= {});
        if (security) section.security = security;
        if (ask) section.ask = ask;
        if (askFallback) section.askFallback = askFallback;
      });
      const section = agent ? data.agents?.[agent] : data.defaults;
      ctx.out(
        ctx.json
          ? `${JSON.stringify({ ok: true, scope: agent ?? 'defaults', section })}\n`
          : `updated ${agent ? `agents.${agent}` : 'defaults'} in ${ctx.file}\n`,
      );
      return ExitCode.ok;
    },
  },
  allow: {
    usage:
      'allow <pattern> [--agent ID]   (pattern: a glob over the resolved executable path, e.g. /usr/bin/git or ~/bin/*)',
    valued: ['agent'],
    run: async (ctx) => {
      const [pattern] = ctx.positionals;
      if (!pattern || ctx.positionals.length !== 1) throw new UsageError('allow takes exactly one pattern');
      if (!globToRegExp(pattern))
        throw new UsageError(
          `pattern ${JSON.stringify(pattern)} would never match: use an absolute path, a ~/ path or *`,
        );
      const agent = ctx.option('agent') ?? 'main';
      // Said before it is written, so the user learns what a glob or an interpreter entry really allows.
      const advice = allowlistAdvice(pattern);
      let entry;
      updateApprovals(ctx.file, (d) => {
        entry = addAllowlistPattern(d, agent, pattern);
      });
      if (ctx.json) {
        ctx.out(`${JSON.stringify({ ok: true, agent, entry, ...advice })}\n`);
        return ExitCode.ok;
      }
      const lines = [`allowed ${pattern} for agent ${agent}`, ...advice.warnings.map((w) => `warning: ${w}`)];
      if (advice.suggestions.length > 0 && advice.notCovered.length > 0)
        lines.push(
          `exact entries instead of the glob (what it covers now): ${advice.suggestions.slice(0, 8).join(' ')}${advice.suggestions.length > 8 ? ' …' : ''}`,
        );
      ctx.out(`${lines.join('\n')}\n`);
      return ExitCode.ok;
    },
  },
  remove: {
    usage: 'remove <id|pattern> [--agent ID]',
    valued: ['agent'],
    run: async (ctx) => {
      const [target] = ctx.positionals;
      if (!target || ctx.positionals.length !== 1) throw new UsageError('remove takes exactly one id or pattern');
      const agent = ctx.option('agent');
      let removed = 0;
      updateApprovals(ctx.file, (d) => {
        for (const [key, section] of Object.entries(d.agents ?? {})) {
          if (agent && key !== agent) continue;
          const before = section.allowlist?.length ?? 0;
          if (!section.allowlist) continue;
          section.allowlist = section.allowlist.filter((e) => e.id !== target && e.pattern !== target);
          removed += before - section.allowlist.length;
        }
        return removed > 0;
      });
      ctx.out(
        ctx.json
          ? `${JSON.stringify({ ok: removed > 0, removed })}\n`
          : removed > 0
            ? `removed ${removed} entr${removed === 1 ? 'y' : 'ies'}\n`
            : `no allowlist entry matches ${target}\n`,
      );
      return removed > 0 ? ExitCode.ok : ExitCode.failure;
    },
  },
  // Approvals waiting in the Gateway: pending | approve <id> | deny <id> | resolve <id> <decision>.
  ...gatewayApprovalSubcommands,
};

/** Upstream's names for the same subcommands: `get`, `allowlist add|remove <pattern>`. */
const ALIASES: Record<string, string> = { get: 'show', 'allowlist add': 'allow', 'allowlist remove': 'remove' };

function usage(): string {
  return [
    'usage: openclaw-ipc approvals <subcommand> [--state-dir DIR] [--json]',
    ...Object.values(subcommands).map((s) => `  ${s.usage}`),
    `  upstream names: ${Object.entries(ALIASES)
      .map(([alias, target]) => `${alias} = ${target}`)
      .join(', ')}`,
    'example: openclaw-ipc approvals allowlist add /usr/bin/git',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let [name = 'show', ...rest] = argv[0]?.startsWith('--') ? ['show', ...argv] : argv;
  if (name === 'allowlist') {
    const [verb, ...after] = rest;
    if (verb !== 'add' && verb !== 'remove')
      throw new UsageError(`usage: openclaw-ipc approvals allowlist add|remove <pattern> [--agent ID]\n${usage()}`);
    [name, rest] = [`allowlist ${verb}`, after];
  }
  name = ALIASES[name] ?? name;
  if (name === 'help' || argv.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    return ExitCode.ok;
  }
  const sub = Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
  if (!sub) throw new UsageError(`unknown approvals subcommand '${name}'\n${usage()}`);
  const options = Object.fromEntries([
    ...['state-dir', ...(sub.valued ?? [])].map((name) => [name, { type: 'string' }] as const),
    ...['json', ...(sub.flags ?? [])].map((name) => [name, { type: 'boolean' }] as const),
  ]);
  const args = parseCommandArgs(rest, options, `usage: openclaw-ipc approvals ${sub.usage}`);
  if (!args) return ExitCode.ok;
  const values = args.values as Record<string, string | boolean | undefined>;
  const option = (name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);
  const stateDir = option('state-dir') ?? resolveStateDir();
  ensurePrivateDir(stateDir);
  return sub.run({
    option,
    flag: (name) => values[name] === true,
    positionals: args.positionals,
    stateDir,
    file: approvalsFilePath(stateDir),
    json: values.json === true,
    out: (text) => process.stdout.write(text),
  });
}
