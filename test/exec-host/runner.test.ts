import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { isNativeSpawnAvailable } from '../../lib/native/spawn.js';
import { TRUNCATED_PREFIX, runCommand, type RunnerBackend } from '../../lib/exec-host/runner.js';
import { waitFor } from '../helpers/exec-host.js';

const SH = fs.realpathSync('/bin/sh');
const env = { PATH: '/usr/bin:/bin', LANG: 'C' };

/** Running (a zombie awaiting its reaper counts as gone: it was killed, only the pid entry remains). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const backends: RunnerBackend[] = ['child-process', 'native'];

for (const backend of backends) {
  t.test(
    `runner (${backend})`,
    {
      skip:
        backend === 'native' && !isNativeSpawnAvailable()
          ? 'SKIPPED LOUDLY: the addon in this build has no spawn (native/posix/spawn.cc not built)'
          : false,
    },
    async (t) => {
      const dir = t.testdir();

      t.test('success, exit codes, stderr, cwd', async (t) => {
        t.same(await runCommand({ backend, file: '/bin/echo', argv: ['echo', 'hi'], env }), {
          exitCode: 0,
          timedOut: false,
          success: true,
          stdout: 'hi\n',
          stderr: '',
        });
        t.same(await runCommand({ backend, file: SH, argv: ['sh', '-c', 'echo oops >&2; exit 7'], env }), {
          exitCode: 7,
          timedOut: false,
          success: false,
          stdout: '',
          stderr: 'oops\n',
          error: 'exit 7',
        });
        const cwd = await runCommand({ backend, file: SH, argv: ['sh', '-c', 'pwd'], env, cwd: dir });
        t.equal(cwd.stdout.trim(), fs.realpathSync(dir));
        const killed = await runCommand({ backend, file: SH, argv: ['sh', '-c', 'kill -9 $$'], env });
        t.match(killed, { timedOut: false, success: false, error: 'signal SIGKILL' });
        t.notOk('exitCode' in killed, 'no exitCode when killed by a signal');
      });

      t.test('argv reaches the child byte for byte (no shell)', async (t) => {
        const nasty = ['; rm -rf ~', '$(id)', '`id`', 'a|b', 'x && y', 'line1\nline2', '*', "'q'", ''];
        const r = await runCommand({ backend, file: '/usr/bin/printf', argv: ['printf', '%s\\0', ...nasty], env });
        t.same(r.stdout.split('\0').slice(0, -1), nasty);
      });

      t.test('failed to start', async (t) => {
        const r = await runCommand({ backend, file: path.join(dir, 'missing'), argv: ['missing'], env });
        t.match(r, { timedOut: false, success: false, stdout: '', stderr: '', error: /^failed to start: .*ENOENT/ });
        t.notOk('exitCode' in r);
      });

      t.test('output caps keep the tail with the prefix', async (t) => {
        const r = await runCommand({
          backend,
          file: SH,
          argv: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" a; printf END; printf ERR >&2'],
          env,
          maxOutputBytes: 1000,
        });
        t.ok(r.stdout.startsWith(TRUNCATED_PREFIX));
        t.equal(r.stdout.length, TRUNCATED_PREFIX.length + 1000);
        t.ok(r.stdout.endsWith('aEND'));
        t.equal(r.stderr, 'ERR', 'a small stream is untouched');
        const exact = await runCommand({
          backend,
          file: SH,
          argv: ['sh', '-c', 'printf 1234567890'],
          env,
          maxOutputBytes: 10,
        });
        t.equal(exact.stdout, '1234567890', 'exactly the cap is not truncated');
        const utf8 = await runCommand({
          backend,
          file: SH,
          argv: ['sh', '-c', 'printf "ééééé"'],
          env,
          maxOutputBytes: 5,
        });
        t.equal(utf8.stdout, `${TRUNCATED_PREFIX}éé`, 'never starts mid-character');
      });

      t.test('a flood (yes) is capped and killed by the timeout', async (t) => {
        const r = await runCommand({
          backend,
          file: '/usr/bin/yes',
          argv: ['yes'],
          env,
          timeoutMs: 300,
          killGraceMs: 200,
          maxOutputBytes: 4096,
        });
        t.match(r, { timedOut: true, success: false, error: 'timeout' });
        t.ok(r.stdout.length <= TRUNCATED_PREFIX.length + 4096);
      });

      t.test('timeout kills the whole process group, grandchildren included', async (t) => {
        const pidFile = path.join(dir, `grandchild-${backend}.pid`);
        const started = Date.now();
        // The grandchild ignores SIGTERM, so only the SIGKILL to the group can end it.
        const r = await runCommand({
          // 2 s: the grandchild must have started and set its trap before the timeout, even on a loaded box.
          backend,
          file: SH,
          env,
          timeoutMs: 2_000,
          killGraceMs: 300,
          argv: ['sh', '-c', `sh -c 'trap "" TERM; echo $$ > ${pidFile}; exec sleep 30' & sleep 30`],
        });
        t.match(r, { timedOut: true, success: false, error: 'timeout' });
        t.notOk('exitCode' in r);
        t.ok(Date.now() - started < 10_000, 'returned promptly');
        const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        t.ok(pid > 0);
        t.ok(await waitFor(() => !alive(pid), 10_000), `grandchild ${pid} is gone`);
      });

      t.test('abort (the requester is gone) kills the whole group; the later canary is never written', async (t) => {
        const pidFile = path.join(dir, `abort-${backend}.pid`);
        const canary = path.join(dir, `abort-canary-${backend}`);
        const controller = new AbortController();
        // The grandchild ignores SIGTERM and would write the canary after 3 s: only the group SIGKILL stops it.
        const run = runCommand({
          backend,
          file: SH,
          env,
          killGraceMs: 300,
          signal: controller.signal,
          argv: ['sh', '-c', `sh -c 'trap "" TERM; echo $$ > ${pidFile}; sleep 3; touch ${canary}' & sleep 600`],
        });
        t.ok(await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '', 20_000));
        const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        controller.abort();
        t.match(await run, { timedOut: false, success: false, error: 'cancelled' });
        t.ok(await waitFor(() => !alive(pid), 10_000), `grandchild ${pid} is gone`);
        t.notOk(fs.existsSync(canary), 'the canary was never written (its writer is dead)');
        const early = new AbortController();
        early.abort();
        const never = path.join(dir, `never-${backend}`);
        t.match(
          await runCommand({ backend, file: SH, env, signal: early.signal, argv: ['sh', '-c', `touch ${never}`] }),
          { error: 'cancelled' },
        );
        t.notOk(fs.existsSync(never), 'aborted before it began: nothing started');
      });

      t.test('after a normal exit, a grandchild holding the pipes is killed after the grace period', async (t) => {
        const started = Date.now();
        const r = await runCommand({
          backend,
          file: SH,
          env,
          killGraceMs: 300,
          argv: ['sh', '-c', 'sleep 30 & echo done'],
        });
        t.match(r, { exitCode: 0, success: true, stdout: 'done\n' });
        t.ok(Date.now() - started < 10_000);
      });

      t.test('child env is exactly what was given; no IPC fds of ours are inherited', async (t) => {
        // Open IPC sockets like the daemon has (listening + connected).
        const sockPath = path.join(dir, `ipc-${backend}.sock`);
        const server = net.createServer((c) => c.on('error', () => {}));
        await new Promise<void>((r) => server.listen(sockPath, r));
        const client = net.connect(sockPath);
        await new Promise((r) => client.once('connect', r));
        t.teardown(() => {
          client.destroy();
          server.close();
        });
        const ours = new Set(
          fs
            .readdirSync('/proc/self/fd')
            .map((fd) => {
              try {
                return fs.readlinkSync(`/proc/self/fd/${fd}`);
              } catch {
                return '';
              }
            })
            .filter((l) => l.startsWith('socket:')),
        );
        t.ok(ours.size >= 2, 'the test process holds sockets');
        const r = await runCommand({
          backend,
          file: SH,
          env: { A: '1' },
          argv: [
            'sh',
            '-c',
            'env -0; printf "\\n--fds--\\n"; for f in /proc/self/fd/*; do echo "fd $f $(readlink $f)"; done',
          ],
        });
        const [envPart, fdPart] = r.stdout.split('\n--fds--\n');
        // tap's processinfo plugin patches child_process to inject its own NODE_OPTIONS/_TAPJS_* into
        // every spawn in this test process; that is the harness, not the runner, so it is set aside.
        const envLines = envPart
          .split('\0')
          .filter(
            (l) =>
              l && !l.startsWith('_TAPJS_') && !(l.startsWith('NODE_OPTIONS=') && l.includes('@tapjs/processinfo')),
          );
        t.same(envLines.filter((l) => !/^(PWD|SHLVL|_)=/.test(l)).sort(), ['A=1']);
        const leaked = fdPart
          .trim()
          .split('\n')
          .map((l) => l.split(' ')[2])
          .filter((target) => ours.has(target));
        t.match(fdPart, /fd \/proc\/self\/fd\/2 /, 'the fd listing ran');
        t.same(leaked, [], 'no socket of this process is open in the child');
      });
    },
  );
}
