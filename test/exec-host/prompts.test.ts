// The prompters: terminal over real streams, desktop dialogs via their argv (a stand-in zenity
// records exactly what it was given: no shell ever sees the command text), the queue, the race.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import { PendingApprovals } from '../../lib/common/approval-queue.js';
import {
  DesktopApprover,
  QueueApprover,
  TerminalApprover,
  askForDecision,
  askWithTimeout,
  composeApprovers,
  promptText,
  type ApprovalPrompt,
} from '../../lib/exec-host/prompts.js';
import { tmpRoot } from '../helpers/exec-host.js';

const prompt: ApprovalPrompt = {
  id: '11111111-2222-4333-8444-555555555555',
  command: ['rm', '-rf', '/tmp/x'],
  commandText: 'rm -rf /tmp/x; $(id) `id` <b>bold</b> "q"',
  cwd: '/tmp',
  agentId: 'main',
  resolvedPath: '/usr/bin/rm',
  host: 'app',
  security: 'allowlist',
  ask: 'on-miss',
  allowedDecisions: ['allow-once', 'allow-always', 'deny'],
};

t.test('terminal prompter: numbered and worded answers, timeout, control chars neutralised', async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (c: Buffer) => {
    shown += c.toString();
  });
  const term = new TerminalApprover({ input, output, forceInteractive: true });
  t.ok(term.isAvailable());
  t.notOk(new TerminalApprover({ input, output }).isAvailable(), 'not a TTY → unavailable');
  const first = askWithTimeout(term, prompt, 5000);
  input.write('2\n');
  t.equal(await first, 'allow-always');
  t.match(shown, /Allow this command\?/);
  t.match(shown, /\[1\] Allow Once {2}\[2\] Always Allow {2}\[3\] Don't Allow/);
  const second = askWithTimeout(term, prompt, 5000);
  input.write('maybe\n');
  input.write("don't allow\n");
  t.equal(await second, 'deny');
  t.equal(await askWithTimeout(term, prompt, 150), null, 'timeout → null');
  const before = shown.length;
  const started = Date.now();
  t.equal(await askWithTimeout(term, prompt, 60_000, AbortSignal.abort()), null, 'an already withdrawn prompt → null');
  t.ok(Date.now() - started < 30_000, 'without waiting for the timeout');
  t.equal(shown.length, before, 'and nothing was shown to the human');
  t.equal(
    promptText({ ...prompt, command: ['a\x1b[2Jb\rc', 'd e'] }).split('\n')[0],
    "Command: 'a\\x1b[2Jb\\rc' 'd e'",
    'control characters are escapes, and an argument with a space is quoted',
  );
});

t.test('desktop prompter: availability and argv-only dialogs', async (t) => {
  t.notOk(
    new DesktopApprover({ platform: 'linux', env: { PATH: '/usr/bin' } }).isAvailable(),
    'no display → unavailable',
  );
  const dir = tmpRoot(t);
  const record = path.join(dir, 'argv.json');
  const fake = path.join(dir, 'zenity');
  // Stand-in zenity: records its argv exactly and clicks "Always Allow".
  fs.writeFileSync(
    fake,
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, ` +
      `JSON.stringify(process.argv.slice(2)));\nprocess.stdout.write('Always Allow\\n');\nprocess.exit(1);\n`,
    { mode: 0o755 },
  );
  const desktop = new DesktopApprover({ platform: 'linux', env: { PATH: dir, DISPLAY: ':0' } });
  t.ok(desktop.isAvailable());
  // A real node process starts as the stand-in dialog: 30 s, not the thing under test.
  t.equal(await askWithTimeout(desktop, prompt, 30_000), 'allow-always');
  const argv = JSON.parse(fs.readFileSync(record, 'utf8')) as string[];
  t.ok(argv.includes('--no-markup'), 'zenity renders the text as plain text');
  t.equal(
    argv[argv.indexOf('--text') + 1],
    promptText(prompt),
    'the command text arrives as one argv item, byte for byte',
  );
  t.same(argv.slice(argv.indexOf('--ok-label'), argv.indexOf('--ok-label') + 2), ['--ok-label', 'Allow Once']);
  const always = new DesktopApprover({ platform: 'linux', env: { PATH: dir, DISPLAY: ':0' } }).dialogArgv({
    ...prompt,
    allowedDecisions: ['allow-once', 'deny'],
  });
  t.notOk(always?.argv.includes('--extra-button'), 'no Always Allow button under ask=always');
  t.equal(always?.decide(0, ''), 'allow-once');
  t.equal(always?.decide(1, ''), 'deny');
  t.equal(always?.decide(5, ''), null, 'zenity timeout → no decision');
  const mac = new DesktopApprover({ platform: 'darwin', env: {} });
  if (fs.existsSync('/usr/bin/osascript')) {
    const d = mac.dialogArgv(prompt)!;
    t.equal(d.argv.at(-1), promptText(prompt), 'osascript gets the text as an argv item, not in the script');
    t.notOk(d.argv.slice(0, -1).some((a) => a.includes('rm -rf')));
  } else {
    t.notOk(mac.isAvailable(), 'no osascript here');
  }
});

t.test('queue approver and the race', async (t) => {
  const pending = new PendingApprovals();
  const queue = new QueueApprover(pending, 10_000);
  const answer = askWithTimeout(queue, prompt, 5000);
  t.equal(pending.size, 1);
  const [entry] = pending.list();
  t.equal(entry.id, prompt.id);
  t.same(entry.allowedDecisions, prompt.allowedDecisions);
  t.match(entry.request, { commandText: prompt.commandText, resolvedPath: '/usr/bin/rm' });
  t.ok(pending.resolve(entry.id, 'deny'));
  t.equal(await answer, 'deny');

  const timedOut = askWithTimeout(queue, { ...prompt, id: 'p2' }, 100);
  t.equal(await timedOut, null);
  t.equal(pending.size, 0, 'withdrawn from the queue on timeout');

  const input = new PassThrough();
  const term = new TerminalApprover({ input, output: new PassThrough(), forceInteractive: true });
  const composed = composeApprovers(
    [new TerminalApprover({ input: new PassThrough(), output: new PassThrough() }), term],
    queue,
  );
  const outcome = new Promise((resolve) => pending.once('resolved', resolve));
  const raced = askWithTimeout(composed, { ...prompt, id: 'p3' }, 5000);
  t.equal(pending.size, 1, 'queue is asked alongside the first available prompter');
  input.write('1\n');
  t.equal(await raced, 'allow-once');
  t.equal(pending.size, 0, 'queue entry withdrawn once the terminal answered');
  t.match(
    await outcome,
    { id: 'p3', decision: 'allow-once', resolvedBy: 'terminal', reason: 'decided' },
    'operators (the control page) are told the terminal allowed it, not that it was withdrawn',
  );
});

t.test('the terminal says how a prompt ended: answered elsewhere is not a timeout', async (t) => {
  const pending = new PendingApprovals();
  const queue = new QueueApprover(pending, 60_000);
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (c: Buffer) => {
    shown += c.toString();
  });
  const term = new TerminalApprover({ input, output, forceInteractive: true });
  const composed = composeApprovers([term], queue);
  const answered = askForDecision(composed, { ...prompt, id: 'elsewhere' }, 60_000);
  t.ok(pending.resolve('elsewhere', 'allow-once', 'ops-laptop'), 'an operator answers from another window');
  t.same(await answered, { end: 'answered', decision: 'allow-once', by: 'operator ops-laptop' });
  t.match(shown, /\(answered by operator ops-laptop: allow-once\)\n/, 'the terminal says who answered');
  t.notMatch(shown, /timed out|nobody answered/);

  shown = '';
  const late = await askForDecision(composed, { ...prompt, id: 'late', askFallback: 'deny' }, 200);
  t.same(late, { end: 'timeout', decision: null, afterMs: 200 });
  t.match(shown, /\(no decision: nobody answered within 200 ms; askFallback=deny applies\)\n/);
  t.match(pending.list(), [], 'the queue entry is gone too');
  t.same(await askForDecision(undefined, prompt, 1000), { end: 'unavailable', decision: null }, 'nobody to ask');
});
