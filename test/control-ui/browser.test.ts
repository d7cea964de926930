/* eslint-disable @typescript-eslint/no-explicit-any -- browser-side results are untyped JSON */
// The control page in a real headless Chromium against the real stack (Gateway, exec host, node host):
// pairing from the URL fragment, approvals live (Allow once, Deny, keyboard only, a second tab, the CLI
// answering), a stale policy edit, the Run box, a read-only browser, another origin and a rebinding Host
// getting nothing, no token anywhere it must not be, and axe-core. One browser for the whole file;
// screenshots of each state go to .tap/control-ui/.
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { Browser, BrowserContext, Page } from 'playwright-core';
import t from 'tap';

import { approvalsFilePath, updateApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import { generateDeviceIdentity } from '../../lib/protocol/index.js';
import { launchChromium, runOnNode, startStack, type Stack } from '../helpers/control-ui.js';
import { connectRaw } from '../helpers/gateway.js';

// One browser and one stack for the whole file: generous limits for a loaded machine, not timed assertions.
t.setTimeout(240_000);
const SHOTS = path.resolve(import.meta.dirname, '..', '..', '.tap', 'control-ui');
const REBIND_HOST = 'rebind.test';
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL any page asked for, and every console line: checked for the token at the end. */
const requestUrls: string[] = [];
const consoleLines: string[] = [];
let shot = 0;

async function screenshot(p: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await p.screenshot({ path: path.join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

function watch(p: Page): Page {
  p.on('request', (r) => requestUrls.push(r.url()));
  p.on('console', (m) => consoleLines.push(m.text()));
  p.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return p;
}

async function openPage(ctx: BrowserContext, fragment = ''): Promise<Page> {
  const p = watch(await ctx.newPage());
  await p.goto(`${stack.pageUrl}${fragment}`);
  return p;
}

const connected = (p: Page) => p.getByText(/^Connected \(/).waitFor({ timeout: 60_000 });
const card = (p: Page) => p.locator('article[data-approval-id]');
const showTab = (p: Page, name: string) =>
  p
    .getByRole('navigation')
    .getByRole('button', { name: new RegExp(`^${name}`) })
    .click();

t.before(async () => {
  fs.rmSync(SHOTS, { recursive: true, force: true });
  // The node's commands wait for an operator, so the Nodes test approves them from the page.
  stack = await startStack({ autoApproveNodes: false });
  browser = await launchChromium([`--host-resolver-rules=MAP ${REBIND_HOST} 127.0.0.1`]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(60_000);
});

t.teardown(async () => {
  await browser?.close();
  await stack?.close();
});

t.test('first open: the token from the URL fragment pairs this browser, then leaves the URL', async (t) => {
  page = await openPage(context, `#token=${stack.gateway.token}`);
  await connected(page);
  t.equal(page.url(), stack.pageUrl, 'the fragment is gone from the address bar');
  t.same(
    await page.evaluate(() => ({ hash: location.hash, state: history.state })),
    { hash: '', state: null },
    'replaced in place: no history entry keeps it',
  );
  const device = stack.gateway.devices.paired().find((d) => d.clientId === 'openclaw-control-ui');
  t.ok(device, 'paired as the Control UI (automatic on loopback)');
  t.same(
    [...(device?.scopes ?? [])].sort(),
    ['operator.admin', 'operator.approvals', 'operator.pairing', 'operator.read', 'operator.write'],
    'the scopes its tabs need',
  );
  const stored = await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const r = indexedDB.open('openclaw-control');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const get = (key: string) =>
      new Promise<any>((resolve) => {
        const r = db.transaction('kv').objectStore('kv').get(key);
        r.onsuccess = () => resolve(r.result);
      });
    const identity = await get('identity');
    let exported = 'exported';
    try {
      await crypto.subtle.exportKey('pkcs8', identity.keyPair.privateKey);
    } catch (err) {
      exported = (err as Error).name;
    }
    return { deviceId: identity.deviceId, extractable: identity.keyPair.privateKey.extractable, exported };
  });
  t.equal(stored.deviceId, device?.deviceId, 'the key in IndexedDB is the paired device');
  t.equal(stored.extractable, false);
  t.equal(stored.exported, 'InvalidAccessError', 'no script can read the private key');
  await screenshot(page, 'connected');
});

t.test('Nodes: the node and a remote device wait for pairing; Approve and Reject from the page', async (t) => {
  // A device behind a proxy (X-Forwarded-For) is not direct-local: its pairing waits for an operator.
  const remote = await connectRaw(stack.gateway, {
    role: 'operator',
    identity: generateDeviceIdentity(),
    clientId: 'cli',
    mode: 'cli',
    displayName: 'laptop via proxy',
    scopes: ['operator.read'],
    headers: { 'x-forwarded-for': '203.0.113.7' },
  });
  t.match(remote.res.error?.details, { code: 'PAIRING_REQUIRED' }, 'the remote device must be approved');
  remote.client.close();
  await showTab(page, 'Nodes');
  const nodeRequest = page.getByRole('article', { name: /^Node pairing request/ });
  const deviceRequest = page.getByRole('article', { name: /^Device pairing request/ });
  await Promise.all([nodeRequest.waitFor(), deviceRequest.waitFor()]);
  t.match(await nodeRequest.innerText(), /test-node[\s\S]*asks to offer commands[\s\S]*system\.run/);
  t.match(await deviceRequest.innerText(), /laptop via proxy[\s\S]*operator\.read[\s\S]*a new device \(not-paired\)/);
  await screenshot(page, 'nodes-pending');

  await nodeRequest.getByRole('button', { name: 'Approve' }).click();
  await nodeRequest.waitFor({ state: 'detached' });
  const paired = stack.gateway.nodes.paired().find((n) => n.nodeId === stack.node.nodeId);
  t.ok(paired?.commands.includes('system.run'), 'the node may now run commands');
  await deviceRequest.getByRole('button', { name: 'Reject' }).click();
  await deviceRequest.waitFor({ state: 'detached' });
  t.match(await page.getByRole('status').filter({ hasText: 'Done:' }).innerText(), /rejected device laptop via proxy/);
  t.notOk(
    stack.gateway.devices.paired().some((d) => d.displayName === 'laptop via proxy'),
    'the rejected device is not paired',
  );
  const nodeCard = page.getByRole('article', { name: 'Node test-node' });
  await nodeCard.getByText(/^yes, approved/).waitFor();
  t.match(await nodeCard.innerText(), /Connected since[\s\S]*system\.run/, 'connected, with its commands');
  await screenshot(page, 'nodes');
  await showTab(page, 'Approvals');
});

t.test('an approval appears live; Allow once runs the command and the operator gets its output', async (t) => {
  const run = runOnNode(stack, ['echo', 'hello from the node', 'two\nlines', 'x\u202Egnp.exe'], 'allow-1');
  await card(page).first().waitFor();
  const boxes = await card(page).first().locator('ol.argv > li code').allInnerTexts();
  t.same(
    boxes,
    ['echo', 'hello from the node', 'two\\nlines', 'x\\u{202e}gnp.exe'],
    'one box per argument; the newline and the RTL override are shown as escapes',
  );
  t.match(await card(page).first().innerText(), /Executable\s+\/(usr\/)?bin\/echo/);
  t.match(await card(page).first().innerText(), /then askFallback=deny applies/);
  t.match(await card(page).first().innerText(), /Asked by\s+pid \d+ \S+/, 'the requesting process is named');
  t.match(await page.getByRole('button', { name: /^Approvals \(1 waiting\)/ }).innerText(), /1 waiting/);
  await screenshot(page, 'approval-pending');
  await card(page).first().getByRole('button', { name: 'Allow once' }).click();
  const result = (await run) as any;
  t.equal(result.payload.exitCode, 0);
  t.equal(result.payload.stdout, 'hello from the node two\nlines x\u202Egnp.exe\n', 'the output reached the operator');
  await card(page).first().waitFor({ state: 'detached' });
  t.match(await page.locator('ul.decided li').first().innerText(), /^Allowed once at .* by this browser/);
  await screenshot(page, 'approval-allowed');
});

t.test('Deny, with the keyboard alone, gives the operator the denial', async (t) => {
  const run = runOnNode(stack, ['echo', 'never printed'], 'deny-1').then(
    () => undefined,
    (err: Error) => err,
  );
  await card(page).first().waitFor();
  // Tab through the page until the Deny button has focus, then press Enter: no mouse.
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Deny') break;
  }
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Deny', 'Deny reached by Tab');
  await screenshot(page, 'deny-focused');
  await page.keyboard.press('Enter');
  const err = await run;
  t.match(err?.message, /SYSTEM_RUN_DENIED/, 'the operator is told it was denied');
  await card(page).first().waitFor({ state: 'detached' });
  t.match(await page.locator('ul.decided li').first().innerText(), /^Denied/);
});

t.test('first answer wins: a second tab and the CLI see it at once', async (t) => {
  // Same browser profile: the second tab signs in with the stored device token, no secret needed.
  const second = await openPage(context);
  await connected(second);
  const run1 = runOnNode(stack, ['echo', 'tab one answers'], 'tabs-1');
  await Promise.all([card(page).first().waitFor(), card(second).first().waitFor()]);
  await card(page).first().getByRole('button', { name: 'Allow once' }).click();
  await card(second).first().waitFor({ state: 'detached' });
  t.match(await second.locator('ul.decided li').first().innerText(), /^Allowed once/, 'tab two shows the answer');
  t.equal(((await run1) as any).payload.stdout, 'tab one answers\n');

  // The CLI answers (exec.approval.resolve from an operator): both pages drop the card.
  const run2 = runOnNode(stack, ['echo', 'the CLI answers'], 'tabs-2').catch((e: Error) => e);
  await Promise.all([card(page).first().waitFor(), card(second).first().waitFor()]);
  const id = await card(page).first().getAttribute('data-approval-id');
  await stack.operator.request('exec.approval.resolve', { id, decision: 'deny' });
  await Promise.all([
    card(page).first().waitFor({ state: 'detached' }),
    card(second).first().waitFor({ state: 'detached' }),
  ]);
  t.match(String(((await run2) as Error).message), /SYSTEM_RUN_DENIED/);

  // The terminal or desktop dialog answers (through the shared queue, as `up`'s prompts do): same effect.
  const run3 = runOnNode(stack, ['echo', 'the terminal answers'], 'tabs-3').catch((e: Error) => e);
  await Promise.all([card(page).first().waitFor(), card(second).first().waitFor()]);
  const terminalId = await card(page).first().getAttribute('data-approval-id');
  t.ok(stack.gateway.pending.resolve(terminalId!, 'deny', 'terminal'));
  await Promise.all([
    card(page).first().waitFor({ state: 'detached' }),
    card(second).first().waitFor({ state: 'detached' }),
  ]);
  t.match(String(((await run3) as Error).message), /SYSTEM_RUN_DENIED/);
  t.match(await second.locator('ul.decided li').first().innerText(), /^Denied .* by terminal/);
  t.match(
    await second.locator('ul.decided li').nth(1).innerText(),
    /^Denied .* by test operator:/,
    'a device-less operator is named in full',
  );
  await screenshot(second, 'second-tab');
  await second.close();
});

t.test('a policy edit from a stale load is refused with a clear message', async (t) => {
  await showTab(page, 'Policy');
  await page.getByRole('button', { name: 'Reload' }).click();
  const security = page.locator('fieldset').first().getByLabel('security');
  await security.selectOption('deny');
  // Meanwhile the CLI changes the file.
  updateApprovals(approvalsFilePath(stack.stateDir), (file) => {
    file.defaults = { ...file.defaults, askFallback: 'allowlist' };
  });
  await page.getByRole('button', { name: 'Save policy' }).click();
  const notice = page.getByRole('alert');
  await notice.waitFor();
  t.match(await notice.innerText(), /Not saved: the policy file changed after you loaded it/);
  let onDisk = JSON.parse(fs.readFileSync(approvalsFilePath(stack.stateDir), 'utf8'));
  t.equal(onDisk.defaults.security, 'allowlist', 'nothing written');
  await screenshot(page, 'policy-conflict');
  await page.getByRole('button', { name: 'Reload policy' }).click();
  await page.locator('fieldset').first().getByLabel('askFallback').waitFor();
  t.equal(await page.locator('fieldset').first().getByLabel('askFallback').inputValue(), 'allowlist', 'reloaded');
  await page.locator('fieldset').first().getByLabel('ask', { exact: true }).selectOption('always');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Saved.').waitFor();
  onDisk = JSON.parse(fs.readFileSync(approvalsFilePath(stack.stateDir), 'utf8'));
  t.match(onDisk.defaults, { security: 'allowlist', ask: 'always', askFallback: 'allowlist' });
  t.ok(onDisk.socket.token, 'the socket token is still in the file (the page never had it)');
  t.notOk(
    requestUrls.some((u) => u.includes(onDisk.socket.token)),
    'and it never appeared in a URL',
  );
  updateApprovals(approvalsFilePath(stack.stateDir), (file) => {
    file.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
  });
});

t.test('the Run box runs argv on a node as this operator; Activity shows the audit record', async (t) => {
  await showTab(page, 'Activity');
  await page.getByLabel(/Arguments, one per line/).fill('echo\nran from the page');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('button', { name: /^Approvals \(1 waiting\)/ }).click();
  await card(page).first().getByRole('button', { name: 'Allow once' }).click();
  await showTab(page, 'Activity');
  const result = page.getByRole('status', { name: 'Run result' });
  await result.waitFor();
  t.match(await result.innerText(), /Exit code 0[\s\S]*ran from the page/);
  const row = page.locator('tr[data-activity-id]').first();
  await row.waitFor();
  t.match(await row.innerText(), /echo[\s\S]*ran from the page[\s\S]*ran[\s\S]*allow-once[\s\S]*\b0\b[\s\S]*ms/);
  await page.getByLabel('Outcome').selectOption('denied');
  t.notMatch(await page.locator('tbody').innerText(), /ran from the page/, 'the filter hides it');
  await page.getByLabel('Outcome').selectOption('all');
  await screenshot(page, 'activity');
});

t.test('a read-only browser sees approvals but cannot answer', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 800, height: 900 } });
  ctx.setDefaultTimeout(60_000);
  t.teardown(() => ctx.close());
  const ro = await openPage(ctx);
  await ro.getByRole('heading', { name: 'Connect to the Gateway' }).waitFor();
  await screenshot(ro, 'login');
  await ro.getByLabel('Gateway token').fill(stack.gateway.token);
  await ro.getByLabel(/only look/).check();
  await ro.getByRole('button', { name: 'Connect' }).click();
  await connected(ro);
  t.match(await ro.getByRole('status').first().innerText(), /Connected \(read\)/);
  const run = runOnNode(stack, ['echo', 'seen read-only'], 'ro-1').catch(() => undefined);
  await card(ro).first().waitFor();
  t.equal(await card(ro).first().getByRole('button').count(), 0, 'no answer buttons');
  t.match(await card(ro).first().innerText(), /Read-only: this session lacks operator.approvals/);
  await screenshot(ro, 'read-only');
  await showTab(page, 'Approvals');
  await card(page).first().getByRole('button', { name: 'Deny' }).click();
  await card(ro).first().waitFor({ state: 'detached' });
  await run;
});

async function servePage(host: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>another site</title><p>another site</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { origin: `http://${host}:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

t.test('a page on another origin cannot open a session or read anything', async (t) => {
  const gwPort = stack.gateway.port;
  for (const host of ['127.0.0.1', 'localhost']) {
    const other = await servePage(host);
    t.teardown(other.close);
    const evil = await openPage(context).then(async (p) => {
      await p.goto(`${other.origin}/`);
      return p;
    });
    const connectionsBefore = stack.gateway.connectionCount();
    const result = await evil.evaluate(async (port) => {
      const ws = await new Promise<string>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
        socket.onopen = () => resolve('open');
        socket.onmessage = () => resolve('message');
        socket.onerror = () => resolve('error');
      });
      const read = await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.text(),
        (e: Error) => `blocked: ${e.name}`,
      );
      const frame = document.createElement('iframe');
      frame.src = `http://127.0.0.1:${port}/`;
      await new Promise((resolve) => {
        frame.onload = resolve;
        document.body.append(frame);
      });
      let frameDoc = 'unreadable';
      try {
        frameDoc = frame.contentDocument?.body?.innerHTML ?? 'unreadable';
      } catch {
        frameDoc = 'unreadable';
      }
      return { ws, read, frameDoc };
    }, gwPort);
    t.equal(result.ws, 'error', `${host}: the WebSocket upgrade is refused (no challenge, no session)`);
    t.match(result.read, /^blocked: TypeError/, `${host}: fetch cannot read the page`);
    t.equal(result.frameDoc, 'unreadable', `${host}: a frame cannot be read`);
    const child = evil.frames().find((f) => f !== evil.mainFrame());
    t.match(child?.url(), /^chrome-error:/, `${host}: the page refuses to be framed (X-Frame-Options/frame-ancestors)`);
    // (Other pages' sockets may still be closing: the count can only have gone down.)
    t.ok(stack.gateway.connectionCount() <= connectionsBefore, `${host}: no WebSocket reached the Gateway`);
    await screenshot(evil, `other-origin-${host}`);
    await evil.close();
  }
});

t.test('a rebinding Host is refused (DNS points another name at 127.0.0.1)', async (t) => {
  const p = watch(await context.newPage());
  const response = await p.goto(`http://${REBIND_HOST}:${stack.gateway.port}/`);
  t.equal(response?.status(), 403, 'the page is not served under a foreign name');
  t.match(await p.innerText('body'), /Host/);
  const ws = await p.evaluate(
    (port) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(`ws://${location.hostname}:${port}/`);
        socket.onopen = () => resolve('open');
        socket.onerror = () => resolve('error');
      }),
    stack.gateway.port,
  );
  t.equal(ws, 'error', 'and its WebSocket upgrade is refused');
  await p.close();
});

t.test('axe-core: no serious or critical violation in any view', async (t) => {
  const run = runOnNode(stack, ['echo', 'for axe'], 'axe-1').catch(() => undefined);
  await showTab(page, 'Approvals');
  await card(page).first().waitFor();
  await page.evaluate(axeSource);
  // One pass over all four views at once (each normally hidden but the chosen one), then back.
  const violations = await page.evaluate(async () => {
    const hidden = [...document.querySelectorAll('main > [hidden]')];
    for (const el of hidden) el.removeAttribute('hidden');
    try {
      const axe = (window as any).axe;
      const results = await axe.run(document, { resultTypes: ['violations'] });
      return {
        views: document.querySelectorAll('main > div').length,
        serious: results.violations
          .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
          .map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`),
      };
    } finally {
      for (const el of hidden) el.setAttribute('hidden', '');
    }
  });
  t.equal(violations.views, 4, 'Approvals (with a pending card), Nodes, Policy and Activity checked');
  t.same(violations.serious, [], 'no serious or critical violation');
  await card(page).first().getByRole('button', { name: 'Deny' }).click();
  await run;
  // The login form too (a fresh profile shows it).
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(60_000);
  t.teardown(() => ctx.close());
  const login = await openPage(ctx);
  await login.getByRole('heading', { name: 'Connect to the Gateway' }).waitFor();
  await login.evaluate(axeSource);
  const loginViolations = await login.evaluate(async () => {
    const results = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return results.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => v.id);
  });
  t.same(loginViolations, [], 'login form: no serious or critical violation');
});

t.test('a narrow window: one column, no sideways scrolling', async (t) => {
  const narrow = await context.newPage();
  watch(narrow);
  await narrow.setViewportSize({ width: 360, height: 780 });
  await narrow.goto(stack.pageUrl);
  await connected(narrow);
  const run = runOnNode(stack, ['echo', 'a-long-argument-'.repeat(8)], 'narrow-1').catch(() => undefined);
  await card(narrow).first().waitFor();
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  t.ok(overflow <= 0, `no horizontal overflow (${overflow}px)`);
  await screenshot(narrow, 'narrow');
  await narrow.emulateMedia({ forcedColors: 'active' });
  await screenshot(narrow, 'forced-colors');
  await card(narrow).first().getByRole('button', { name: 'Deny' }).click();
  await run;
  await narrow.close();
});

t.test('no token in any URL, log, localStorage or stored state', async (t) => {
  const token = stack.gateway.token;
  t.ok(requestUrls.length > 10, `${requestUrls.length} requests seen`);
  t.same(
    requestUrls.filter((u) => u.includes(token)),
    [],
    'no request URL carries the token',
  );
  t.same(
    requestUrls.filter((u) => new URL(u).search !== ''),
    [],
    'no request has a query string at all',
  );
  t.same(
    stack.logs.filter((l) => l.includes(token)),
    [],
    'no Gateway or node log line',
  );
  t.same(
    consoleLines.filter((l) => l.includes(token)),
    [],
    'no browser console line',
  );
  const probe = await context.newPage();
  await probe.goto(stack.pageUrl);
  await connected(probe);
  const stored = await probe.evaluate(async () => {
    const local = JSON.stringify({ ...localStorage });
    const session = JSON.stringify({ ...sessionStorage });
    const db: IDBDatabase = await new Promise((resolve) => {
      const r = indexedDB.open('openclaw-control');
      r.onsuccess = () => resolve(r.result);
    });
    const all: unknown[] = await new Promise((resolve) => {
      const r = db.transaction('kv').objectStore('kv').getAll();
      r.onsuccess = () => resolve(r.result);
    });
    return { local, session, indexed: JSON.stringify(all), cookies: document.cookie };
  });
  t.equal(stored.local, '{}', 'localStorage is empty');
  t.equal(stored.session, '{}', 'sessionStorage is empty');
  t.equal(stored.cookies, '', 'no cookies');
  t.notOk(stored.indexed.includes(token), 'IndexedDB holds the device token, never the shared token');
  t.match(stored.indexed, /"deviceToken"|"token"/, 'the device token is kept (it needs the non-extractable key)');
  await probe.close();
});
