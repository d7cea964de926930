// openclaw-mac discover [--timeout ms] [--json] [--include-local]
// Browses `_openclaw-gw._tcp` on the local network for a fixed window and lists the Gateways that answered.
import { discoverGateways } from '../../client/discovery.js';
import { ExitCode, networkWaitOption, parseCommandArgs } from '../run.js';

const USAGE = [
  'usage: openclaw-mac discover [--timeout <ms>] [--json] [--include-local]',
  '  --timeout <ms>     discovery window (default 2000, at least 100)',
  '  --include-local    also list Gateways advertised by this machine',
  'example: openclaw-mac discover --timeout 3000 --json',
].join('\n');

const DEFAULT_TIMEOUT_MS = 2_000;
const MIN_TIMEOUT_MS = 100;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    { timeout: { type: 'string' }, json: { type: 'boolean' }, 'include-local': { type: 'boolean' } },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  const timeoutMs = networkWaitOption(values.timeout, DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, USAGE);
  const includeLocal = values['include-local'] === true;
  const result = await discoverGateways({ timeoutMs, includeLocal });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return ExitCode.ok;
  }
  const lines = [
    'Gateway Discovery (mDNS _openclaw-gw._tcp)',
    `Status: ${result.status}`,
    `Found ${result.count} gateway(s)${includeLocal ? '' : ' (local filtered)'}`,
  ];
  for (const gw of result.gateways) {
    const hosts = [gw.tailnetDns, gw.lanHost].filter(Boolean).join(', ');
    lines.push(`- ${gw.displayName}`);
    lines.push(`  hosts: ${hosts || '(none)'}`);
    if (gw.addresses.length > 0) lines.push(`  addresses: ${gw.addresses.join(', ')}`);
    if (gw.wsUrl) lines.push(`  ws: ${gw.wsUrl}`);
    lines.push(`  ssh: ${gw.sshPort}`);
    if (gw.gatewayPort !== undefined) lines.push(`  gatewayPort: ${gw.gatewayPort}`);
    lines.push(`  gatewayTls: ${gw.gatewayTls}`);
    lines.push(`  gatewayDirectReachable: ${gw.gatewayDirectReachable}`);
    if (gw.cliPath) lines.push(`  cliPath: ${gw.cliPath}`);
    lines.push(`  isLocal: ${gw.isLocal}`, `  stableID: ${gw.stableID}`, `  debugID: ${gw.debugID}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return result.status.startsWith('Failed') ? ExitCode.failure : ExitCode.ok;
}
