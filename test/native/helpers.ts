// Shared helpers for test/native: real sockets and real child processes, no mocks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface SocketDir {
  dir: string;
  sockPath: string;
  server: net.Server;
  close(): void;
}

/** A listening Unix socket in a fresh temp dir; `shared` opens it to other uids (tests with 65534);
 *  `allowHalfOpen` keeps accepted sockets (and their fds) open after the peer goes away. */
export async function listenUnix(shared = false, allowHalfOpen = false): Promise<SocketDir> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-native-'));
  if (shared) fs.chmodSync(dir, 0o755);
  const sockPath = path.join(dir, 's.sock');
  const server = net.createServer({ allowHalfOpen });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, resolve);
  });
  if (shared) fs.chmodSync(sockPath, 0o777);
  return {
    dir, sockPath, server,
    close() {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function nextConnection(server: net.Server): Promise<net.Socket> {
  return new Promise((resolve) => server.once('connection', resolve));
}

/** Resolves once the peer has written its first line (it is connected and running). */
export function firstLine(sock: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        sock.off('data', onData);
        resolve(buf.slice(0, i));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

/** A node child that connects to sockPath, says "ready", and exits when the server closes the socket. */
export function spawnNodePeer(sockPath: string, opts: { uid?: number; gid?: number } = {}): ChildProcess {
  const code = `const s=require('net').connect(${JSON.stringify(sockPath)},()=>s.write('ready\\n'));` +
    `s.on('data',()=>{});s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(5));`;
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore', ...opts });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Compiles test/native/fixtures/peer-helper.c into dir; undefined when there is no C compiler. */
export function compilePeerHelper(dir: string): string | undefined {
  const out = path.join(dir, 'peer-helper');
  const src = path.join(here, 'fixtures', 'peer-helper.c');
  for (const cc of ['cc', 'gcc', 'clang']) {
    const r = spawnSync(cc, ['-O1', '-o', out, src], { stdio: 'ignore' });
    if (r.status === 0) return out;
  }
  return undefined;
}
