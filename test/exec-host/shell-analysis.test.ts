// The shell-script parser behind allowlisted shell wrappers: what it splits, what it refuses, and
// that a rendered (enforced) script gives a real shell exactly the parsed argv.
import t from 'tap';
import { spawnSync } from 'node:child_process';

import {
  MAX_SCRIPT_CHARS,
  MAX_SEGMENTS,
  parseShellScript,
  quoteWord,
  renderScript,
} from '../../lib/exec-host/shell-analysis.js';

/** A test name that keeps TAP's one-line format whatever the script holds (U+2028 would end the line). */
const show = (script: string): string =>
  JSON.stringify(script).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const understood: [string, string[][], string[]][] = [
  ['ls', [['ls']], []],
  ['ls -la /tmp', [['ls', '-la', '/tmp']], []],
  ['  ls\t-la  ', [['ls', '-la']], []],
  ['ls && echo hi', [['ls'], ['echo', 'hi']], ['&&']],
  ['ls||echo', [['ls'], ['echo']], ['||']],
  ['ls; rm -rf /', [['ls'], ['rm', '-rf', '/']], [';']],
  ['a|b', [['a'], ['b']], ['|']],
  [
    'git status | wc -l && echo ok; true',
    [['git', 'status'], ['wc', '-l'], ['echo', 'ok'], ['true']],
    ['|', '&&', ';'],
  ],
  ["echo 'a b' 'it''s'", [['echo', 'a b', 'its']], []],
  ["echo '$(rm x)' '`id`' '*' '>x'", [['echo', '$(rm x)', '`id`', '*', '>x']], []],
  ['echo "a b" "q\\"q" "back\\\\slash" "d\\$" "keep\\n"', [['echo', 'a b', 'q"q', 'back\\slash', 'd$', 'keep\\n']], []],
  ['echo a\\ b \\$HOME \\;', [['echo', 'a b', '$HOME', ';']], []],
  ['echo \'\' ""', [['echo', '', '']], []],
  ["ec'h'o x", [['echo', 'x']], []],
  ['ls # comment; rm -rf /', [['ls']], []],
  ['curl https://example.com/a#frag', [['curl', 'https://example.com/a#frag']], []],
  ['printf %s,@:+=. x', [['printf', '%s,@:+=.', 'x']], []],
  ['echo héllo 日本', [['echo', 'héllo', '日本']], []],
  ['/usr/bin/env', [['/usr/bin/env']], []],
  ['env rm -rf /', [['env', 'rm', '-rf', '/']], []],
  ['/bin/sh -c \'sh -c "rm -rf /"\'', [['/bin/sh', '-c', 'sh -c "rm -rf /"']], []],
  ['echo a=b', [['echo', 'a=b']], []],
];

const refused: [string, RegExp][] = [
  ['', /empty command/],
  ['   ', /empty command/],
  ['# only a comment', /empty command/],
  ['ls &&', /empty command segment/],
  ['&& ls', /empty command segment/],
  ['ls ; ; ls', /empty command segment/],
  ['ls |', /empty command segment/],
  ['ls $(rm x)', /\$ \(expansion or substitution\)/],
  ['ls "$(rm x)"', /\$ inside double quotes/],
  ['ls `rm x`', /` \(command substitution\)/],
  ['ls "`rm x`"', /` inside double quotes/],
  ['echo $HOME', /\$/],
  ['echo ${HOME}', /\$/],
  ["echo $'\\x41'", /\$/],
  ['$CMD x', /\$/],
  ['ls > /etc/x', /> \(redirection\)/],
  ['ls >> /etc/x', /> \(redirection\)/],
  ['ls 2>&1', /> \(redirection\)/],
  ['cat < /etc/shadow', /< \(redirection\)/],
  ['cat <<EOF', /< \(redirection\)/],
  ['diff <(ls a) <(ls b)', /< \(redirection\)/],
  ['ls &>/dev/null', /& \(background/],
  ['ls &', /& \(background/],
  ['sleep 1 & rm x', /& \(background/],
  ['ls |& cat', /\|&/],
  ['(rm x)', /\( \(subshell\)/],
  ['ls; (rm x)', /\( \(subshell\)/],
  ['((x=1))', /\(/],
  ['{ rm x; }', /\{ \(brace/],
  ['echo {a,b}', /\{ \(brace/],
  ['ls *.ts', /\* \(glob\)/],
  ['/usr/bin/l? x', /\? \(glob\)/],
  ['/usr/bin/[a-z]s', /\[ \(glob\)/],
  ['[[ -f x ]]', /\[ \(glob\)/],
  ['ls ~/x', /~ \(tilde/],
  ['! ls', /! \(negation/],
  ['ls\nrm -rf /', /newline/],
  ['ls\r\nrm x', /newline/],
  ["echo 'a\nb'", /newline/],
  ['ls \\\nx', /newline/],
  ['ls\u0000x', /non-printable character U\+0000/],
  ['ls\u001bx', /non-printable/],
  ['ls \u202ex', /non-printable character U\+202e/],
  ['ls \u200bx', /non-printable character U\+200b/],
  ['ls\u2028rm', /non-printable/],
  ["echo 'unterminated", /unterminated single quote/],
  ['echo "unterminated', /unterminated double quote/],
  ['echo x\\', /unterminated escape/],
  ['PATH=/tmp ls', /environment assignment/],
  ['LD_PRELOAD=/tmp/x.so ls', /environment assignment/],
  ["'A=1' ls", /environment assignment/],
  ['ls && FOO=bar rm x', /environment assignment/],
  ["'' ls", /empty command name/],
  ['if true; then ls; fi', /shell keyword in command position: if/],
  ['for f in a; do rm $f; done', /shell keyword|\$/],
  ['while true; do ls; done', /shell keyword in command position: while/],
  ['function f { ls; }', /\{|shell keyword/],
  ['time ls', /shell keyword in command position: time/],
  ['case x in x) ls;; esac', /\)|;;|shell keyword/],
  ['ls;; ls', /;;/],
  ['eval ls', /shell builtin in command position: eval/],
  ['exec rm x', /shell builtin in command position: exec/],
  ['ls && source ./x', /shell builtin in command position: source/],
  ['. ./x', /shell builtin in command position: \./],
  ['cd /tmp && rm -rf x', /shell builtin in command position: cd/],
  ['alias ls=rm; ls', /shell builtin in command position: alias/],
  ['command rm x', /shell builtin in command position: command/],
  ['export PATH=/tmp; ls', /shell builtin in command position: export/],
  ['set -e; ls', /shell builtin in command position: set/],
  ['ls ^ x', /unsupported shell character: "\^"/],
];

t.test('understood scripts: segments, words and operators', async (t) => {
  for (const [script, words, operators] of understood) {
    const r = parseShellScript(script);
    t.equal(r.ok, true, `${show(script)} parsed`);
    if (!r.ok) continue;
    t.same(
      r.segments.map((s) => s.words),
      words,
      `${show(script)} words`,
    );
    t.same(r.operators, operators, `${show(script)} operators`);
  }
  const r = parseShellScript('ls -la  &&  echo "a b" # tail');
  t.same(
    r.ok && r.segments.map((s) => s.raw),
    ['ls -la', 'echo "a b"'],
    'raw text per segment, trimmed, comment dropped',
  );
});

t.test('every fail-closed construct is refused with a reason', async (t) => {
  for (const [script, reason] of refused) {
    const r = parseShellScript(script);
    t.equal(r.ok, false, `${show(script)} refused`);
    if (!r.ok) t.match(r.reason, reason, `${show(script)}: ${r.reason}`);
  }
});

t.test('limits: script length and segment count', async (t) => {
  t.match(parseShellScript(`echo ${'x'.repeat(MAX_SCRIPT_CHARS)}`), { ok: false, reason: /longer than/ });
  t.match(
    parseShellScript(
      Array(MAX_SEGMENTS + 1)
        .fill('true')
        .join(' ; '),
    ),
    { ok: false, reason: /more than 64 command segments/ },
  );
  t.match(parseShellScript(Array(MAX_SEGMENTS).fill('true').join(' ; ')), { ok: true });
  t.match(parseShellScript(`echo ${Array(5000).fill('a').join(' ')}`), { ok: false, reason: /more than 4096 words/ });
});

t.test('a rendered script gives a real shell exactly the parsed argv', async (t) => {
  const hostile = [
    'plain',
    '',
    'a b',
    "it's",
    '"dq"',
    '$(touch /tmp/never)',
    '`id`',
    '$HOME',
    '*',
    '~',
    'a\\b',
    '; rm -rf /',
    '|',
    '&&',
    '#x',
    '-n',
    'héllo',
    '\t',
  ];
  t.equal(quoteWord("it's"), `'it'\\''s'`);
  for (const shell of ['/bin/sh', '/bin/bash']) {
    const script = renderScript(
      [
        ['printf', '%s\\0', ...hostile],
        ['printf', 'second\\0'],
      ],
      ['&&'],
    );
    const r = spawnSync(shell, ['-c', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    t.equal(r.status, 0, `${shell} ran the rendered script`);
    t.same(r.stdout.split('\0').slice(0, -1), [...hostile, 'second'], `${shell}: every word arrives byte for byte`);
  }
  // The renderer's output parses back to the same segments (what runs is what was checked).
  const argvs = [
    ['/usr/bin/ls', '-la', 'a b'],
    ['/usr/bin/echo', "it's", '$x'],
  ];
  const back = parseShellScript(renderScript(argvs, ['|']));
  t.same(back.ok && back.segments.map((s) => s.words), argvs);
  t.throws(() => renderScript([['a']], ['&&']), RangeError);
});
