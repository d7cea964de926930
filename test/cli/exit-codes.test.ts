// One mapping from error to exit code (0 ok, 1 failure, 2 usage, 3 locked, 4 denied), by the error's
// stable code whatever threw it: a bad --url and an unknown flag are both usage errors (exit 2).
import t from 'tap';

import { IpcError } from '../../lib/common/errors.js';
import { ExitCode, UsageError, exitCodeFor } from '../../lib/cli/run.js';
import { cli } from '../helpers/cli.js';

t.test('exitCodeFor maps by code', async (t) => {
  t.equal(exitCodeFor(new UsageError('x')), ExitCode.usage);
  t.equal(exitCodeFor(new IpcError('ERR_USAGE', 'thrown by a library module')), ExitCode.usage);
  t.equal(exitCodeFor(new IpcError('ERR_GATEWAY_LOCKED', 'x')), ExitCode.locked);
  t.equal(exitCodeFor(new IpcError('ERR_EXEC_HOST_LOCKED', 'x')), ExitCode.locked);
  t.equal(exitCodeFor(new IpcError('ERR_PEER_DENIED', 'x')), ExitCode.denied);
  t.equal(exitCodeFor(new IpcError('ERR_CONFIG_MALFORMED', 'x')), ExitCode.failure);
  t.equal(exitCodeFor(new Error('plain')), ExitCode.failure);
  t.equal(exitCodeFor(undefined), ExitCode.failure);
  t.equal(exitCodeFor({ code: 'toString' }), ExitCode.failure, 'no prototype keys');
});

t.test('`nodes --url http://x` and `nodes --bogus` both exit 2 with ERR_USAGE', async (t) => {
  const env = { ...process.env, OPENCLAW_STATE_DIR: t.testdir() };
  const badUrl = await cli(['nodes', '--url', 'http://x'], env);
  t.equal(badUrl.code, 2, badUrl.stderr);
  t.match(badUrl.stderr, /--url must be a ws:\/\/ or wss:\/\/ URL.*\[ERR_USAGE\]/);
  const bogus = await cli(['nodes', '--bogus'], env);
  t.equal(bogus.code, 2, bogus.stderr);
  t.match(bogus.stderr, /\[ERR_USAGE\]/);
});
