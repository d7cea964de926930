// The control page over plain HTTP on the Gateway port: routes, the security headers on every answer,
// gzip and caching, fetch-metadata isolation, an unbuilt package, and the shipped weight budget.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';

import t, { type Test } from 'tap';

import { CONTROL_UI_CSP, DEFAULT_CONTROL_UI_ROOT, loadControlUiAssets } from '../../lib/gateway/control-ui.js';
import { startTestGateway } from '../helpers/gateway.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

// The suite runs after `npm run build`, which builds the page; a missing page is a failure, not a skip.
t.ok(fs.existsSync(path.join(DEFAULT_CONTROL_UI_ROOT, 'index.html')), 'dist/control-ui is built (npm run build)');

function checkSecurityHeaders(t: Test, reply: Reply, what: string): void {
  const h = reply.headers;
  t.equal(h['content-security-policy'], CONTROL_UI_CSP, `${what}: CSP`);
  t.equal(h['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  t.equal(h['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  t.equal(h['x-content-type-options'], 'nosniff', `${what}: nosniff`);
}

t.test('the CSP allows no inline script, no framing, and only this origin to connect', async (t) => {
  const directives = new Map(
    CONTROL_UI_CSP.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values.join(' ')];
    }),
  );
  t.equal(directives.get('default-src'), "'none'");
  t.equal(directives.get('script-src'), "'self'", 'no unsafe-inline, no unsafe-eval, no other host');
  t.equal(directives.get('style-src'), "'self'");
  t.equal(directives.get('connect-src'), "'self'", 'WebSocket to its own origin only');
  t.equal(directives.get('frame-ancestors'), "'none'");
  t.equal(directives.get('base-uri'), "'none'");
  t.equal(directives.get('form-action'), "'none'");
});

t.test('routes, headers, gzip, caching', async (t) => {
  const gw = await startTestGateway(t);
  const page = await get(gw.port, '/');
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated (asset names change on rebuild)');
  checkSecurityHeaders(t, page, 'page');
  const html = page.body.toString('utf8');
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script element');
  t.notMatch(html, /\son[a-z]+=/i, 'no inline event handler');
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  t.equal(assets.length, 2, 'one script and one stylesheet');

  for (const asset of assets) {
    const plain = await get(gw.port, asset);
    t.equal(plain.status, 200, asset);
    checkSecurityHeaders(t, plain, asset);
    t.match(plain.headers['cache-control'], /immutable/, 'hashed assets are cached');
    const body = plain.body.toString('utf8');
    const urls = [...body.matchAll(/https?:\/\/[^\s"'`)]+/g)].map((m) => m[0]);
    t.same(
      urls.filter((u) => !u.startsWith('http://www.w3.org/') && !u.startsWith('http://127.0.0.1:<port>')),
      [],
      `${asset} names no other host (only XML namespace URIs)`,
    );
    const gz = await get(gw.port, asset, { 'accept-encoding': 'br, gzip;q=0.8' });
    t.equal(gz.headers['content-encoding'], 'gzip');
    t.same(zlib.gunzipSync(gz.body), plain.body, 'gzip decodes to the same bytes');
    const refused = await get(gw.port, asset, { 'accept-encoding': 'gzip;q=0' });
    t.equal(refused.headers['content-encoding'], undefined, 'q=0 means no gzip');
    const cached = await get(gw.port, asset, { 'if-none-match': String(plain.headers.etag) });
    t.equal(cached.status, 304);
    const head = await get(gw.port, asset, {}, 'HEAD');
    t.equal(head.status, 200);
    t.equal(head.body.length, 0, 'HEAD has no body');
    t.equal(Number(head.headers['content-length']), plain.body.length);
  }

  t.equal((await get(gw.port, '/index.html')).status, 200);
  t.equal((await get(gw.port, '/?token=x')).status, 200, 'a query string is ignored, not an error');
  for (const missing of [
    '/nope',
    '/assets/',
    '/assets/../package.json',
    '/assets/%2e%2e/package.json',
    '/..%2fpackage.json',
  ])
    t.equal((await get(gw.port, missing)).status, 404, `${missing} → 404`);
  const post = await get(gw.port, '/', {}, 'POST');
  t.equal(post.status, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  checkSecurityHeaders(t, post, '405');

  // Fetch metadata: another site may navigate a window here, not load our page or script as a subresource.
  const frame = await get(gw.port, '/', {
    'sec-fetch-site': 'cross-site',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'iframe',
  });
  t.equal(frame.status, 403, 'cross-site iframe load refused');
  const script = await get(gw.port, assets[0]!, { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' });
  t.equal(script.status, 403, 'another port on loopback (same-site) cannot include the script');
  const nav = await get(gw.port, '/', {
    'sec-fetch-site': 'cross-site',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
  });
  t.equal(nav.status, 200, 'a top-level link from elsewhere still opens the page');
});

t.test('an unbuilt package says how to build; controlUi:false keeps 426', async (t) => {
  const empty = t.testdir({});
  const gw = await startTestGateway(t, { controlUi: { root: empty } });
  const reply = await get(gw.port, '/');
  t.equal(reply.status, 503);
  t.match(reply.body.toString(), /npm run build/);
  checkSecurityHeaders(t, reply, '503');
  t.equal(gw.controlUi, undefined, 'no page URL to offer');
  const off = await startTestGateway(t, { controlUi: false });
  t.equal((await get(off.port, '/')).status, 426);
});

t.test('loading skips what cannot be a page asset', async (t) => {
  const root = t.testdir({
    'index.html': '<!doctype html><title>x</title>',
    assets: {
      'app.js': 'console.log(1)',
      'notes.txt': 'not served: unknown type',
      '.hidden.js': 'not served: name',
      big: { 'x.js': 'nested folders are not walked' },
    },
  });
  fs.symlinkSync('/etc/hostname', path.join(root, 'assets', 'link.js'));
  const assets = loadControlUiAssets(root);
  t.ok(assets.built);
  t.same([...assets.files.keys()].sort(), ['/', '/assets/app.js'], 'symlinks, odd names and types are skipped');
});

t.test('the shipped page weighs at most 150 kB compressed', async (t) => {
  const assets = loadControlUiAssets();
  t.ok(assets.bytes.gzip > 1000, `measured ${assets.bytes.gzip} B`);
  t.ok(
    assets.bytes.gzip <= 150 * 1024,
    `all assets gzip ${assets.bytes.gzip} B ≤ 153600 B (raw ${assets.bytes.raw} B)`,
  );
});
