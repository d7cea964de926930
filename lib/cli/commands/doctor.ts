// doctor [--state-dir DIR] [--json] (openclaw-ipc doctor and openclaw-mac doctor): checks the state dir, its
// private files, the lock files, the exec and bridge sockets (with a signed no-op round trip), TCC on
// macOS, the Gateway and our node, and installed services. Exit 1 when any finding fails.
import { resolveStateDir } from '../../common/state-dir.js';
import { runDoctor } from '../../doctor/index.js';
import { ExitCode, parseCommandArgs } from '../run.js';
import { paint } from '../style.js';

const USAGE = [
  'usage: doctor [--state-dir DIR] [--json]',
  'Each finding is ok, warn or fail; every warn and fail comes with a fix. Exit 1 when anything fails.',
  'example: openclaw-ipc doctor --json',
].join('\n');

const MARK = { ok: paint('green', 'ok  '), warn: paint('yellow', 'warn'), fail: paint('red', 'FAIL') } as const;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, USAGE, {
    allowPositionals: false,
  });
  if (!parsed) return ExitCode.ok;
  const report = await runDoctor(parsed.values['state-dir'] ?? resolveStateDir());
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [`doctor: ${report.stateDir}`];
    for (const f of report.findings) {
      lines.push(`${MARK[f.status]}  ${f.summary}`);
      if (f.fix) lines.push(`      fix: ${f.fix}`);
    }
    lines.push(`${report.counts.ok} ok, ${report.counts.warn} warn, ${report.counts.fail} fail`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.ok ? ExitCode.ok : ExitCode.failure;
}
