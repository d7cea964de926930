// Entry: takes a shared secret from the URL fragment (never the query string: a fragment is not sent to
// any server), removes it from the address bar and history at once, and starts the session.
import { render } from 'preact';

import { App } from './app.tsx';
import { Session, type SharedSecret } from './session.ts';

function takeFragmentSecret(): SharedSecret | undefined {
  const hash = window.location.hash.replace(/^#/, '');
  if (!hash) return undefined;
  const params = new URLSearchParams(hash);
  // Scrub first: whatever happens next, the secret is gone from the URL, the history entry and Referer.
  history.replaceState(null, '', window.location.pathname);
  const token = params.get('token')?.trim();
  const password = params.get('password')?.trim();
  if (token) return { token };
  if (password) return { password };
  return undefined;
}

const secret = takeFragmentSecret();
const wsUrl = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/`;
const session = new Session(wsUrl);
render(<App session={session} />, document.getElementById('app')!);
void session.start(secret);
