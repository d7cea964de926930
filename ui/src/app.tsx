// The page frame: connection status, tabs (Approvals, Nodes, Policy, Activity) and the login and
// pairing screens. Tabs are plain buttons (keyboard: Tab/Enter); the pending count is in the tab text.
import { useEffect, useState } from 'preact/hooks';

import { Notice, shortId } from './components.tsx';
import { ApprovalsModel, NodesModel } from './model.ts';
import type { Session, SessionState } from './session.ts';
import { useStore } from './store.ts';
import { ActivityView } from './views/activity.tsx';
import { ApprovalsView } from './views/approvals.tsx';
import { LoginView } from './views/login.tsx';
import { NodesView } from './views/nodes.tsx';
import { PolicyView } from './views/policy.tsx';

type Tab = 'approvals' | 'nodes' | 'policy' | 'activity';
const TABS: Array<{ id: Tab; label: string }> = [
  { id: 'approvals', label: 'Approvals' },
  { id: 'nodes', label: 'Nodes' },
  { id: 'policy', label: 'Policy' },
  { id: 'activity', label: 'Activity' },
];

function statusText(state: SessionState): string {
  switch (state.phase) {
    case 'connected':
      return `Connected (${state.scopes.length > 0 ? state.scopes.map((s) => s.replace('operator.', '')).join(', ') : 'no scopes'})`;
    case 'connecting':
    case 'starting':
      return 'Connecting…';
    case 'reconnecting':
      return 'Disconnected, reconnecting…';
    case 'pairing':
      return 'Waiting for pairing approval';
    case 'login':
      return 'Not connected';
    case 'unsupported':
      return 'Cannot run here';
  }
}

export function App({ session }: { session: Session }) {
  const state = useStore(session.state);
  const [models] = useState(() => ({ approvals: new ApprovalsModel(session), nodes: new NodesModel(session) }));
  const approvals = useStore(models.approvals.store);
  const [tab, setTab] = useState<Tab>('approvals');
  const pendingCount = approvals.pending.length;
  useEffect(() => {
    document.title = pendingCount > 0 ? `(${pendingCount}) OpenClaw IPC control` : 'OpenClaw IPC control';
  }, [pendingCount]);
  const ready = state.phase === 'connected' || (state.phase === 'reconnecting' && state.scopes.length > 0);
  return (
    <>
      <header>
        <h1>OpenClaw IPC control</h1>
        <p class="status" role="status">
          <strong>{statusText(state)}</strong>
          {state.deviceId ? <span class="hint"> · device {shortId(state.deviceId)}</span> : null}
          {state.serverVersion ? <span class="hint"> · gateway {state.serverVersion}</span> : null}
          {state.phase === 'connected' ? (
            <>
              {' '}
              <button type="button" class="link" onClick={() => void session.signOut()}>
                Sign out
              </button>
            </>
          ) : null}
        </p>
        {ready ? (
          <nav aria-label="Sections">
            {TABS.map((t) => (
              <button
                type="button"
                key={t.id}
                class="tab"
                aria-current={tab === t.id ? 'page' : undefined}
                onClick={() => setTab(t.id)}
              >
                {t.label}
                {t.id === 'approvals' && pendingCount > 0 ? ` (${pendingCount} waiting)` : ''}
              </button>
            ))}
          </nav>
        ) : null}
      </header>
      <main>
        {state.phase === 'reconnecting' && state.message ? <Notice>{state.message}</Notice> : null}
        {state.phase === 'unsupported' ? <Notice kind="error">{state.message}</Notice> : null}
        {state.phase === 'login' ? <LoginView session={session} state={state} /> : null}
        {state.phase === 'pairing' ? (
          <section aria-labelledby="pairing-title">
            <h2 id="pairing-title">Pairing required</h2>
            <Notice>{state.message}</Notice>
            <p>
              Request <code>{state.pairingRequestId ?? '(id not given)'}</code>, device <code>{state.deviceId}</code>.
            </p>
          </section>
        ) : null}
        {ready ? (
          // Every view stays mounted (hidden when not chosen): a run waiting for an approval keeps its
          // result when you switch to Approvals to answer it.
          <>
            <div hidden={tab !== 'approvals'}>
              <ApprovalsView
                model={models.approvals}
                nodes={models.nodes}
                canAnswer={state.scopes.includes('operator.approvals') || state.scopes.includes('operator.admin')}
                myDeviceId={state.deviceId}
              />
            </div>
            <div hidden={tab !== 'nodes'}>
              <NodesView session={session} nodes={models.nodes} />
            </div>
            <div hidden={tab !== 'policy'}>
              <PolicyView session={session} />
            </div>
            <div hidden={tab !== 'activity'}>
              <ActivityView session={session} nodes={models.nodes} active={tab === 'activity'} />
            </div>
          </>
        ) : null}
      </main>
    </>
  );
}
