// Small shared pieces: escaped text, argv boxes, times, countdowns, notices.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { escapePieces } from './argv.ts';

/** Requester-chosen text with every invisible or reordering character shown as an escape. */
export function Escaped({ text }: { text: string }) {
  if (text === '') return <span class="esc">(empty)</span>;
  return (
    <bdi class="escaped" dir="ltr">
      {escapePieces(text).map((piece, i) =>
        piece.escape ? (
          <span class="esc" key={i}>
            {piece.text}
          </span>
        ) : (
          piece.text
        ),
      )}
    </bdi>
  );
}

/** The compact form (tables, lists): arguments side by side, each in its own bordered box. */
export function ArgvInline({ argv }: { argv: readonly string[] }) {
  return (
    <span class="argv-inline" aria-label={`${argv.length} argument${argv.length === 1 ? '' : 's'}`}>
      {argv.map((arg, i) => (
        <code class="arg-inline" key={i}>
          <Escaped text={arg} />
        </code>
      ))}
    </span>
  );
}

/** Command output: real line breaks kept, every other invisible or reordering character escaped. */
export function Output({ text }: { text: string }) {
  const lines = text.split('\n');
  return (
    <pre class="output">
      {lines.map((line, i) => (
        <span key={i}>
          {line === '' ? '' : <Escaped text={line} />}
          {i < lines.length - 1 ? '\n' : ''}
        </span>
      ))}
    </pre>
  );
}

/** One numbered box per argument: no argument can look like two, or like a row of the card. */
export function Argv({ argv, label = 'Command' }: { argv: readonly string[]; label?: string }) {
  return (
    <ol class="argv" aria-label={`${label}: ${argv.length} argument${argv.length === 1 ? '' : 's'}`}>
      {argv.map((arg, i) => (
        <li key={i}>
          <span class="argi" aria-hidden="true">
            {i}
          </span>
          <code class="arg">
            <Escaped text={arg} />
          </code>
        </li>
      ))}
    </ol>
  );
}

export function Time({ ms }: { ms: number | undefined }) {
  if (ms === undefined) return <span>—</span>;
  const date = new Date(ms);
  return (
    <time dateTime={date.toISOString()} title={date.toISOString()}>
      {date.toLocaleTimeString(undefined, { hour12: false })}
    </time>
  );
}

export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), periodMs);
    return () => window.clearInterval(timer);
  }, [periodMs]);
  return now;
}

export function Countdown({ until, fallback }: { until: number; fallback?: string }) {
  const now = useNow();
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  const then = fallback ? `then askFallback=${fallback} applies` : 'then the fallback policy applies';
  return (
    <span class={left <= 10 ? 'countdown urgent' : 'countdown'}>
      {left > 0 ? `${left} s left, ${then}` : `time is up: ${then}`}
    </span>
  );
}

export function Notice({ kind = 'info', children }: { kind?: 'info' | 'error' | 'ok'; children: ComponentChildren }) {
  const label = kind === 'error' ? 'Error: ' : kind === 'ok' ? 'Done: ' : 'Note: ';
  return (
    <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <strong>{label}</strong>
      {children}
    </p>
  );
}

export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}
