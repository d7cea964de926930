// The cmake-js build (npm run build:cmake) must load and expose the same API as the node-gyp build.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { getBinding, type RawBinding } from '../../lib/native/binding.js';
import { listenUnix, nextConnection } from '../helpers/native.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cmakeAddon = path.join(root, 'build-cmake', 'Release', 'openclaw_ipc.node');

t.test(
  'cmake-js build loads and works like the node-gyp build',
  { skip: !fs.existsSync(cmakeAddon) && 'build-cmake/ absent: run npm run build:cmake' },
  async (t) => {
    const require = createRequire(import.meta.url);
    const cmake = require(cmakeAddon) as RawBinding;
    const gyp = getBinding();
    t.same(Object.keys(cmake).sort(), Object.keys(gyp).sort(), 'same exports');
    cmake.init((kind, code, message, errno) => Object.assign(new Error(message), { kind, code, errno }));
    const s = await listenUnix();
    t.teardown(() => s.close());
    const accepted = nextConnection(s.server);
    const client = net.connect(s.sockPath);
    const conn = await accepted;
    t.teardown(() => {
      client.destroy();
      conn.destroy();
    });
    const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
    t.equal(cmake.peerUid(fd), process.getuid!());
    const out = new Int32Array(5);
    cmake.peerCred(fd, out, new Uint8Array(32), false);
    t.equal(out[0], process.pid);
    t.equal(out[3], -1, 'no pidfd when not asked for');
    let thrown: unknown;
    try {
      cmake.peerUid(0x7ffffff0);
    } catch (err) {
      thrown = err;
    }
    t.match(thrown, { kind: 'peercred', errno: os.constants.errno.EBADF }, 'typed EBADF through the factory');
    if (cmake.spawn) {
      const result = await new Promise<{ exitCode: number; stdout: Buffer }>((resolve, reject) => {
        cmake.spawn!(
          {
            file: '/bin/echo',
            execFd: null,
            argv: ['echo', 'cmake'],
            env: [],
            cwd: null,
            stdin: null,
            timeoutMs: 0,
            killGraceMs: 1000,
            maxOutputBytes: 1024,
          },
          (err, r) => (err ? reject(err) : resolve(r!)),
        );
      });
      t.equal(result.exitCode, 0);
      t.equal(result.stdout.toString(), 'cmake\n');
    }
  },
);
