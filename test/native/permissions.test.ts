import t from 'tap';

import { PERMISSION_NAMES, permissions } from '../../lib/index.js';

t.test(
  'every permission is not-applicable on Linux, answered by the native layer',
  { skip: process.platform !== 'linux' && 'Linux only' },
  async (t) => {
    for (const name of PERMISSION_NAMES) {
      t.equal(await permissions.status(name), 'not-applicable', `status ${name}`);
      t.equal(await permissions.request(name), 'not-applicable', `request ${name}`);
      t.same(await permissions.statusDetail(name), { status: 'not-applicable', reason: 'unsupported-platform' });
    }
    t.equal(await permissions.status('appleScript', { targetBundleId: 'com.apple.Finder' }), 'not-applicable');
  },
);

t.test('bad arguments are TypeErrors from TypeScript', async (t) => {
  t.throws(() => permissions.statusDetail('location' as never), TypeError);
  await t.rejects(permissions.status('location' as never), TypeError);
  await t.rejects(permissions.request('Camera' as never), TypeError);
  t.throws(() => permissions.statusDetail('appleScript', { targetBundleId: 'com.apple.Terminal"' }), TypeError);
  t.throws(() => permissions.statusDetail('camera', { targetBundleId: 'com.apple.Terminal' }), TypeError);
  t.throws(() => permissions.requestDetail('camera', { timeoutMs: 0 }), TypeError);
});
