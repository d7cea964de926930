// Security case 26 (swap between check and exec): the runner executes the descriptor that was checked.
// Each test renames a different binary over the checked path after the check and shows which one ran;
// the by-path runs next to them show the swap is real, so the pinned result is not an accident.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

import { SpawnError, nativeSpawn } from '../../lib/index.js';
import { fileIdentity, openPinnedExecutable } from '../../lib/exec-host/resolve-executable.js';
import { runCommand, type RunnerBackend } from '../../lib/exec-host/runner.js';
import { tmpRoot, type Teardown } from '../helpers/exec-host.js';

const env = { PATH: '/usr/bin:/bin' };
const linux = process.platform === 'linux';

const scratch = (t: Teardown): string => tmpRoot(t, 'oc-pin-');

/** `prog` is a copy of /bin/echo; swap() renames a copy of /bin/false over it. */
function echoThenFalse(dir: string): { prog: string; swap: () => void } {
  const prog = path.join(dir, 'prog');
  fs.copyFileSync('/bin/echo', prog);
  fs.chmodSync(prog, 0o755);
  return {
    prog,
    swap: () => {
      const next = path.join(dir, 'prog.next');
      fs.copyFileSync('/bin/false', next);
      fs.chmodSync(next, 0o755);
      fs.renameSync(next, prog);
    },
  };
}

t.test(
  'nativeSpawn execFd runs the open file, not what is at the path now',
  { skip: !linux && 'Linux only' },
  async (t) => {
    const { prog, swap } = echoThenFalse(scratch(t));
    const fd = fs.openSync(prog, 'r');
    t.teardown(() => fs.closeSync(fd));
    swap();
    const pinned = await nativeSpawn({ file: prog, execFd: fd, argv: ['prog', 'checked'], env });
    t.same([pinned.exitCode, pinned.stdout.toString()], [0, 'checked\n'], 'the checked echo ran');
    const byPath = await nativeSpawn({ file: prog, argv: ['prog', 'checked'], env });
    t.same([byPath.exitCode, byPath.stdout.toString()], [1, ''], 'by path, the swapped-in false runs');
  },
);

t.test('the exec fd never reaches the program', { skip: !linux && 'Linux only' }, async (t) => {
  const fd = fs.openSync('/bin/sh', 'r');
  t.teardown(() => fs.closeSync(fd));
  // dash/bash keep no extra fds for -c; the listing is of the shell's own fd table after the exec.
  const r = await nativeSpawn({ file: '/bin/sh', execFd: fd, argv: ['sh', '-c', 'ls /proc/$$/fd'], env });
  const fds = r.stdout.toString().split('\n').filter(Boolean).map(Number);
  t.equal(r.exitCode, 0);
  t.ok(fds.includes(0) && fds.includes(1) && fds.includes(2), 'stdio is there');
  t.notOk(fds.includes(fd), `fd ${fd} was closed by the exec`);
  t.ok(
    fds.every((n) => n <= 2 || n >= 10),
    `nothing else leaked: ${fds.join(' ')}`,
  );
});

t.test('bad exec fds are typed errors', { skip: !linux && 'Linux only' }, async (t) => {
  t.throws(() => nativeSpawn({ file: '/bin/true', execFd: 1, argv: ['true'], env }), TypeError, 'stdio is refused');
  t.throws(() => nativeSpawn({ file: '/bin/true', execFd: 3.5, argv: ['true'], env }), TypeError);
  const fd = fs.openSync('/bin/true', 'r');
  fs.closeSync(fd);
  await t.rejects(
    nativeSpawn({ file: '/bin/true', execFd: fd, argv: ['true'], env }),
    { constructor: SpawnError, code: 'EBADF' },
    'a closed fd',
  );
  const dirFd = fs.openSync('/', 'r');
  t.teardown(() => fs.closeSync(dirFd));
  await t.rejects(
    nativeSpawn({ file: '/', execFd: dirFd, argv: ['x'], env }),
    { constructor: SpawnError, code: 'EACCES' },
    'a directory cannot be executed',
  );
});

t.test('openPinnedExecutable: identity re-checked on the open descriptor', async (t) => {
  const dir = scratch(t);
  const { prog, swap } = echoThenFalse(dir);
  const checked = fileIdentity(prog);
  t.ok(checked);
  const pin = openPinnedExecutable(prog, checked);
  t.ok(pin, 'unchanged file pins');
  if (linux) t.type(pin!.execFd, 'number', 'Linux runs it by fd');
  pin!.close();
  pin!.close();
  t.pass('close is idempotent');
  swap();
  t.equal(openPinnedExecutable(prog, checked), undefined, 'a swapped file is refused');
  t.equal(openPinnedExecutable(prog, undefined), undefined, 'no identity, no run');
  t.equal(openPinnedExecutable(path.join(dir, 'missing'), checked), undefined, 'a vanished file is refused');
  const same = fileIdentity(prog)!;
  fs.appendFileSync(prog, 'x');
  t.equal(openPinnedExecutable(prog, same), undefined, 'a modified file (same inode) is refused');
  const fifo = path.join(dir, 'fifo');
  if (linux) {
    fs.rmSync(prog);
    // A FIFO at the path must neither pass nor block the daemon in open().
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]);
    fs.renameSync(fifo, prog);
    t.equal(openPinnedExecutable(prog, same), undefined, 'a FIFO is refused without blocking');
  }
});

t.test('#! scripts run by path (their interpreter cannot read a closed /dev/fd/N)', async (t) => {
  const dir = scratch(t);
  const script = path.join(dir, 'hello.sh');
  fs.writeFileSync(script, '#!/bin/sh\necho "script $0"\n', { mode: 0o755 });
  const pin = openPinnedExecutable(script, fileIdentity(script));
  t.ok(pin);
  t.equal(pin!.execFd, undefined);
  const r = await runCommand({ file: script, execFd: pin!.execFd, argv: [script], env });
  pin!.close();
  t.same([r.exitCode, r.stdout], [0, `script ${script}\n`], '$0 is the real path');
});

for (const backend of ['native', 'child-process'] as RunnerBackend[]) {
  t.test(
    `runCommand (${backend}) with a pin runs the checked file; close() releases the fd`,
    { skip: !linux && 'Linux only' },
    async (t) => {
      const { prog, swap } = echoThenFalse(scratch(t));
      const pin = openPinnedExecutable(prog, fileIdentity(prog))!;
      const fd = pin.execFd!;
      swap();
      const r = await runCommand({ file: prog, execFd: pin.execFd, argv: ['prog', 'pinned'], env, backend });
      t.same([r.exitCode, r.stdout], [0, 'pinned\n'], 'the checked binary ran');
      t.ok(fs.fstatSync(fd).isFile(), 'the caller owns the fd until close()');
      pin.close();
      // Checked synchronously after close(), before anything (even a readdir) can reuse the number.
      t.throws(() => fs.fstatSync(fd), { code: 'EBADF' }, 'closed');
    },
  );
}
