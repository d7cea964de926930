// Every option a command parses appears in its help. The options a command accepts are found from the
// outside: each option name declared anywhere in lib/cli is offered to the command (see probe); parseArgs
// (strict) refuses an option the command does not declare. Each accepted option must be named in the help.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { cliInProcess } from '../helpers/cli.js';
import { ipcCommands } from '../../lib/cli/ipc-commands.js';
import { macCommands } from '../../lib/cli/mac-commands.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every `name: { type: 'string' | 'boolean' … }` in lib/cli: the options any command could declare. */
const candidates = [
  ...new Set(
    sources(path.join(repo, 'lib', 'cli')).flatMap((file) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/['"]?([a-z][a-z0-9-]*)['"]?: \{ type: '(?:string|boolean)'/g)].map(
        (m) => m[1],
      ),
    ),
  ),
].filter((name) => name !== 'help');

/** Commands that read a subcommand word before their options: the words to probe under. */
const PREFIXES: Record<string, string[][]> = {
  node: [['run']],
  approvals: [['show'], ['set'], ['allow'], ['remove'], ['pending'], ['approve', 'x'], ['deny', 'x'], ['resolve']],
};

const env = { ...process.env, NO_COLOR: '1', OPENCLAW_STATE_DIR: '/nonexistent-help-probe' };

/**
 * Offers `--option` followed by an option nobody declares: strict parseArgs names the first option it does
 * not know, so a declared boolean lets it reach the second, and a declared string option complains that its
 * value looks like an option. Either way the parse fails: nothing runs.
 */
async function probe(bin: 'main' | 'mac', command: string[], option: string): Promise<'accepted' | 'unknown' | string> {
  const out = await cliInProcess(bin, [...command, `--${option}`, '--zz-undeclared'], env);
  if (out.stderr.includes(`Unknown option '--${option}'`)) return 'unknown';
  if (/Unknown option '--zz-undeclared'|argument is ambiguous/.test(out.stderr)) return 'accepted';
  return `exit ${out.code}: ${out.stderr.split('\n')[0]}`;
}

for (const [bin, table] of [
  ['main', ipcCommands],
  ['mac', macCommands],
] as const) {
  for (const name of Object.keys(table)) {
    for (const prefix of PREFIXES[name] ?? [[]]) {
      const command = [name, ...prefix];
      t.test(`${bin === 'main' ? 'openclaw-ipc' : 'openclaw-mac'} ${command.join(' ')}`, async (t) => {
        const help = await cliInProcess(bin, [...command, '--help'], env);
        t.equal(help.code, 0, `--help exits 0 (${help.stderr.split('\n')[0]})`);
        const accepted: string[] = [];
        for (const option of candidates) {
          const verdict = await probe(bin, command, option);
          if (verdict === 'accepted') accepted.push(option);
          else if (verdict !== 'unknown') t.fail(`--${option}: unexpected ${verdict}`);
        }
        for (const option of accepted)
          t.match(help.stdout, new RegExp(`--${option}(?![a-z0-9-])`), `--${option} is parsed and in the help`);
      });
    }
  }
}
