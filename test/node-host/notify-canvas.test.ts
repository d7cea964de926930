// system.notify and canvas.* on a headless Linux node: clear, typed errors where it cannot deliver.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { canvasUnavailable } from '../../lib/node-host/canvas.js';
import { notifierArgv, parseNotifyParams, systemNotify } from '../../lib/node-host/notify.js';

t.test('system.notify params', async (t) => {
  t.throws(() => parseNotifyParams({ title: ' ', body: '' }), {
    code: 'INVALID_REQUEST',
    message: 'INVALID_REQUEST: empty notification',
  });
  t.same(parseNotifyParams({ title: 'T', body: 'B', sound: 'x' }), { title: 'T', body: 'B' });
  // Wrong types, oversize and too-deep values: INVALID_REQUEST naming the field (the schema in notify.ts).
  let deep: unknown = 'x';
  for (let i = 0; i < 40; i++) deep = { v: deep };
  for (const [params, message] of [
    ['hello', 'INVALID_REQUEST: params must be an object'],
    [[{ title: 't' }], 'INVALID_REQUEST: params must be an object'],
    [{ title: 5, body: 'b' }, 'INVALID_REQUEST: title must be a string'],
    [{ title: 't', body: ['b'] }, 'INVALID_REQUEST: body must be a string'],
    [{ title: 't'.repeat(64 * 1024 + 1) }, 'INVALID_REQUEST: title must be a string'],
    [{ title: 't', body: deep }, 'INVALID_REQUEST: body must be a string'],
  ] as const) {
    t.throws(
      () => parseNotifyParams(params),
      { code: 'INVALID_REQUEST', message },
      JSON.stringify(params).slice(0, 50),
    );
  }
  t.same(
    parseNotifyParams({ title: null, body: 'b'.repeat(5000) }),
    { title: '', body: 'b'.repeat(4096) },
    'cut to 4096',
  );
});

t.test('Linux: notify-send when installed (argv, options cannot be injected), else UNAVAILABLE', async (t) => {
  const dir = t.testdir();
  t.equal(notifierArgv({ title: 't', body: 'b' }, 'linux', { PATH: dir }), undefined, 'no notify-send on PATH');
  const fake = path.join(dir, 'notify-send');
  const log = path.join(dir, 'args.txt');
  fs.writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\n`, { mode: 0o755 });
  t.same(
    notifierArgv({ title: '--help', body: 'b' }, 'linux', { PATH: dir }),
    [fake, '--', '--help', 'b'],
    '`--` keeps a title from becoming an option',
  );
  const savedPath = process.env.PATH;
  process.env.PATH = dir;
  t.teardown(() => {
    process.env.PATH = savedPath;
  });
  if (process.platform === 'linux') {
    t.equal(await systemNotify({ title: 'hello', body: 'world $(id)' }), undefined, 'success has no payload');
    t.equal(fs.readFileSync(log, 'utf8'), '--\nhello\nworld $(id)\n', 'title and body passed verbatim as argv');
    fs.rmSync(fake);
    await t.rejects(systemNotify({ title: 'x', body: 'y' }), {
      code: 'UNAVAILABLE',
      message: /notify-send is not installed/,
    });
  }
});

t.test('canvas.* is a clear UNAVAILABLE on a headless node', async (t) => {
  t.throws(() => canvasUnavailable('canvas.present'), {
    code: 'UNAVAILABLE',
    message: /^CANVAS_UNAVAILABLE: canvas.present/,
  });
});
