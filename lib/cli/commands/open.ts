// openclaw-ipc open [--url http://127.0.0.1:18789/] [--print] [--token T | --password P]
// Opens the control page signed in: the Gateway's token (or password) rides in the URL *fragment*,
// which browsers never send to any server; the page reads it once, removes it from the address bar and
// history, and pairs this browser. Opens with xdg-open (Linux, with a display) or open (macOS), argv
// only; without a browser it prints the URL instead.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';

import { resolveOperatorTarget } from '../../client/operator.js';
import { IpcError } from '../../common/errors.js';
import { pathCandidates } from '../../exec-host/resolve-executable.js';
import { ExitCode, SECRET_FLAGS_NOTE, UsageError, parseCommandArgs } from '../run.js';

const USAGE = [
  'usage: openclaw-ipc open [--url http://127.0.0.1:18789/] [--print] [--token T | --password P]',
  '  --print  print the signed-in URL instead of opening a browser (it holds the secret: do not share it)',
  SECRET_FLAGS_NOTE,
].join('\n');

/** The page's http(s) URL: --url, else the Gateway's ws:// address turned into http://. */
export function pageUrl(flagUrl: string | undefined, gatewayWsUrl: string): URL {
  const raw = flagUrl ?? gatewayWsUrl.replace(/^ws(s?):\/\//, 'http$1://');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url must be http:// or https://, got ${url.protocol}`);
  // Only the origin: the page lives at /, and nothing of ours goes into a path or query.
  return new URL(`${url.origin}/`);
}

/** `<page>#token=…` or `#password=…`: a fragment is never sent in a request, logged by a server, or a Referer. */
export function signedInUrl(page: URL, secret: { token?: string; password?: string }): string {
  const fragment = secret.token
    ? `token=${encodeURIComponent(secret.token)}`
    : secret.password
      ? `password=${encodeURIComponent(secret.password)}`
      : '';
  return fragment ? `${page.href}#${fragment}` : page.href;
}

/** Whether `program` is an executable on PATH (the one PATH walk: relative entries never count). */
function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  for (const candidate of pathCandidates(program, env.PATH ?? '')) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return true;
    } catch {
      // not here; next entry
    }
  }
  return false;
}

/** The opener for this machine, or undefined when there is no browser to open. */
export function browserOpener(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string | undefined {
  if (platform === 'darwin') return onPath('open', env) ? 'open' : undefined;
  if (platform === 'win32') return undefined;
  const display = Boolean(env.DISPLAY?.trim() || env.WAYLAND_DISPLAY?.trim());
  return display && onPath('xdg-open', env) ? 'xdg-open' : undefined;
}

/** HEAD / on the page: 'ok', or why not (not listening, not built, refused). */
export function probePage(page: URL, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    if (page.protocol !== 'http:') return resolve('ok'); // https: the TLS client is the browser's job
    const req = http.request(page, { method: 'HEAD', timeout: timeoutMs }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve('ok');
      else if (res.statusCode === 503) resolve('the Gateway runs but its control page is not built (npm run build)');
      else if (res.statusCode === 426) resolve('this Gateway serves no control page (controlUi is off)');
      else resolve(`the Gateway answered HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) =>
      resolve(`no Gateway answers at ${page.origin} (${err.message}); start it with openclaw-ipc up`),
    );
    req.end();
  });
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    { url: { type: 'string' }, print: { type: 'boolean' }, token: { type: 'string' }, password: { type: 'string' } },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  let target;
  try {
    target = resolveOperatorTarget({ token: values.token, password: values.password });
  } catch (err) {
    if (err instanceof IpcError && err.code === 'ERR_USAGE') throw new UsageError(err.message);
    throw err;
  }
  const page = pageUrl(values.url, target.url);
  const problem = await probePage(page);
  if (problem !== 'ok') {
    process.stderr.write(`openclaw-ipc open: ${problem}\n`);
    return ExitCode.failure;
  }
  const url = signedInUrl(page, { token: target.token, password: target.password });
  const signedIn = url !== page.href;
  const opener = values.print ? undefined : browserOpener();
  if (opener) {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
    const started = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (started) {
      child.unref();
      // The secret is not echoed: the browser has it.
      process.stdout.write(`opened ${page.href} in your browser${signedIn ? ' (signed in)' : ''}\n`);
      return ExitCode.ok;
    }
  }
  process.stdout.write(`${url}\n`);
  if (signedIn && !values.print)
    process.stderr.write('no browser to open here: open the URL above on this machine (it holds the Gateway secret)\n');
  if (!signedIn) process.stderr.write('no token or password configured: the page will ask for one\n');
  return ExitCode.ok;
}
