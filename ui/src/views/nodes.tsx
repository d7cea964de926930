// Nodes (connected and paired, declared commands, last seen) and pending node / device pairing
// requests with Approve and Reject. Lists reload on Gateway events (health, *.pair.*).
import { useState } from 'preact/hooks';

import { escapeText } from '../argv.ts';
import { Escaped, Notice, Time, shortId } from '../components.tsx';
import type { NodesModel, NodeView } from '../model.ts';
import type { Session } from '../session.ts';
import { useStore } from '../store.ts';

function NodeState({ node }: { node: NodeView }) {
  if (node.connected)
    return (
      <span>
        <strong>Connected</strong> since <Time ms={node.connectedAtMs} />
      </span>
    );
  return (
    <span>
      <strong>Offline</strong>
      {node.lastSeenAtMs !== undefined ? (
        <>
          , last seen <Time ms={node.lastSeenAtMs} />
        </>
      ) : (
        ', not seen since the Gateway started'
      )}
    </span>
  );
}

function Commands({ commands }: { commands: string[] }) {
  if (commands.length === 0) return <span>none approved</span>;
  return (
    <ul class="commands">
      {commands.map((c) => (
        <li key={c}>
          <code>
            <Escaped text={c} />
          </code>
        </li>
      ))}
    </ul>
  );
}

/** A name for a notice: the display name with control and bidi characters escaped, else a short id. */
const named = (displayName: string | undefined, id: string): string =>
  displayName ? escapeText(displayName) : shortId(id);

/** The Gateway's pairing reasons in words (the code stays visible for searching). */
const PAIR_REASONS: Record<string, string> = {
  'not-paired': 'a new device',
  'role-upgrade': 'a paired device asking for another role',
  'scope-upgrade': 'a paired device asking for more scopes',
  'metadata-upgrade': 'a paired device whose platform changed',
};

function usePairAction(session: Session, nodes: NodesModel) {
  const [busy, setBusy] = useState<string | undefined>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const act = async (method: string, requestId: string, done: string): Promise<void> => {
    setBusy(requestId);
    setMessage(undefined);
    try {
      await session.request(method, { requestId });
      setMessage({ kind: 'ok', text: done });
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
    } finally {
      setBusy(undefined);
      void nodes.load();
    }
  };
  return { busy, message, act };
}

export function NodesView({ session, nodes }: { session: Session; nodes: NodesModel }) {
  const state = useStore(nodes.store);
  const canPair = session.has('operator.pairing');
  const { busy, message, act } = usePairAction(session, nodes);
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      {state.error ? <Notice kind="error">{state.error}</Notice> : null}
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
      <p>
        <button type="button" onClick={() => void nodes.load()}>
          Refresh
        </button>
      </p>
      {state.loaded && state.nodes.length === 0 ? <p class="empty">No node has connected or been paired yet.</p> : null}
      {state.nodes.map((node) => (
        <article class="card" key={node.nodeId} aria-label={`Node ${node.displayName ?? node.nodeId}`}>
          <h3>
            {node.displayName ? <Escaped text={node.displayName} /> : 'Unnamed node'}{' '}
            <code>{shortId(node.nodeId)}</code>
          </h3>
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <NodeState node={node} />
            </dd>
            <dt>Paired</dt>
            <dd>
              {node.paired ? 'yes' : 'no'}
              {node.approvedAtMs !== undefined ? (
                <>
                  , approved <Time ms={node.approvedAtMs} />
                </>
              ) : null}
            </dd>
            <dt>Platform</dt>
            <dd>{node.platform ? <Escaped text={node.platform} /> : '—'}</dd>
            <dt>Address</dt>
            <dd>{node.remoteIp ?? '—'}</dd>
            <dt>Commands</dt>
            <dd>
              <Commands commands={node.commands} />
            </dd>
            <dt>Node id</dt>
            <dd>
              <code class="wrap">{node.nodeId}</code>
            </dd>
          </dl>
        </article>
      ))}
      <h2>Node pairing requests</h2>
      {!canPair ? <p class="hint">This session lacks operator.pairing: requests are not shown.</p> : null}
      {canPair && state.nodeRequests.length === 0 ? <p class="empty">No node is waiting.</p> : null}
      {state.nodeRequests.map((r) => (
        <article class="card" key={r.requestId} aria-label={`Node pairing request ${r.requestId}`}>
          <h3>
            {r.displayName ? <Escaped text={r.displayName} /> : 'Node'} <code>{shortId(r.nodeId)}</code> asks to offer
            commands
          </h3>
          <Commands commands={r.commands} />
          <div class="actions">
            <button
              type="button"
              class="allow"
              disabled={busy !== undefined}
              onClick={() =>
                void act(
                  'node.pair.approve',
                  r.requestId,
                  `approved the commands of node ${named(r.displayName, r.nodeId)}`,
                )
              }
            >
              Approve
            </button>
            <button
              type="button"
              class="deny"
              disabled={busy !== undefined}
              onClick={() =>
                void act(
                  'node.pair.reject',
                  r.requestId,
                  `rejected the commands of node ${named(r.displayName, r.nodeId)}`,
                )
              }
            >
              Reject
            </button>
          </div>
        </article>
      ))}
      <h2>Device pairing requests</h2>
      {canPair && state.deviceRequests.length === 0 ? <p class="empty">No device is waiting.</p> : null}
      {state.deviceRequests.map((r) => (
        <article class="card" key={r.requestId} aria-label={`Device pairing request ${r.requestId}`}>
          <h3>
            {r.displayName ? <Escaped text={r.displayName} /> : 'Device'} <code>{shortId(r.deviceId)}</code>
          </h3>
          <dl class="facts">
            <dt>Client</dt>
            <dd>
              {r.clientId ?? '?'} / {r.clientMode ?? '?'}, role {r.role ?? '?'}
            </dd>
            <dt>Scopes</dt>
            <dd>{r.scopes.length > 0 ? r.scopes.join(', ') : 'none'}</dd>
            <dt>From</dt>
            <dd>{r.remoteIp ?? '—'}</dd>
            <dt>Why</dt>
            <dd>{r.reason ? `${PAIR_REASONS[r.reason] ?? r.reason} (${r.reason})` : '—'}</dd>
          </dl>
          <div class="actions">
            <button
              type="button"
              class="allow"
              disabled={busy !== undefined}
              onClick={() =>
                void act('device.pair.approve', r.requestId, `paired device ${named(r.displayName, r.deviceId)}`)
              }
            >
              Approve
            </button>
            <button
              type="button"
              class="deny"
              disabled={busy !== undefined}
              onClick={() =>
                void act('device.pair.reject', r.requestId, `rejected device ${named(r.displayName, r.deviceId)}`)
              }
            >
              Reject
            </button>
          </div>
        </article>
      ))}
    </section>
  );
}
