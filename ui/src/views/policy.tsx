// exec-approvals.json of the Gateway host, through exec.approvals.get|set: defaults (security, ask,
// askFallback), per-agent overrides and allowlists. A save names the hash it was loaded at; the Gateway
// refuses it when the file changed since (the baseHash rule), and the page says so plainly.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';

import { Escaped, Notice, Time } from '../components.tsx';
import type { GatewayError, Session } from '../session.ts';

interface AllowlistEntry {
  id?: string;
  pattern: string;
  lastUsedAt?: number;
  lastUsedCommand?: string;
  [key: string]: unknown;
}

interface Section {
  security?: string;
  ask?: string;
  askFallback?: string;
  autoAllowSkills?: boolean;
  allowlist?: AllowlistEntry[];
  [key: string]: unknown;
}

interface PolicyFile {
  version: 1;
  socket?: { path?: string };
  defaults?: Section;
  agents?: Record<string, Section>;
  [key: string]: unknown;
}

interface Snapshot {
  path: string;
  exists: boolean;
  hash: string;
  file: PolicyFile;
}

const SECURITY = ['deny', 'allowlist', 'full'];
const ASK = ['off', 'on-miss', 'always'];

function Choice({
  label,
  value,
  options,
  inherit,
  disabled,
  onChange,
}: {
  label: string;
  value: string | undefined;
  options: string[];
  inherit?: boolean;
  disabled: boolean;
  onChange: (value: string | undefined) => void;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value ?? ''}
        disabled={disabled}
        onChange={(ev) => onChange((ev.currentTarget as HTMLSelectElement).value || undefined)}
      >
        {inherit || value === undefined ? <option value="">{inherit ? 'inherit' : 'default'}</option> : null}
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

function SectionEditor({
  title,
  section,
  inherit,
  readOnly,
  onChange,
}: {
  title: ComponentChildren;
  section: Section;
  inherit: boolean;
  readOnly: boolean;
  onChange: (next: Section) => void;
}) {
  const [pattern, setPattern] = useState('');
  const set = (key: keyof Section, value: unknown): void => {
    const next = { ...section };
    if (value === undefined) delete next[key];
    else next[key] = value;
    onChange(next);
  };
  const allowlist = section.allowlist ?? [];
  return (
    <fieldset class="card">
      <legend>{title}</legend>
      <div class="fields">
        <Choice
          label="security"
          value={section.security}
          options={SECURITY}
          inherit={inherit}
          disabled={readOnly}
          onChange={(v) => set('security', v)}
        />
        <Choice
          label="ask"
          value={section.ask}
          options={ASK}
          inherit={inherit}
          disabled={readOnly}
          onChange={(v) => set('ask', v)}
        />
        <Choice
          label="askFallback"
          value={section.askFallback}
          options={SECURITY}
          inherit={inherit}
          disabled={readOnly}
          onChange={(v) => set('askFallback', v)}
        />
      </div>
      <h4>Allowlist</h4>
      {allowlist.length === 0 ? <p class="empty">No entries.</p> : null}
      <ul class="allowlist">
        {allowlist.map((entry, i) => (
          <li key={entry.id ?? i}>
            <code>
              <Escaped text={entry.pattern} />
            </code>
            {entry.lastUsedAt !== undefined ? (
              <span class="hint">
                {' '}
                last used <Time ms={entry.lastUsedAt} />
              </span>
            ) : null}{' '}
            {readOnly ? null : (
              <button
                type="button"
                aria-label={`Remove ${entry.pattern}`}
                onClick={() =>
                  set(
                    'allowlist',
                    allowlist.filter((_, j) => j !== i),
                  )
                }
              >
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {readOnly ? null : (
        <form
          class="inline"
          onSubmit={(ev) => {
            ev.preventDefault();
            const p = pattern.trim();
            if (!p) return;
            set('allowlist', [...allowlist, { pattern: p }]);
            setPattern('');
          }}
        >
          <label class="field">
            <span>New pattern (resolved executable path glob, e.g. /usr/bin/echo)</span>
            <input value={pattern} onInput={(ev) => setPattern((ev.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit">Add pattern</button>
        </form>
      )}
    </fieldset>
  );
}

export function PolicyView({ session }: { session: Session }) {
  const readOnly = !session.has('operator.admin');
  const [loaded, setLoaded] = useState<Snapshot | undefined>();
  const [draft, setDraft] = useState<PolicyFile | undefined>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string; conflict?: boolean } | undefined>();
  const [busy, setBusy] = useState(false);
  const [newAgent, setNewAgent] = useState('');

  const load = async (): Promise<void> => {
    setBusy(true);
    try {
      const snapshot = await session.request<Snapshot>('exec.approvals.get', {});
      setLoaded(snapshot);
      setDraft(structuredClone(snapshot.file));
      setMessage(undefined);
    } catch (err) {
      setMessage({ kind: 'error', text: `Could not load the policy: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const save = async (): Promise<void> => {
    if (!loaded || !draft) return;
    setBusy(true);
    try {
      const snapshot = await session.request<Snapshot>('exec.approvals.set', { file: draft, baseHash: loaded.hash });
      setLoaded(snapshot);
      setDraft(structuredClone(snapshot.file));
      setMessage({ kind: 'ok', text: 'Saved. New commands are checked against this policy.' });
    } catch (err) {
      const e = err as GatewayError;
      if (e.detailCode === 'BASE_HASH_CHANGED' || e.detailCode === 'BASE_HASH_REQUIRED')
        setMessage({
          kind: 'error',
          conflict: true,
          text: 'Not saved: the policy file changed after you loaded it (the CLI, another window or an Always allow wrote it). Reload to see the current policy, then make your change again.',
        });
      else setMessage({ kind: 'error', text: `Not saved: ${e.message}` });
    } finally {
      setBusy(false);
    }
  };

  if (!draft || !loaded)
    return (
      <section aria-labelledby="policy-title">
        <h2 id="policy-title">Policy</h2>
        {message ? <Notice kind={message.kind}>{message.text}</Notice> : <p>Loading…</p>}
      </section>
    );
  const agents = draft.agents ?? {};
  const dirty = JSON.stringify(draft) !== JSON.stringify(loaded.file);
  return (
    <section aria-labelledby="policy-title">
      <h2 id="policy-title">Policy</h2>
      <p>
        <Escaped text={loaded.path} /> {loaded.exists ? '' : '(not created yet)'} — version{' '}
        <code>{loaded.hash.slice(0, 12)}</code>. The exec-approvals socket token is never sent to this page.
      </p>
      {readOnly ? <Notice>Read-only: editing needs operator.admin.</Notice> : null}
      {message ? (
        <Notice kind={message.kind}>
          {message.text}{' '}
          {message.conflict ? (
            <button type="button" onClick={() => void load()}>
              Reload policy
            </button>
          ) : null}
        </Notice>
      ) : null}
      <SectionEditor
        title="Defaults (every agent)"
        section={draft.defaults ?? {}}
        inherit={false}
        readOnly={readOnly}
        onChange={(defaults) => setDraft({ ...draft, defaults })}
      />
      {Object.entries(agents).map(([agentId, section]) => (
        <SectionEditor
          key={agentId}
          title={
            <>
              Agent <Escaped text={agentId} />
            </>
          }
          section={section}
          inherit={true}
          readOnly={readOnly}
          onChange={(next) => setDraft({ ...draft, agents: { ...agents, [agentId]: next } })}
        />
      ))}
      {readOnly ? null : (
        <form
          class="inline"
          onSubmit={(ev) => {
            ev.preventDefault();
            const id = newAgent.trim();
            if (!id || Object.hasOwn(agents, id)) return;
            setDraft({ ...draft, agents: { ...agents, [id]: {} } });
            setNewAgent('');
          }}
        >
          <label class="field">
            <span>Add an agent section (agent id, or * for all agents)</span>
            <input value={newAgent} onInput={(ev) => setNewAgent((ev.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit">Add agent</button>
        </form>
      )}
      {readOnly ? null : (
        <div class="actions sticky">
          <button type="button" class="allow" disabled={busy || !dirty} onClick={() => void save()}>
            Save policy
          </button>
          <button type="button" disabled={busy} onClick={() => void load()}>
            {dirty ? 'Discard changes' : 'Reload'}
          </button>
          <span class="hint">{dirty ? 'Unsaved changes.' : 'No changes.'}</span>
        </div>
      )}
    </section>
  );
}
