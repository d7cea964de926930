// npm run bench:ui — the control page's numbers, with a real `openclaw-ipc gateway` child process and
// the system's headless Chromium:
//   1. latency from an approval request to the page showing it: an operator sends exec.approval.request
//      (t0, wall clock); the page's MutationObserver sees the card and stamps the next animation frame
//      (t1, the same machine's wall clock); p50/p90/max over BENCH_UI_RUNS (default 50). Goal p50 ≤ 100 ms.
//   2. page weight: every asset gzip-compressed as served (goal ≤ 150 kB), and the time to "Connected".
//   3. the Gateway's RSS idle, with the page connected, and after the approval runs.
// Uses dist/ when built (what `npm start` runs), else tsx (reported).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { Page } from 'playwright-core';

import { connectOperator } from '../lib/client/operator.js';
import { loadControlUiAssets } from '../lib/gateway/control-ui.js';
import { launchChromium } from '../test/helpers/control-ui.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_UI_RUNS ?? 50);
const distMain = path.join(repo, 'dist', 'cli', 'main.js');
const useDist = fs.existsSync(distMain);
const cliArgs = useDist ? [distMain] : ['--import', 'tsx', path.join(repo, 'lib', 'cli', 'main.ts')];
const TOKEN = crypto.randomBytes(24).toString('hex');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

async function startGatewayChild(stateDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...cliArgs, 'gateway', '--port', '0', '--state-dir', stateDir, '--json'], {
    env: { ...process.env, OPENCLAW_GATEWAY_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as { port: number }));
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
  });
  return { child, port: ready.port };
}

/** In the page: stamp Date.now() at the first animation frame after each approval card appears. */
async function watchCards(page: Page): Promise<void> {
  await page.evaluate(() => {
    const shown: Record<string, number> = {};
    (window as unknown as { __shown: Record<string, number> }).__shown = shown;
    new MutationObserver((records) => {
      for (const record of records)
        for (const node of record.addedNodes) {
          if (!(node instanceof HTMLElement)) continue;
          const cards = node.matches('[data-approval-id]') ? [node] : [...node.querySelectorAll('[data-approval-id]')];
          for (const card of cards) {
            const id = card.getAttribute('data-approval-id')!;
            if (shown[id] === undefined) requestAnimationFrame(() => (shown[id] ??= Date.now()));
          }
        }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-bench-ui-'));
  const { child, port } = await startGatewayChild(stateDir);
  const pageUrl = `http://127.0.0.1:${port}/`;
  const browser = await launchChromium();
  try {
    const assets = loadControlUiAssets();
    const idleRss = rssMb(child.pid!);
    const page = await browser.newPage();
    const loadStart = Date.now();
    await page.goto(`${pageUrl}#token=${TOKEN}`);
    await page.getByText(/^Connected \(/).waitFor({ timeout: 30_000 });
    const connectMs = Date.now() - loadStart;
    const connectedRss = rssMb(child.pid!);
    await watchCards(page);

    const operator = await connectOperator({
      url: `ws://127.0.0.1:${port}/`,
      token: TOKEN,
      tokenSource: 'option',
      stateDir,
    });
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const id = crypto.randomUUID();
      const t0 = Date.now();
      const decided = operator.request('exec.approval.request', {
        id,
        command: `/bin/echo bench ${i}`,
        commandArgv: ['/bin/echo', 'bench', String(i)],
        cwd: '/tmp',
        agentId: 'main',
        timeoutMs: 60_000,
        twoPhase: true,
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      await page.waitForFunction((want) => (window as any).__shown?.[want] !== undefined, id, { polling: 5 });
      const t1 = await page.evaluate((want) => (window as any).__shown[want] as number, id); // eslint-disable-line @typescript-eslint/no-explicit-any
      samples.push(t1 - t0);
      await operator.request('exec.approval.resolve', { id, decision: 'deny' });
      await decided;
      await page.locator(`[data-approval-id="${id}"]`).waitFor({ state: 'detached' });
    }
    const afterRss = rssMb(child.pid!);
    await operator.close();
    const sorted = [...samples].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const report = {
      runtime: useDist ? 'dist' : 'tsx',
      chromium: browser.version(),
      approvalToPage: {
        runs,
        p50Ms: p50,
        p90Ms: percentile(sorted, 90),
        maxMs: sorted[sorted.length - 1],
        goalP50Ms: 100,
      },
      pageWeight: {
        files: assets.files.size,
        rawBytes: assets.bytes.raw,
        gzipBytes: assets.bytes.gzip,
        goalGzipBytes: 150 * 1024,
      },
      pageConnectMs: connectMs,
      gatewayRssMb: {
        idle: +idleRss.toFixed(1),
        pageConnected: +connectedRss.toFixed(1),
        afterRuns: +afterRss.toFixed(1),
      },
    };
    process.stdout.write(
      [
        `control page, ${report.runtime}, Chromium ${report.chromium}`,
        `  approval request → shown on the page: p50 ${p50} ms, p90 ${report.approvalToPage.p90Ms} ms, max ${report.approvalToPage.maxMs} ms over ` +
          `${runs} runs (goal p50 ≤ 100 ms: ${p50 <= 100 ? 'met' : 'MISSED'})`,
        `  page weight: ${assets.files.size} files, ${assets.bytes.raw} B raw, ${assets.bytes.gzip} B gzip (goal ≤ 153600 B: ` +
          `${assets.bytes.gzip <= 150 * 1024 ? 'met' : 'MISSED'})`,
        `  page load to Connected (pairing included): ${connectMs} ms`,
        `  Gateway RSS: idle ${report.gatewayRssMb.idle} MB, page connected ${report.gatewayRssMb.pageConnected} MB, after ${runs} approvals ` +
          `${report.gatewayRssMb.afterRuns} MB`,
        `json: ${JSON.stringify(report)}`,
        '',
      ].join('\n'),
    );
    if (p50 > 100 || assets.bytes.gzip > 150 * 1024) process.exitCode = 1;
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
