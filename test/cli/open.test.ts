// `openclaw-ipc open`: the signed-in page URL carries the secret in the fragment only; with a display it
// runs xdg-open with that URL as one argv element (and does not echo the secret), without one it prints
// the URL; a Gateway that is down or has no page is reported.
import fs from 'node:fs';
import path from 'node:path';

import t, { type Test } from 'tap';

import { pageUrl, probePage } from '../../lib/cli/commands/open.js';
import { startTestGateway } from '../helpers/gateway.js';
import { cli } from '../helpers/cli.js';

// Each case spawns the CLI (tsx start-up is seconds on a loaded machine).
t.setTimeout(180_000);
const TOKEN = 'open+test/token=0123456789';

function baseEnv(port: number, stateDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: stateDir,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_GATEWAY_PORT: String(port),
    OPENCLAW_GATEWAY_TOKEN: TOKEN,
  };
}

/** A stand-in xdg-open that records its argv, one element per line. */
function fakeOpener(t: Test): { dir: string; record: string } {
  const dir = t.testdir({});
  const record = path.join(dir, 'argv.txt');
  fs.writeFileSync(
    path.join(dir, 'xdg-open'),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${record}'\n`,
    {
      mode: 0o755,
    },
  );
  return { dir, record };
}

t.test('no display: prints the URL with the token in the fragment', async (t) => {
  const stateDir = t.testdir({});
  const gw = await startTestGateway(t, { token: TOKEN });
  const res = await cli(['open'], baseEnv(gw.port, stateDir));
  t.equal(res.code, 0, res.stderr);
  const url = new URL(res.stdout.trim());
  t.equal(url.origin, `http://127.0.0.1:${gw.port}`);
  t.equal(url.pathname, '/');
  t.equal(url.search, '', 'no query string');
  t.equal(new URLSearchParams(url.hash.slice(1)).get('token'), TOKEN, 'the fragment decodes to the token');
  t.match(res.stderr, /no browser to open here/);
});

t.test('with a display: xdg-open gets the signed-in URL; the terminal does not see the token', async (t) => {
  const stateDir = t.testdir({});
  const gw = await startTestGateway(t, { token: TOKEN });
  const opener = fakeOpener(t);
  const env = { ...baseEnv(gw.port, stateDir), DISPLAY: ':99', PATH: `${opener.dir}:${process.env.PATH}` };
  const res = await cli(['open'], env);
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stdout, `opened http://127.0.0.1:${gw.port}/ in your browser (signed in)\n`);
  t.notOk((res.stdout + res.stderr).includes(TOKEN), 'the secret is not printed');
  // The opener runs detached: wait for its record.
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(opener.record) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const argv = fs.readFileSync(opener.record, 'utf8').trimEnd().split('\n');
  t.equal(argv.length, 1, 'one argument: the URL');
  t.equal(argv[0], `http://127.0.0.1:${gw.port}/#token=${encodeURIComponent(TOKEN)}`);

  fs.rmSync(opener.record, { force: true });
  const printed = await cli(['open', '--print'], { ...env });
  t.equal(printed.code, 0);
  t.equal(new URL(printed.stdout.trim()).hash, `#token=${encodeURIComponent(TOKEN)}`, '--print prints instead');
  t.notOk(fs.existsSync(opener.record), '--print does not open a browser');
});

t.test('password mode puts the password in the fragment', async (t) => {
  const stateDir = t.testdir({});
  const gw = await startTestGateway(t, { authMode: 'password', password: 'pw 1' });
  const env = { ...baseEnv(gw.port, stateDir), OPENCLAW_GATEWAY_TOKEN: undefined, OPENCLAW_GATEWAY_PASSWORD: 'pw 1' };
  const res = await cli(['open'], env);
  t.equal(res.code, 0, res.stderr);
  t.equal(new URLSearchParams(new URL(res.stdout.trim()).hash.slice(1)).get('password'), 'pw 1');
});

t.test('a Gateway that is down or has no page is reported; a bad --url is a usage error', async (t) => {
  const gw = await startTestGateway(t, { token: TOKEN });
  const port = gw.port;
  await gw.close();
  const stateDir = t.testdir({});
  const down = await cli(['open'], baseEnv(port, stateDir));
  t.equal(down.code, 1);
  t.match(down.stderr, /no Gateway answers at http:\/\/127\.0\.0\.1:\d+ .*openclaw-ipc up/);
  t.notOk(down.stdout.includes(TOKEN));

  const unbuilt = await startTestGateway(t, { token: TOKEN, controlUi: { root: t.testdir({}) } });
  t.match(await probePage(new URL(`http://127.0.0.1:${unbuilt.port}/`)), /control page is not built/);
  const off = await startTestGateway(t, { token: TOKEN, controlUi: false });
  t.match(await probePage(new URL(`http://127.0.0.1:${off.port}/`)), /serves no control page/);
  t.throws(() => pageUrl('ftp://example/', 'ws://127.0.0.1:1/'), { code: 'ERR_USAGE', message: /must be http/ });
  t.equal(pageUrl('https://gw.example:8443/some/path?q=1', 'ws://x/').href, 'https://gw.example:8443/', 'origin only');
  t.equal(pageUrl(undefined, 'wss://gw.example:8443/').href, 'https://gw.example:8443/');
});
