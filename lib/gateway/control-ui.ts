// The control page's static assets (built by `npm run build` into dist/control-ui/), served by the
// Gateway's own HTTP listener: GET/HEAD only, loaded into memory once (gzip precomputed), and every
// response carries a strict CSP and the anti-framing, no-referrer and nosniff headers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

/** Where `npm run build` writes the page: <package>/dist/control-ui (same path from lib/ and dist/). */
export const DEFAULT_CONTROL_UI_ROOT = fileURLToPath(new URL('../../dist/control-ui/', import.meta.url));

/** No inline script or style, no plugins, no framing, and the only network peer is this origin. */
export const CONTROL_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every HTTP response of the Gateway (pages, assets and errors alike). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTROL_UI_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), clipboard-read=()',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Upper bounds while loading: a stray big file in the folder must not balloon the Gateway. */
const MAX_ASSET_BYTES = 2 * 1024 * 1024;
const MAX_ASSETS = 64;
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
  /** Hashed asset names never change content: cache them; index.html is always revalidated. */
  immutable: boolean;
}

export interface ControlUiAssets {
  readonly root: string;
  /** False when the folder has no index.html (the package was not built). */
  readonly built: boolean;
  /** URL path (`/`, `/assets/app-1a2b.js`) → asset. */
  readonly files: ReadonlyMap<string, Asset>;
  /** Bytes of all assets, raw and gzip-compressed (what a browser downloads). */
  readonly bytes: { raw: number; gzip: number };
}

function loadAsset(file: string, immutable: boolean): Asset | undefined {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size > MAX_ASSET_BYTES) return undefined;
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
  if (!type) return undefined;
  const body = fs.readFileSync(file);
  return {
    body,
    gzip: zlib.gzipSync(body, { level: 9 }),
    type,
    etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    immutable,
  };
}

/** Whether `root` holds a built page (its index.html), without reading it. */
export function controlUiBuilt(root: string = DEFAULT_CONTROL_UI_ROOT): boolean {
  return fs.lstatSync(path.join(root, 'index.html'), { throwIfNoEntry: false })?.isFile() === true;
}

/** Reads the built page into memory. A missing folder gives `built: false`, never an exception. */
export function loadControlUiAssets(root: string = DEFAULT_CONTROL_UI_ROOT): ControlUiAssets {
  const files = new Map<string, Asset>();
  const index = loadAsset(path.join(root, 'index.html'), false);
  if (index) files.set('/', index);
  const assetsDir = path.join(root, 'assets');
  let names: string[] = [];
  try {
    names = fs.readdirSync(assetsDir).filter((name) => ASSET_NAME.test(name));
  } catch {
    // No assets folder: an unbuilt package.
  }
  for (const name of names.sort().slice(0, MAX_ASSETS)) {
    const asset = loadAsset(path.join(assetsDir, name), true);
    if (asset) files.set(`/assets/${name}`, asset);
  }
  let raw = 0;
  let gzip = 0;
  for (const asset of files.values()) {
    raw += asset.body.length;
    gzip += asset.gzip.length;
  }
  return { root, built: index !== undefined, files, bytes: { raw, gzip } };
}

function send(
  res: http.ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string | number> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'close',
    ...extra,
  });
  res.end(`${text}\n`);
}

/**
 * Fetch-metadata resource isolation: another site (another port on loopback counts as "same-site") may
 * navigate a top-level window here, but not load our scripts or pages as subresources.
 */
function crossSiteSubresource(req: http.IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== 'cross-site' && site !== 'same-site') return false;
  return !(req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document');
}

function acceptsGzip(req: http.IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return coding === 'gzip' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Answers one plain HTTP request on the Gateway port. The caller has already checked Host (and Origin,
 * when sent); this routes GET/HEAD `/` and `/assets/*` and answers everything else 404/405.
 */
export function serveControlUi(assets: ControlUiAssets, req: http.IncomingMessage, res: http.ServerResponse): void {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    return;
  }
  if (crossSiteSubresource(req)) {
    send(res, 403, 'cross-site request refused');
    return;
  }
  // Only the path matters; a query string is ignored (and never logged: it is nobody's business).
  const rawPath = (req.url ?? '/').split('?', 1)[0]!.split('#', 1)[0]!;
  const urlPath = rawPath === '/index.html' ? '/' : rawPath;
  if (!assets.built) {
    send(res, 503, 'control page not built: run `npm run build` in the openclaw-ipc package');
    return;
  }
  const asset = assets.files.get(urlPath);
  if (!asset) {
    send(res, 404, 'not found');
    return;
  }
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': asset.type,
    etag: asset.etag,
    vary: 'accept-encoding',
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req);
  const body = gzip ? asset.gzip : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(method === 'HEAD' ? undefined : body);
}

/** For requests refused before routing (a bad Host or Origin): a plain answer with the same headers. */
export function refuseHttp(res: http.ServerResponse, status: number, reason: string): void {
  send(res, status, reason);
}
