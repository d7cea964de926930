// The control page on a TLS Gateway (gateway.tls.enabled), in the system's Chromium: served over https://,
// its own https:// origin opens a session (and pairs as the Control UI on loopback), while a page on
// another https:// origin and the plain http:// spelling of the page's own origin are refused at the
// upgrade. The browser trusts the self-signed certificate only for this test (ignoreHTTPSErrors).
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import WebSocket from 'ws';

import { startGateway } from '../../lib/gateway/index.js';
import { generateSelfSignedCertificate } from '../../lib/gateway/self-signed-cert.js';
import { launchChromium } from '../helpers/control-ui.js';

t.setTimeout(180_000);

const TOKEN = 'ui-https-token-0123456789abcdef';

/** A WebSocket upgrade with `origin` (as a browser on that origin would send it): its HTTP status. */
function upgradeStatus(url: string, origin: string, fingerprintPinned: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin, rejectUnauthorized: !fingerprintPinned });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

t.test('control page over https: own origin served and admitted, other origins refused', async (t) => {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-ui-https-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const gateway = await startGateway({
    port: 0,
    stateDir,
    env: {},
    token: TOKEN,
    tls: { enabled: true },
    autoApproveNodes: true,
  });
  t.teardown(() => gateway.close());
  t.ok(gateway.controlUi, 'the page is built (npm run build)');
  const pageUrl = gateway.controlUi!.url;
  t.match(pageUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/, 'the page URL is https://');
  const port = gateway.port;

  // Without a browser: the page's own https origin upgrades; its http spelling and another port do not.
  t.equal(await upgradeStatus(`wss://127.0.0.1:${port}/`, `https://127.0.0.1:${port}`, true), 101, 'own https origin');
  t.equal(await upgradeStatus(`wss://127.0.0.1:${port}/`, `https://localhost:${port}`, true), 101, 'localhost too');
  t.equal(await upgradeStatus(`wss://127.0.0.1:${port}/`, `http://127.0.0.1:${port}`, true), 403, 'http:// refused');
  t.equal(await upgradeStatus(`wss://127.0.0.1:${port}/`, `https://127.0.0.1:${port + 1}`, true), 403, 'other port');

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const response = await page.goto(`${pageUrl}#token=${TOKEN}`);
  t.equal(response?.status(), 200, 'the page is served over https');
  await page.getByText(/^Connected \(/).waitFor({ timeout: 60_000 });
  t.equal(await page.evaluate(() => location.protocol), 'https:');
  const device = gateway.devices.paired().find((d) => d.clientId === 'openclaw-control-ui');
  t.ok(device, 'the https page paired as the Control UI (its own origin, on loopback)');
  const shot = path.join(os.tmpdir(), 'ocipc-control-ui-https.png');
  await page.screenshot({ path: shot });
  t.ok(fs.statSync(shot).size > 1000, `screenshot at ${shot}`);

  // A page on another https origin (a second self-signed site on 127.0.0.1) cannot open a session.
  const other = generateSelfSignedCertificate({ ipAddresses: ['127.0.0.1'] });
  const site = https.createServer({ cert: other.certPem, key: other.keyPem }, (_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>another site</title><p>another site</p>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())));
  const sitePort = (site.address() as { port: number }).port;
  const evil = await context.newPage();
  await evil.goto(`https://127.0.0.1:${sitePort}/`);
  const pairedBefore = gateway.devices.paired().length;
  const outcome = await evil.evaluate(
    (gwPort) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(`wss://127.0.0.1:${gwPort}/`);
        socket.onopen = () => resolve('open');
        socket.onmessage = () => resolve('message');
        socket.onerror = () => resolve('error');
      }),
    port,
  );
  t.equal(outcome, 'error', 'another https origin gets no WebSocket');
  t.equal(gateway.devices.paired().length, pairedBefore, 'and pairs nothing');
});
