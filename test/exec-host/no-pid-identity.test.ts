// Security case 11: identity comes from the connection (SO_PEERCRED via the addon), never from a
// pid looked up later. /proc/<pid> may be read only for the audit record and the lock's liveness.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/exec-host');
const allowed = new Map([
  ['audit-log.ts', 'audit record only'],
  ['instance-lock.ts', 'lock holder liveness only'],
]);

t.test('no /proc/<pid> or LOCAL_PEERPID outside the audit and lock modules', async (t) => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
  t.ok(files.includes('server.ts') && files.includes('client.ts'));
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const uses = /\/proc\/\$\{|\/proc\/'\s*\+|LOCAL_PEERPID|peerPid/.test(text);
    if (allowed.has(file)) continue;
    t.notOk(uses, `${file} does not derive identity from a pid`);
  }
  const server = fs.readFileSync(path.join(dir, 'server.ts'), 'utf8');
  t.match(server, /openPeerProcess\(socket\)/, 'the server takes peer credentials from the connected socket');
  t.match(server, /peer\.uid !== this\.euid/, 'and authorises on that uid');
});

t.test('the same holds for every other module that authorises a local peer or a client', async (t) => {
  const libDir = path.resolve(dir, '..');
  for (const area of ['bridge', 'node-host', 'gateway', 'client', 'common']) {
    const areaDir = path.join(libDir, area);
    const files = fs
      .readdirSync(areaDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'));
    t.ok(files.length > 0, `lib/${area} has sources`);
    for (const file of files) {
      const text = fs.readFileSync(path.join(areaDir, file), 'utf8');
      t.notOk(
        /\/proc\/\$\{|\/proc\/'\s*\+|LOCAL_PEERPID|peerPid/.test(text),
        `lib/${area}/${file} does not derive identity from a pid`,
      );
    }
  }
});
