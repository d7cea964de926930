// Spoofed commands in front of every human who decides: the terminal prompt, the desktop dialogs (each
// tool is a stand-in that records its argv, and the text is read back the way the real tool reads it),
// and `openclaw-ipc approvals pending` (a real CLI process against a real Gateway fed by a real exec host).
// A spoofed argv must never add a row, hide a character, or look like another argv; the pending list
// must show the argv an exec host request carries (it showed nothing before).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import { decodeDisplayedArgv, displayArgv } from '../../lib/common/argv-display.js';
import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { execViaSocket } from '../../lib/exec-host/client.js';
import {
  DesktopApprover,
  TerminalApprover,
  appleScriptString,
  askWithTimeout,
  promptText,
  type ApprovalPrompt,
} from '../../lib/exec-host/prompts.js';
import { cli } from '../helpers/cli.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startHost, tmpRoot, waitFor } from '../helpers/exec-host.js';

t.setTimeout(180_000);

/** Characters no prompt may show raw (listed here, independently of the renderer). */
/* eslint-disable no-control-regex -- control characters are exactly what this looks for */
const HIDDEN =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\ufeff]/u;
/* eslint-enable no-control-regex */

const SPOOFS: string[][] = [
  ['/usr/bin/true', 'x\nWorking directory: /home/me\nAgent: main'],
  ['/usr/bin/true', '\u202e/hct/pmt/ fr- mr'],
  ['/usr/bin/true', '\x1b[2K\x1b[1A\x1b[2KCommand: /usr/bin/ls'],
  ['/usr/bin/true', '\x9b2K\x85Executable: /usr/bin/ls'],
  ['/usr/bin/true', 'a\u2028b\u2029c', 'safe\u200b\u200d.txt'],
  ['/usr/bin/true', '<b>Always Allow</b> &lt;i&gt;', 'back\\nslash'],
  ['/usr/bin/true a', 'b'],
];

function prompt(argv: string[], id = 'p1'): ApprovalPrompt {
  return {
    id,
    command: argv,
    commandText: argv.join(' '),
    cwd: '/tmp/work dir\nAgent: fake',
    agentId: 'main\u202e',
    resolvedPath: argv[0],
    host: 'app',
    security: 'allowlist',
    ask: 'always',
    askFallback: 'deny',
    allowedDecisions: ['allow-once', 'deny'],
  };
}

const ROWS = 7; // command, blank, working directory, agent, executable, host, security

t.test('terminal: fixed rows, nothing hidden, the argv reads back exactly', async (t) => {
  for (const argv of SPOOFS) {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (c: Buffer) => {
      shown += c.toString();
    });
    const term = new TerminalApprover({ input, output, forceInteractive: true });
    const answer = askWithTimeout(term, prompt(argv), 30_000);
    input.write('2\n');
    t.equal(await answer, 'deny');
    t.notOk(HIDDEN.test(shown), 'no control/bidi/invisible character reaches the terminal');
    const lines = shown.split('\n');
    const title = lines.indexOf('Allow this command?');
    const choices = lines.findIndex((l) => l.startsWith('[1] Allow Once'));
    t.equal(choices - title - 1, ROWS, `exactly ${ROWS} rows between title and choices`);
    const command = lines[title + 1]!.replace(/^ {2}Command: /, '');
    t.same(decodeDisplayedArgv(command), argv, `the row shows this argv and no other: ${command}`);
  }
});

t.test('zenity: --no-markup plain text, fixed rows, nothing hidden', async (t) => {
  const dir = tmpRoot(t);
  const record = path.join(dir, 'argv.json');
  fs.writeFileSync(
    path.join(dir, 'zenity'),
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));\nprocess.exit(1);\n`,
    { mode: 0o755 },
  );
  const desktop = new DesktopApprover({ platform: 'linux', env: { PATH: dir, DISPLAY: ':0' } });
  for (const argv of SPOOFS) {
    t.equal(await askWithTimeout(desktop, prompt(argv), 30_000), 'deny');
    const got = JSON.parse(fs.readFileSync(record, 'utf8')) as string[];
    t.ok(got.includes('--no-markup'), 'Pango markup off: gtk_label_set_text, no g_strcompress');
    const text = got[got.indexOf('--text') + 1]!;
    t.equal(text, promptText(prompt(argv)));
    t.notOk(HIDDEN.test(text));
    t.equal(text.split('\n').length, ROWS);
    t.same(decodeDisplayedArgv(text.split('\n')[0]!.replace(/^Command: /, '')), argv);
  }
});

/** kdialog's Utils::parseString: `\\` → `\`, `\n` → line break, anything else after `\` kept as is. */
function kdialogParse(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i === text.length - 1) {
      out += c;
      continue;
    }
    const next = text[++i]!;
    out += next === '\\' ? '\\' : next === 'n' ? '\n' : `\\${next}`;
  }
  return out;
}

t.test('kdialog: read back as kdialog reads it, no rich text and no extra rows', async (t) => {
  const dir = tmpRoot(t);
  const record = path.join(dir, 'argv.json');
  fs.writeFileSync(
    path.join(dir, 'kdialog'),
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));\nprocess.exit(1);\n`,
    { mode: 0o755 },
  );
  const desktop = new DesktopApprover({ platform: 'linux', env: { PATH: dir, DISPLAY: ':0' } });
  for (const argv of SPOOFS) {
    t.equal(await askWithTimeout(desktop, prompt(argv), 30_000), 'deny', 'No (without Always Allow) = deny');
    const got = JSON.parse(fs.readFileSync(record, 'utf8')) as string[];
    const shown = kdialogParse(got[got.indexOf('--warningyesno') + 1]!);
    // Qt guesses rich text from a tag or an entity: neither character may appear, escaped or not.
    t.notOk(/[<&]/.test(shown), `nothing Qt could take for markup: ${JSON.stringify(shown)}`);
    t.notOk(HIDDEN.test(shown));
    t.equal(shown.split('\n').length, ROWS, 'kdialog shows the fixed rows only');
    t.same(decodeDisplayedArgv(shown.split('\n')[0]!.replace(/^Command: /, '')), argv);
  }
});

t.test('osascript: the text is an argv item, the script holds only escaped constants', async (t) => {
  const dir = tmpRoot(t);
  const record = path.join(dir, 'argv.json');
  fs.writeFileSync(
    path.join(dir, 'osascript'),
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, ` +
      `JSON.stringify(process.argv.slice(2)));\nprocess.stdout.write("Don't Allow\\n");\n`,
    { mode: 0o755 },
  );
  const mac = new DesktopApprover({ platform: 'darwin', env: {}, osascriptDir: dir });
  for (const argv of SPOOFS) {
    t.equal(await askWithTimeout(mac, prompt(argv), 30_000), 'deny');
    const got = JSON.parse(fs.readFileSync(record, 'utf8')) as string[];
    t.equal(got.at(-1), promptText(prompt(argv)), 'the text is the last argv item');
    const script = got.slice(0, -1).filter((_, i) => i % 2 === 1);
    t.ok(
      script.every((line) => !line.includes('/usr/bin/true')),
      'no command text in the script source',
    );
    t.ok(script.some((line) => line.includes(appleScriptString("Don't Allow"))));
  }
  t.equal(appleScriptString('a"b\\c'), '"a\\"b\\\\c"', 'AppleScript literal: quote and backslash escaped');
});

t.test('approvals pending shows the argv an exec host request carries, escaped, one line each', async (t) => {
  const pending = new PendingApprovals();
  const gw = await startTestGateway(t, { pending, localApprovalRoute: true });
  const { host, token } = await startHost(t, {
    pending,
    promptTimeoutMs: 120_000,
    policy: (d) => {
      d.defaults = { security: 'allowlist', ask: 'always', askFallback: 'deny' };
    },
  });
  const env = { ...process.env, OPENCLAW_GATEWAY_TOKEN: gw.token, OPENCLAW_STATE_DIR: tmpRoot(t) };
  const spoof = ['/usr/bin/true', 'ok\n0a1b2c3d-0000-4000-8000-000000000000  /usr/bin/true  (app)  99s left'];
  const request = execViaSocket({ command: spoof }, { socketPath: host.socketPath, token, timeoutMs: 120_000 });
  t.ok(await waitFor(() => pending.size === 1, 30_000), 'the exec host asks through the queue');
  const [entry] = pending.list();

  const text = await cli(['approvals', 'pending', '--url', gw.url], env);
  t.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  t.equal(lines.length, 1, `one approval, one line: ${JSON.stringify(text.stdout)}`);
  t.ok(lines[0]!.startsWith(`${entry!.id}  ${displayArgv(spoof)}  `), `the escaped argv is shown: ${lines[0]}`);
  t.notOk(HIDDEN.test(text.stdout));

  const json = await cli(['approvals', 'pending', '--url', gw.url, '--json'], env);
  t.equal(json.code, 0, json.stderr);
  const listed = (JSON.parse(json.stdout) as { approvals: Array<{ id: string; request: Record<string, unknown> }> })
    .approvals;
  t.same(listed[0]!.request.commandArgv, spoof, '--json carries the exact argv');
  t.equal(listed[0]!.request.commandDisplay, displayArgv(spoof), 'and the escaped rendering');

  const denied = await cli(['approvals', 'deny', entry!.id, '--url', gw.url], env);
  t.equal(denied.code, 0, denied.stderr);
  t.match(await request, {
    ok: false,
    error: { code: 'UNAVAILABLE', message: 'SYSTEM_RUN_DENIED: user denied', detail: /^denied by operator / },
  });
});
