// Activity: the exec host's audit records (audit.activity.list, operator.admin), filterable, and the Run
// box that sends `system.run` to a node as this operator (node.invoke, operator.write). The list
// reloads when an approval is resolved or a run finishes.
import { useEffect, useMemo, useState } from 'preact/hooks';

import { Argv, ArgvInline, Escaped, Notice, Output, Time } from '../components.tsx';
import type { NodesModel } from '../model.ts';
import type { GatewayError, Session } from '../session.ts';
import { useStore } from '../store.ts';

interface ActivityEvent {
  id: string;
  action: string;
  status: string;
  occurredAt: number;
  argv?: string[];
  command?: string;
  executable?: string;
  cwd?: string;
  agentId?: string;
  decision?: string | null;
  reason?: string;
  exitCode?: number;
  timedOut?: boolean;
  durationMs?: number;
  peer?: { pid?: number; uid?: number; exe?: string };
}

interface RunResult {
  exitCode?: number;
  timedOut?: boolean;
  success?: boolean;
  stdout?: string;
  stderr?: string;
  error?: string | null;
}

/** How long a run may wait (an approval prompt included) before the page gives up on the answer. */
const RUN_TIMEOUT_MS = 180_000;

function outcome(e: ActivityEvent): string {
  if (e.action === 'exec.ran') return e.timedOut ? 'ran, timed out' : 'ran';
  if (e.action === 'exec.denied') return `denied${e.reason ? ` (${e.reason})` : ''}`;
  if (e.action.startsWith('prompt.')) return `prompt: ${e.status}`;
  return e.status;
}

function matches(e: ActivityEvent, text: string, status: string): boolean {
  if (status === 'ran' && e.action !== 'exec.ran') return false;
  if (status === 'denied' && e.action !== 'exec.denied') return false;
  if (status === 'other' && (e.action === 'exec.ran' || e.action === 'exec.denied')) return false;
  if (!text) return true;
  const haystack = [e.argv?.join(' '), e.command, e.executable, e.cwd, e.agentId, e.peer?.exe, e.reason, e.decision]
    .filter(Boolean)
    .join('\n')
    .toLowerCase();
  return haystack.includes(text.toLowerCase());
}

function ActivityTable({ events }: { events: ActivityEvent[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">Exec audit records, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Requester</th>
            <th scope="col">Command</th>
            <th scope="col">Decision</th>
            <th scope="col">Exit</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-activity-id={e.id}>
              <td>
                <Time ms={e.occurredAt} />
              </td>
              <td>
                {e.peer?.pid !== undefined ? `pid ${e.peer.pid}` : '—'}
                {e.peer?.exe ? (
                  <>
                    <br />
                    <Escaped text={e.peer.exe} />
                  </>
                ) : null}
              </td>
              <td>
                {e.argv ? (
                  <ArgvInline argv={e.argv} />
                ) : (
                  <code>
                    <Escaped text={e.command ?? '—'} />
                  </code>
                )}
                {e.executable ? (
                  <div class="hint">
                    → <Escaped text={e.executable} />
                  </div>
                ) : null}
              </td>
              <td>
                {outcome(e)}
                {e.decision ? <div class="hint">human: {e.decision}</div> : null}
              </td>
              <td>{e.exitCode ?? '—'}</td>
              <td>{e.durationMs !== undefined ? `${e.durationMs} ms` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RunBox({ session, nodes, onDone }: { session: Session; nodes: NodesModel; onDone: () => void }) {
  const { nodes: list } = useStore(nodes.store);
  const runnable = list.filter((n) => n.connected && n.commands.includes('system.run'));
  const [nodeId, setNodeId] = useState('');
  const [argvText, setArgvText] = useState('');
  const [cwd, setCwd] = useState('');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<{ ok: true; value: RunResult } | { ok: false; error: string } | undefined>();
  const selected = runnable.find((n) => n.nodeId === nodeId) ?? runnable[0];
  // One argument per line: no shell parsing, so what you type is exactly the argv that is sent.
  const argv = argvText.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
  const run = async (): Promise<void> => {
    if (!selected || argv.length === 0) return;
    setRunning(true);
    setResult(undefined);
    try {
      const reply = await session.request<{ payload?: RunResult }>(
        'node.invoke',
        {
          nodeId: selected.nodeId,
          command: 'system.run',
          params: { command: argv, ...(cwd.trim() ? { cwd: cwd.trim() } : {}) },
          idempotencyKey: crypto.randomUUID(),
          timeoutMs: RUN_TIMEOUT_MS - 5000,
        },
        RUN_TIMEOUT_MS,
      );
      setResult({ ok: true, value: reply.payload ?? {} });
    } catch (err) {
      setResult({ ok: false, error: (err as GatewayError).message });
    } finally {
      setRunning(false);
      onDone();
    }
  };
  if (!session.has('operator.write')) return <Notice>The Run box needs operator.write.</Notice>;
  return (
    <form
      class="card run"
      aria-labelledby="run-title"
      onSubmit={(ev) => {
        ev.preventDefault();
        void run();
      }}
    >
      <h3 id="run-title">Run a command on a node</h3>
      {runnable.length === 0 ? <p class="empty">No connected node offers system.run.</p> : null}
      <div class="fields">
        <label class="field">
          <span>Node</span>
          <select
            value={selected?.nodeId ?? ''}
            onChange={(ev) => setNodeId((ev.currentTarget as HTMLSelectElement).value)}
          >
            {runnable.map((n) => (
              <option key={n.nodeId} value={n.nodeId}>
                {n.displayName ?? n.nodeId.slice(0, 12)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Working directory (optional)</span>
          <input value={cwd} onInput={(ev) => setCwd((ev.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <label class="field">
        <span>Arguments, one per line (no shell: the first line is the program)</span>
        <textarea
          rows={3}
          value={argvText}
          onInput={(ev) => setArgvText((ev.currentTarget as HTMLTextAreaElement).value)}
        />
      </label>
      {argv.length > 0 ? <Argv argv={argv} label="Will run" /> : null}
      <div class="actions">
        <button type="submit" class="allow" disabled={running || !selected || argv.length === 0}>
          {running ? 'Running… (may wait for an approval)' : 'Run'}
        </button>
      </div>
      {result?.ok === false ? <Notice kind="error">{result.error}</Notice> : null}
      {result?.ok ? (
        <div class="result" role="status" aria-label="Run result">
          <p>
            <strong>Exit code {result.value.exitCode ?? '—'}</strong>
            {result.value.timedOut ? ', timed out' : ''}
            {result.value.error ? `, ${result.value.error}` : ''}
          </p>
          <h4>stdout</h4>
          <Output text={result.value.stdout ?? ''} />
          {result.value.stderr ? (
            <>
              <h4>stderr</h4>
              <Output text={result.value.stderr} />
            </>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}

export function ActivityView({ session, nodes, active }: { session: Session; nodes: NodesModel; active: boolean }) {
  const canRead = session.has('operator.admin');
  const [events, setEvents] = useState<ActivityEvent[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [text, setText] = useState('');
  const [status, setStatus] = useState('all');
  const load = async (): Promise<void> => {
    if (!canRead) return;
    try {
      const reply = await session.request<{ events: ActivityEvent[] }>('audit.activity.list', { limit: 200 });
      setEvents(reply.events);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => session.on('exec.approval.resolved', () => void load()), [canRead]);
  useEffect(() => {
    if (active) void load();
  }, [active, canRead]);
  const shown = useMemo(() => events.filter((e) => matches(e, text, status)), [events, text, status]);
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <RunBox session={session} nodes={nodes} onDone={() => void load()} />
      <h3>Exec audit</h3>
      {!canRead ? <Notice>Reading the audit log needs operator.admin (commands may hold secrets).</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {canRead ? (
        <>
          <div class="fields">
            <label class="field">
              <span>Filter (command, path, agent, reason)</span>
              <input
                type="search"
                value={text}
                onInput={(ev) => setText((ev.currentTarget as HTMLInputElement).value)}
              />
            </label>
            <label class="field">
              <span>Outcome</span>
              <select value={status} onChange={(ev) => setStatus((ev.currentTarget as HTMLSelectElement).value)}>
                <option value="all">all</option>
                <option value="ran">ran</option>
                <option value="denied">denied</option>
                <option value="other">prompts and connections</option>
              </select>
            </label>
            <button type="button" onClick={() => void load()}>
              Refresh
            </button>
          </div>
          <p class="hint">
            {shown.length} of {events.length} records shown.
          </p>
          {shown.length > 0 ? <ActivityTable events={shown} /> : <p class="empty">No records match.</p>}
        </>
      ) : null}
    </section>
  );
}
