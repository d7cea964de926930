// The one kernel lock (flock through the addon): real processes racing on exec-approvals.json lose no
// write; a busy lock is waited for a bounded time, then ERR_LOCK_TIMEOUT; a holder's crash frees it;
// unsafe lock files are refused.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { readApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import { acquireInstanceLock, withFileLock } from '../../lib/native/file-lock.js';
import { repo } from '../helpers/cli.js';

// Child processes on a loaded box.
t.setTimeout(180_000);

const approvalsModule = pathToFileURL(path.join(repo, 'lib/exec-host/exec-approvals-file.ts')).href;

/** A child that, once told "go" on stdin, adds `count` allowlist entries one locked update at a time. */
function writer(file: string, name: string, count: number): ChildProcess {
  const script = `
    const { updateApprovals } = await import(${JSON.stringify(approvalsModule)});
    process.stdout.write('ready\\n');
    process.stdin.once('data', () => {
      for (let i = 0; i < ${count}; i++) {
        updateApprovals(${JSON.stringify(file)}, (d) => {
          d.agents ??= {}; d.agents.main ??= {}; d.agents.main.allowlist ??= [];
          d.agents.main.allowlist.push({ pattern: '/bin/${name}-' + i });
        });
      }
      process.stdout.write('done\\n');
      process.exit(0);
    });`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function line(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes(`${text}\n`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} before "${text}"`)));
  });
}

t.test('two processes updating exec-approvals.json at once lose no write', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'exec-approvals.json');
  fs.writeFileSync(file, '{"version":1}\n', { mode: 0o600 });
  const count = 40;
  const children = ['a', 'b'].map((name) => writer(file, name, count));
  t.teardown(() => children.forEach((c) => c.kill('SIGKILL')));
  await Promise.all(children.map((c) => line(c, 'ready')));
  const done = children.map((c) => line(c, 'done'));
  for (const c of children) c.stdin!.write('go\n');
  await Promise.all(done);

  const patterns = (readApprovals(file)?.agents?.main?.allowlist ?? []).map((e) => e.pattern);
  t.equal(patterns.length, 2 * count, 'every update of both processes is in the file');
  t.equal(new Set(patterns).size, 2 * count, 'no duplicates');
  t.same(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file left',
  );
});

/** A process holding an exclusive flock on `lockFile` until killed. */
async function holder(lockFile: string): Promise<ChildProcess> {
  const script = `
    const fs = require('node:fs');
    const b = require('node-gyp-build')(${JSON.stringify(repo)});
    const fd = fs.openSync(${JSON.stringify(lockFile)}, 'a');
    if (!b.flock(fd, 1)) process.exit(3);
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  await line(child, 'locked');
  return child;
}

t.test('a busy lock is waited for a bounded time; a crashed holder frees it', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'data.json');
  const child = await holder(`${file}.lock`);
  t.teardown(() => child.kill('SIGKILL'));

  let ran = false;
  t.throws(
    () =>
      withFileLock(
        file,
        () => {
          ran = true;
        },
        { waitMs: 300 },
      ),
    { code: 'ERR_LOCK_TIMEOUT', message: /data\.json\.lock/ },
  );
  t.notOk(ran, 'the critical section did not run without the lock');

  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.equal(
    withFileLock(file, () => 'ran', { waitMs: 10_000 }),
    'ran',
    'the kernel released the killed holder’s lock',
  );
});

t.test('instance locks: held by a live process, refused when unsafe', async (t) => {
  const dir = t.testdir();
  const child = await holder(path.join(dir, 'x.lock'));
  t.teardown(() => child.kill('SIGKILL'));
  t.throws(
    () => acquireInstanceLock(dir, 'x.lock', (file, pid) => Object.assign(new Error('locked'), { file, pid })),
    { message: 'locked', file: path.join(dir, 'x.lock') },
    'a lock held in another process is refused',
  );

  const mine = acquireInstanceLock(dir, 'y.lock', () => new Error('unexpected'));
  t.match(JSON.parse(fs.readFileSync(mine.file, 'utf8')), { pid: process.pid });
  t.throws(
    () => acquireInstanceLock(dir, 'y.lock', (_f, pid) => Object.assign(new Error('held'), { pid })),
    { message: 'held', pid: process.pid },
    'a second open file description in the same process cannot take it either',
  );
  mine.release();
  t.notOk(fs.existsSync(mine.file), 'released: removed');
  mine.release();
  t.pass('release twice is harmless');

  fs.symlinkSync('/etc/passwd', path.join(dir, 'link.lock'));
  t.throws(() => acquireInstanceLock(dir, 'link.lock', () => new Error('x')), { code: 'ERR_LOCK_FILE_UNSAFE' });
  if (process.getuid?.() === 0) {
    const foreign = path.join(dir, 'foreign.lock');
    fs.writeFileSync(foreign, '');
    fs.chownSync(foreign, 65534, 65534);
    t.throws(() => withFileLock(path.join(dir, 'foreign'), () => {}), { code: 'ERR_LOCK_FILE_UNSAFE' });
  }
});
