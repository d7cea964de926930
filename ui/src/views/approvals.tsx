// Pending `system.run` approvals, live: exact argv, cwd, resolved executable, node, agent, requester,
// a countdown to askFallback, and Allow once / Always allow / Deny. Without operator.approvals the
// cards are shown read-only.
import { Argv, ArgvInline, Countdown, Escaped, Notice, Time, shortId } from '../components.tsx';
import type { ApprovalsModel, Decision, DecidedView, NodesModel, PendingView } from '../model.ts';
import { useStore } from '../store.ts';

const LABELS: Record<Decision, string> = {
  'allow-once': 'Allow once',
  'allow-always': 'Always allow',
  deny: 'Deny',
};

export interface RequestFacts {
  argv: string[];
  /** The request named its command only as text (no argv): shown as one argument, marked. */
  textOnly: boolean;
  cwd?: string;
  executable?: string;
  nodeId?: string;
  agentId?: string;
  host?: string;
  security?: string;
  ask?: string;
  askFallback?: string;
  requester?: { pid?: number; exe?: string };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const isArgv = (v: unknown): v is string[] => Array.isArray(v) && v.every((a) => typeof a === 'string');

/** Reads both request shapes: the exec host's prompt (argv in `command`) and a Gateway request (`commandArgv`). */
export function requestFacts(request: Record<string, unknown>): RequestFacts {
  const plan = (request.systemRunPlan ?? {}) as Record<string, unknown>;
  let argv: string[] = [];
  let textOnly = false;
  if (isArgv(request.command)) argv = request.command;
  else if (isArgv(request.commandArgv)) argv = request.commandArgv;
  else if (isArgv(plan.argv)) argv = plan.argv;
  else if (typeof request.command === 'string') {
    argv = [request.command];
    textOnly = true;
  }
  const requester = (request.requester ?? {}) as { pid?: unknown; exe?: unknown };
  return {
    argv,
    textOnly,
    cwd: str(request.cwd) ?? str(plan.cwd),
    executable: str(request.resolvedPath),
    nodeId: str(request.nodeId),
    agentId: str(request.agentId) ?? str(plan.agentId),
    host: str(request.host),
    security: str(request.security),
    ask: str(request.ask),
    askFallback: str(request.askFallback),
    requester: {
      pid: typeof requester.pid === 'number' ? requester.pid : undefined,
      exe: str(requester.exe),
    },
  };
}

function NodeName({ facts, nodes }: { facts: RequestFacts; nodes: NodesModel }) {
  if (!facts.nodeId) {
    return <span>{facts.host === 'app' ? 'this machine (exec host)' : (facts.host ?? 'this machine')}</span>;
  }
  const name = nodes.nameOf(facts.nodeId);
  return (
    <span>
      {name ? (
        <>
          <Escaped text={name} /> ({shortId(facts.nodeId)})
        </>
      ) : (
        <code>{facts.nodeId}</code>
      )}
    </span>
  );
}

function Facts({ facts, nodes }: { facts: RequestFacts; nodes: NodesModel }) {
  return (
    <dl class="facts">
      <dt>Command</dt>
      <dd>
        <Argv argv={facts.argv} />
        {facts.textOnly ? <p class="hint">Sent as command text, not as separate arguments.</p> : null}
      </dd>
      <dt>Working directory</dt>
      <dd>{facts.cwd ? <Escaped text={facts.cwd} /> : 'not given'}</dd>
      <dt>Executable</dt>
      <dd>{facts.executable ? <Escaped text={facts.executable} /> : 'not resolved'}</dd>
      <dt>Node</dt>
      <dd>
        <NodeName facts={facts} nodes={nodes} />
      </dd>
      <dt>Agent</dt>
      <dd>{facts.agentId ? <Escaped text={facts.agentId} /> : '—'}</dd>
      {facts.requester?.pid !== undefined || facts.requester?.exe ? (
        <>
          <dt>Asked by</dt>
          <dd>
            {facts.requester.pid !== undefined ? `pid ${facts.requester.pid}` : ''}
            {facts.requester.exe ? (
              <>
                {' '}
                <Escaped text={facts.requester.exe} />
              </>
            ) : null}
          </dd>
        </>
      ) : null}
      <dt>Policy</dt>
      <dd>
        security={facts.security ?? '?'}, ask={facts.ask ?? '?'}
      </dd>
    </dl>
  );
}

function PendingCard({
  entry,
  model,
  nodes,
  canAnswer,
}: {
  entry: PendingView;
  model: ApprovalsModel;
  nodes: NodesModel;
  canAnswer: boolean;
}) {
  const facts = requestFacts(entry.request);
  const headingId = `approval-${entry.id}`;
  return (
    <article class="card pending" aria-labelledby={headingId} data-approval-id={entry.id}>
      <h3 id={headingId}>
        Approval request <code>{shortId(entry.id)}</code>
      </h3>
      <p class="when">
        Asked at <Time ms={entry.createdAtMs} /> · <Countdown until={entry.expiresAtMs} fallback={facts.askFallback} />
      </p>
      <Facts facts={facts} nodes={nodes} />
      {canAnswer ? (
        <div class="actions" role="group" aria-label="Answer this request">
          {entry.allowedDecisions.map((decision) => (
            <button
              type="button"
              key={decision}
              class={decision === 'deny' ? 'deny' : 'allow'}
              disabled={entry.answering !== undefined}
              onClick={() => void model.answer(entry.id, decision)}
            >
              {LABELS[decision]}
            </button>
          ))}
        </div>
      ) : (
        <p class="hint">Read-only: this session lacks operator.approvals, so it cannot answer.</p>
      )}
      {entry.answering ? <p class="hint">{entry.answering}</p> : null}
      {entry.error ? <Notice kind="error">{entry.error}</Notice> : null}
    </article>
  );
}

function outcomeText(d: DecidedView): string {
  if (d.decision === 'allow-once') return 'Allowed once';
  if (d.decision === 'allow-always') return 'Always allowed';
  if (d.decision === 'deny') return 'Denied';
  return d.reason === 'expired' ? 'No answer in time (askFallback applied)' : 'Withdrawn (the requester went away)';
}

/** Who answered: this browser, another device (by id), or a name (a device-less operator, terminal, desktop). */
function resolverText(resolvedBy: string, myDeviceId?: string): string {
  if (resolvedBy === myDeviceId) return 'this browser';
  if (/^[0-9a-f]{64}$/.test(resolvedBy)) return `device ${shortId(resolvedBy)}`;
  return resolvedBy.length > 60 ? `${resolvedBy.slice(0, 60)}…` : resolvedBy;
}

function DecidedRow({ d, myDeviceId }: { d: DecidedView; myDeviceId?: string }) {
  const facts = requestFacts(d.request);
  return (
    <li data-decided-id={d.id}>
      <strong>{outcomeText(d)}</strong> at <Time ms={d.at} />
      {d.resolvedBy ? (
        <>
          {' '}
          by <Escaped text={resolverText(d.resolvedBy, myDeviceId)} />
        </>
      ) : null}
      : <ArgvInline argv={facts.argv} />
    </li>
  );
}

export function ApprovalsView({
  model,
  nodes,
  canAnswer,
  myDeviceId,
}: {
  model: ApprovalsModel;
  nodes: NodesModel;
  canAnswer: boolean;
  myDeviceId?: string;
}) {
  const { pending, decided, loadError } = useStore(model.store);
  useStore(nodes.store);
  return (
    <section aria-labelledby="approvals-title">
      <h2 id="approvals-title">Approvals</h2>
      {loadError ? <Notice kind="error">Could not load pending approvals: {loadError}</Notice> : null}
      <div aria-live="polite" class="sr-only">
        {pending.length === 0 ? 'Nothing is waiting for approval.' : `${pending.length} waiting for approval.`}
      </div>
      {pending.length === 0 ? <p class="empty">Nothing is waiting for approval.</p> : null}
      {pending.map((entry) => (
        <PendingCard key={entry.id} entry={entry} model={model} nodes={nodes} canAnswer={canAnswer} />
      ))}
      {decided.length > 0 ? (
        <>
          <h3>Recently decided</h3>
          <ul class="decided">
            {decided.map((d) => (
              <DecidedRow key={d.id} d={d} myDeviceId={myDeviceId} />
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
