// startNodeHostChild against real child processes standing in for `node run --json`: the ready line may
// arrive split across chunks, noise and a malformed "ready" line must not crash the parent, and a child
// that never becomes ready or exits early is a typed error.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startNodeHostChild } from '../../lib/node-host/child.js';

function script(t: Test, body: string): string {
  const dir = t.testdir();
  const file = path.join(dir, 'entry.mjs');
  fs.writeFileSync(file, body);
  return file;
}

const base = { url: 'ws://127.0.0.1:1/', token: 't', stateDir: os.tmpdir(), log: () => {} };

t.test('ready line split across writes, after noise and a malformed ready line', async (t) => {
  const entry = script(
    t,
    `
    const argv = process.argv.slice(2);
    if (argv.join(' ') !== 'node run --url ws://127.0.0.1:1/ --json') { console.error('bad argv ' + argv.join(' ')); process.exit(9); }
    process.stdout.write('noise\\n{"ready":true, not json}\\n');
    const line = JSON.stringify({ ready: true, nodeId: 'n-123', displayName: 'child' }) + '\\n';
    process.stdout.write(line.slice(0, 10));
    setTimeout(() => process.stdout.write(line.slice(10)), 300);
    setInterval(() => {}, 1000);
    process.on('SIGTERM', () => process.exit(0));
  `,
  );
  const child = await startNodeHostChild({ ...base, entry, readyTimeoutMs: 20_000 });
  t.equal(child.nodeId, 'n-123');
  t.equal(child.displayName, 'child');
  t.ok(child.pid > 0);
  process.kill(child.pid, 0);
  await child.close();
  t.throws(() => process.kill(child.pid, 0), { code: 'ESRCH' }, 'close() ended the child');
  await t.resolves(child.close(), 'a second close is harmless');
});

t.test('no ready line in time: ERR_NODE_CHILD, and the child is stopped', async (t) => {
  const pidFile = path.join(os.tmpdir(), `ocipc-child-pid-${process.pid}`);
  t.teardown(() => fs.rmSync(pidFile, { force: true }));
  const entry = script(
    t,
    `
    import fs from 'node:fs';
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    process.stdout.write('{"ready":true\\n');
    setInterval(() => {}, 1000);
  `,
  );
  // Generous: the child must have started (and written its pid) before the deadline, even on a loaded box.
  await t.rejects(startNodeHostChild({ ...base, entry, readyTimeoutMs: 10_000 }), {
    code: 'ERR_NODE_CHILD',
    message: /not ready within 10000 ms/,
  });
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the child was killed');
});

t.test('an endless line before ready is refused, not buffered', async (t) => {
  const entry = script(
    t,
    `
    const chunk = 'x'.repeat(16 * 1024);
    let n = 0;
    const timer = setInterval(() => { process.stdout.write(chunk); if (++n > 64) clearInterval(timer); }, 1);
    setInterval(() => {}, 1000);
  `,
  );
  await t.rejects(startNodeHostChild({ ...base, entry, readyTimeoutMs: 20_000 }), {
    code: 'ERR_NODE_CHILD',
    message: /line over/,
  });
});

t.test('a child that exits first is an error with its stderr', async (t) => {
  const entry = script(t, `console.error('boom: cannot start'); process.exit(3);`);
  await t.rejects(startNodeHostChild({ ...base, entry, readyTimeoutMs: 20_000 }), {
    code: 'ERR_NODE_CHILD',
    message: /exited with 3: boom: cannot start/,
  });
});
