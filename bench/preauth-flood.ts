// Pre-auth budget under attack (issue 7 item 13): while another process on 127.0.0.1 keeps C sockets in the
// pre-auth state (reopening each one the moment the Gateway closes it), how often does a real operator with
// the token get in, and how long does it take? `node --import tsx bench/preauth-flood.ts [C …]`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GatewayClient } from '../lib/client/gateway-client.js';
import { startGateway } from '../lib/gateway/index.js';

const ATTEMPTS = 40;
const levels = process.argv.slice(2).map(Number).filter(Number.isFinite);

/** The attacker: its own process, C concurrent idle WebSockets, each reopened as soon as it closes. */
const ATTACKER = `
const WebSocket = require(${JSON.stringify(require_ws())});
const [url, c] = [process.argv[1], Number(process.argv[2])];
let opened = 0;
const open = () => {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('open', () => opened++);
  ws.on('error', () => {});
  ws.on('close', () => setImmediate(open));
};
for (let i = 0; i < c; i++) open();
setInterval(() => process.stdout.write(opened + '\\n'), 1000);
`;

function require_ws(): string {
  return path.dirname(new URL(import.meta.resolve('ws')).pathname);
}

async function connectOnce(url: string, token: string): Promise<number | undefined> {
  const started = process.hrtime.bigint();
  const client = new GatewayClient({
    url,
    token,
    role: 'operator',
    scopes: ['operator.read'],
    client: { id: 'cli', mode: 'cli', version: 'bench', platform: process.platform },
    reconnect: false,
  });
  try {
    await client.start();
    return Number(process.hrtime.bigint() - started) / 1e6;
  } catch {
    return undefined;
  } finally {
    await client.close().catch(() => undefined);
  }
}

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

for (const c of levels.length ? levels : [0, 32, 64, 256]) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-flood-'));
  const gw = await startGateway({ port: 0, stateDir, token: 'bench-token-0123456789', env: {} });
  const attacker = spawn(process.execPath, ['-e', ATTACKER, gw.url, String(c)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let attackerOpens = 0;
  attacker.stdout.on('data', (d: Buffer) => {
    attackerOpens = Number(d.toString().trim().split('\n').pop());
  });
  await new Promise((resolve) => setTimeout(resolve, c ? 1500 : 0));
  const latencies: number[] = [];
  let failed = 0;
  for (let i = 0; i < ATTEMPTS; i++) {
    const ms = await connectOnce(gw.url, gw.token);
    if (ms === undefined) failed++;
    else latencies.push(ms);
  }
  latencies.sort((a, b) => a - b);
  attacker.kill('SIGKILL');
  await gw.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
  process.stdout.write(
    `attacker sockets ${String(c).padStart(4)}: operator connects ok ${latencies.length}/${ATTEMPTS}, failed ${failed}, ` +
      `p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms; attacker opened ${attackerOpens} sockets\n`,
  );
}
