// parseCommandArgs / positiveIntOption: the one option parser every subcommand uses. In-process for the
// parser itself; the exit codes and stdout through the real CLI binary.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { OPERATOR_OPTIONS, UsageError, parseCommandArgs, portOption, positiveIntOption } from '../../lib/cli/run.js';
import { cliNodeArgs } from '../helpers/operator-cli.js';

// Real processes started one after another: on a loaded box this file can outlast tap's 60 s default.
t.setTimeout(180_000);

const USAGE = 'usage: test [--name N] [--json] [--url U] [--token T] -- <argv…>';

t.test('parses typed values and positionals; -- ends options', async (t) => {
  const parsed = parseCommandArgs(
    ['--name', 'a', '--json', 'x', '--', '--not-an-option', '-l'],
    { name: { type: 'string' }, ...OPERATOR_OPTIONS },
    USAGE,
  );
  t.ok(parsed);
  t.equal(parsed!.values.name, 'a');
  t.equal(parsed!.values.json, true);
  t.equal(parsed!.values.url, undefined);
  t.same(parsed!.positionals, ['x', '--not-an-option', '-l']);
  t.equal(parseCommandArgs(['--name=b'], { name: { type: 'string' } }, USAGE)!.values.name, 'b', '--name=value form');
});

t.test('bad input is a UsageError that carries the usage text', async (t) => {
  for (const argv of [['--bogus'], ['--name'], ['--json=1'], ['-x']]) {
    let caught: unknown;
    try {
      parseCommandArgs(argv, { name: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof UsageError, `${argv.join(' ')}: UsageError`);
    t.equal((caught as UsageError).code, 'ERR_USAGE');
    t.ok((caught as Error).message.endsWith(`\n${USAGE}`), 'message ends with the usage');
  }
  t.throws(
    () => parseCommandArgs(['stray'], {}, USAGE, { allowPositionals: false }),
    UsageError,
    'positionals refused when not allowed',
  );
});

t.test('--help and -h print the usage and return null', async (t) => {
  const writes: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    writes.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  let results: unknown[];
  try {
    results = [
      parseCommandArgs(['--help'], {}, USAGE),
      parseCommandArgs(['-h', '--name', 'x'], { name: { type: 'string' } }, USAGE),
    ];
  } finally {
    process.stdout.write = write;
  }
  t.same(results, [null, null]);
  t.same(writes, [`${USAGE}\n`, `${USAGE}\n`]);
});

t.test('positiveIntOption', async (t) => {
  t.equal(positiveIntOption(undefined, '--timeout'), undefined);
  t.equal(positiveIntOption('1', '--timeout'), 1);
  t.equal(positiveIntOption('86400000', '--timeout'), 86_400_000, 'a day is the default ceiling');
  t.equal(positiveIntOption('600', '--t', 600), 600);
  for (const bad of ['0', '-1', '1.5', '1e3', ' 5', '', 'abc', '86400001', '99999999999999999999']) {
    t.throws(
      () => positiveIntOption(bad, '--timeout'),
      { code: 'ERR_USAGE', message: '--timeout must be an integer in 1..86400000' },
      JSON.stringify(bad),
    );
  }
  t.throws(() => positiveIntOption('601', '--t', 600), { message: '--t must be an integer in 1..600' });
});

t.test('portOption', async (t) => {
  t.equal(portOption('0', '--port'), 0, '0 (any free port) allowed by default');
  t.equal(portOption('65535', '--port'), 65_535);
  t.equal(portOption('18789', 'OPENCLAW_GATEWAY_PORT', 1), 18_789);
  t.throws(() => portOption('0', '--port', 1), {
    code: 'ERR_USAGE',
    message: 'invalid port from --port: 0 (expected 1..65535)',
  });
  for (const bad of ['65536', '-1', '80.5', '0x50', '', ' 80', 'http']) {
    t.throws(
      () => portOption(bad, 'OPENCLAW_GATEWAY_PORT'),
      { code: 'ERR_USAGE', message: /^invalid port from OPENCLAW_GATEWAY_PORT: .* \(expected 0\.\.65535\)$/ },
      JSON.stringify(bad),
    );
  }
});

t.test(
  'every subcommand: --help exits 0 with its usage on stdout, an unknown option exits 2 with it on stderr',
  async (t) => {
    // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-cli-'));
    t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const env = { ...process.env, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_TOKEN: '' };
    const cases: Array<[string[], RegExp]> = [
      [['app'], /usage: openclaw-ipc app /],
      [['exec'], /usage: openclaw-ipc exec /],
      [['approvals', 'set'], /usage: openclaw-ipc approvals /],
      [['gateway'], /usage: openclaw-ipc gateway /],
      [['node', 'run'], /usage: openclaw-ipc node run /],
      [['nodes'], /usage: openclaw-ipc nodes /],
      [['invoke'], /usage: openclaw-ipc invoke /],
      [['run'], /usage: openclaw-ipc run /],
      [['bridge'], /usage: openclaw-ipc bridge /],
      [['up'], /usage: openclaw-ipc up /],
    ];
    for (const [cmd, usage] of cases) {
      const help = spawnSync(process.execPath, cliNodeArgs('main', [...cmd, '--help']), {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      t.equal(help.status, 0, `${cmd.join(' ')} --help exits 0`);
      t.ok(help.stdout.startsWith('usage: openclaw-ipc '), `${cmd.join(' ')} --help prints usage first`);
      t.match(help.stdout, usage, `${cmd.join(' ')} --help prints its usage`);
      const bad = spawnSync(process.execPath, cliNodeArgs('main', [...cmd, '--no-such-option']), {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      t.equal(bad.status, 2, `${cmd.join(' ')} --no-such-option exits 2`);
      t.match(bad.stderr, /no-such-option/, 'names the bad option');
      t.match(bad.stderr, usage, 'and shows the usage');
    }
    for (const [cmd, from] of [
      [['up', '--port', '70000'], '--port'],
      [['node', 'run', '--port', '0'], '--port'],
      [['gateway', '--port', 'x'], '--port'],
    ] as const) {
      const bad = spawnSync(process.execPath, cliNodeArgs('main', [...cmd]), {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      t.equal(bad.status, 2, `${cmd.join(' ')} exits 2`);
      t.match(bad.stderr, `invalid port from ${from}: `, 'says why');
    }
    const badEnv = spawnSync(process.execPath, cliNodeArgs('main', ['gateway']), {
      env: { ...env, OPENCLAW_GATEWAY_PORT: '127.0.0.1:99999' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    t.equal(badEnv.status, 2, 'a bad OPENCLAW_GATEWAY_PORT is a usage error');
    t.match(badEnv.stderr, 'invalid port from OPENCLAW_GATEWAY_PORT: 99999 (expected 0..65535)');
  },
);
