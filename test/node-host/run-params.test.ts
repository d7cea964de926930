// system.run and system.run.prepare params through their TypeBox schemas (lib/node-host/run-params.ts):
// wrong types, oversize values and too-deep values each get INVALID_REQUEST with the field's stable message.
import t from 'tap';

import { parsePrepareParams, parseRunParams } from '../../lib/node-host/run-params.js';

function deep(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

const bad = (message: string) => ({ code: 'INVALID_REQUEST', message: `INVALID_REQUEST: ${message}` });

t.test('system.run params: each bad field is INVALID_REQUEST naming it', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', 'ls', 'paramsJSON required'],
    ['null', null, 'paramsJSON required'],
    ['an array', [['ls']], 'paramsJSON required'],
    ['no command', {}, 'command required'],
    ['empty command', { command: [] }, 'command required'],
    ['blank argv[0]', { command: [' ', 'x'] }, 'command required'],
    ['a number in argv', { command: ['ls', 1] }, 'command required'],
    ['a string command', { command: 'ls -l' }, 'command required'],
    ['too many args', { command: Array.from({ length: 16 * 1024 + 1 }, () => 'a') }, 'command required'],
    ['an oversize arg', { command: ['echo', 'a'.repeat(128 * 1024 + 1)] }, 'command required'],
    ['a too-deep arg', { command: ['echo', deep(40)] }, 'command required'],
    ['timeoutMs a string', { command: ['ls'], timeoutMs: '5' }, 'timeoutMs must be a positive integer'],
    ['timeoutMs zero', { command: ['ls'], timeoutMs: 0 }, 'timeoutMs must be a positive integer'],
    ['timeoutMs fractional', { command: ['ls'], timeoutMs: 1.5 }, 'timeoutMs must be a positive integer'],
    ['timeoutMs huge', { command: ['ls'], timeoutMs: 2 ** 60 }, 'timeoutMs must be a positive integer'],
    ['cwd a number', { command: ['ls'], cwd: 5 }, 'cwd must be a string'],
    ['rawCommand an object', { command: ['ls'], rawCommand: { a: 1 } }, 'rawCommand must be a string'],
    ['agentId oversize', { command: ['ls'], agentId: 'a'.repeat(128 * 1024 + 1) }, 'agentId must be a string'],
    ['sessionKey an array', { command: ['ls'], sessionKey: ['k'] }, 'sessionKey must be a string'],
    ['runId a number', { command: ['ls'], runId: 7 }, 'runId must be a string'],
    ['env an array', { command: ['ls'], env: ['A=1'] }, 'env must be an object of strings'],
    ['env a number value', { command: ['ls'], env: { A: 1 } }, 'env must be an object of strings'],
    ['env a too-deep value', { command: ['ls'], env: { A: deep(40) } }, 'env must be an object of strings'],
  ];
  for (const [name, params, message] of cases) t.throws(() => parseRunParams(params), bad(message), name);

  const p = parseRunParams({
    command: ['ls', '-l'],
    cwd: null,
    timeoutMs: null,
    env: { A: '1' },
    runId: 'r1',
    approved: true,
    approvalDecision: 'allow-once',
    systemRunPlan: { argv: ['ls'] },
    suppressNotifyOnExit: true,
    unknownField: { kept: 'ignored' },
  });
  t.match(p, {
    command: ['ls', '-l'],
    cwd: undefined,
    timeoutMs: undefined,
    env: { A: '1' },
    runId: 'r1',
    approved: true,
    approvalDecision: 'allow-once',
    systemRunPlan: { argv: ['ls'] },
    suppressNotifyOnExit: true,
  });
  const loose = parseRunParams({ command: ['ls'], approved: 'yes', approvalDecision: 'always', systemRunPlan: 3 });
  t.equal(loose.approved, false, 'approved must be exactly true');
  t.equal(loose.approvalDecision, undefined, 'an unknown decision is no decision');
  t.equal(loose.systemRunPlan, undefined, 'a plan that is not an object is no plan');
  t.match(loose.runId, /^[0-9a-f-]{36}$/, 'a runId is made up when absent');
});

t.test('system.run.prepare params: same fields, same messages', async (t) => {
  for (const [params, message] of [
    [undefined, 'command required'],
    ['ls', 'command required'],
    [{ command: ['ls', { a: 1 }] }, 'command required'],
    [{ command: [''] }, 'command required'],
    [{ command: ['ls'], cwd: 1 }, 'cwd must be a string'],
    [{ command: ['ls'], rawCommand: 'r'.repeat(128 * 1024 + 1) }, 'rawCommand must be a string'],
    [{ command: ['ls'], agentId: [] }, 'agentId must be a string'],
  ] as const) {
    t.throws(() => parsePrepareParams(params), bad(message), JSON.stringify(params)?.slice(0, 60));
  }
  t.same(parsePrepareParams({ command: ['ls'], cwd: '/tmp', sessionKey: null }), {
    command: ['ls'],
    rawCommand: undefined,
    cwd: '/tmp',
    agentId: undefined,
    sessionKey: undefined,
  });
});
