// The one PATH walk (pathCandidates) behind resolveExecutable, system.which, the shell-wrapper analysis
// and the desktop prompt's helper lookup: absolute entries only, first executable regular file wins.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import { pathCandidates, resolveExecutable } from '../../lib/exec-host/resolve-executable.js';
import { whichOne } from '../../lib/node-host/which.js';

t.test('pathCandidates skips empty and relative entries, keeps order', async (t) => {
  t.same([...pathCandidates('ls', '/a::rel:./b:/c/')], ['/a/ls', '/c/ls']);
  t.same([...pathCandidates('ls', '')], []);
});

t.test('resolveExecutable and whichOne agree: first executable regular file, as found and canonical', async (t) => {
  const root = t.testdir({ a: {}, b: {}, c: {}, real: {} });
  const [a, b, c] = ['a', 'b', 'c'].map((d) => path.join(root, d));
  fs.writeFileSync(path.join(a, 'tool'), 'not executable', { mode: 0o644 }); // skipped: not executable
  fs.mkdirSync(path.join(b, 'tool')); // skipped: a directory
  const real = path.join(root, 'real', 'tool-1.2');
  fs.writeFileSync(real, '#!/bin/sh\n', { mode: 0o755 });
  fs.symlinkSync(real, path.join(c, 'tool'));
  const searchPath = ['relative', a, b, c].join(path.delimiter);

  const resolved = resolveExecutable('tool', undefined, searchPath);
  t.same(resolved, { path: fs.realpathSync(real), via: 'search', found: path.join(c, 'tool') });
  t.equal(whichOne('tool', searchPath), path.join(c, 'tool'), 'system.which reports the PATH entry, not the target');
  t.same(resolveExecutable('missing', undefined, searchPath), { failure: 'not-found' });
  t.same(resolveExecutable('tool', undefined, [a, b].join(path.delimiter)), { failure: 'not-a-file' });
  t.equal(whichOne('tool', [a, b].join(path.delimiter)), undefined);

  t.same(resolveExecutable('./c/tool', root, searchPath), {
    path: fs.realpathSync(real),
    via: 'path',
    found: path.join(c, 'tool'),
  });
  t.same(resolveExecutable('./c/tool', undefined, searchPath), { failure: 'invalid' }, 'relative needs a cwd');
});
