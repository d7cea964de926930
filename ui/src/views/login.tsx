// The first visit (or after a revoked device token): the Gateway token or password, entered once. It is
// sent in the connect request and then forgotten; this browser keeps only its device key and token.
import { useState } from 'preact/hooks';

import { Notice } from '../components.tsx';
import type { ScopeChoice } from '../device-identity.ts';
import type { Session, SessionState } from '../session.ts';

export function LoginView({ session, state }: { session: Session; state: SessionState }) {
  const [kind, setKind] = useState<'token' | 'password'>('token');
  const [secret, setSecret] = useState('');
  const [choice, setChoice] = useState<ScopeChoice>(state.scopeChoice);
  return (
    <section aria-labelledby="login-title" class="login">
      <h2 id="login-title">Connect to the Gateway</h2>
      {state.message ? <Notice kind="error">{state.message}</Notice> : null}
      <p>
        Enter the Gateway's token or password once. <code>openclaw-ipc open</code> fills it in for you. It is sent to
        this Gateway only and never stored: this browser keeps its own device key instead.
      </p>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          const value = secret.trim();
          if (!value) return;
          setSecret('');
          void session.login(kind === 'token' ? { token: value } : { password: value }, choice);
        }}
      >
        <fieldset>
          <legend>The Gateway uses</legend>
          <label class="radio">
            <input type="radio" name="kind" checked={kind === 'token'} onChange={() => setKind('token')} /> a token
          </label>
          <label class="radio">
            <input type="radio" name="kind" checked={kind === 'password'} onChange={() => setKind('password')} /> a
            password
          </label>
        </fieldset>
        <label class="field">
          <span>{kind === 'token' ? 'Gateway token' : 'Gateway password'}</span>
          <input
            type="password"
            autocomplete="off"
            value={secret}
            onInput={(ev) => setSecret((ev.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <fieldset>
          <legend>This browser may</legend>
          <label class="radio">
            <input type="radio" name="scopes" checked={choice === 'full'} onChange={() => setChoice('full')} /> answer
            approvals, pair devices, edit policy and run commands
          </label>
          <label class="radio">
            <input
              type="radio"
              name="scopes"
              checked={choice === 'read-only'}
              onChange={() => setChoice('read-only')}
            />{' '}
            only look (operator.read)
          </label>
        </fieldset>
        <button type="submit" class="allow">
          Connect
        </button>
      </form>
    </section>
  );
}
