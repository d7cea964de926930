// Asking a human: a pluggable Approver interface and three implementations (terminal, desktop
// dialog, the shared PendingApprovals queue the Gateway shows operators), plus a race that takes the
// first answer. No answer before the deadline resolves to null (the caller applies askFallback).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';

import { displayArg, displayArgv, displayString, type DisplayOptions } from '../common/argv-display.js';
import type { ApprovalDecision, PendingApprovals } from '../common/approval-queue.js';
import { resolveExecutable } from './resolve-executable.js';

export interface ApprovalPrompt {
  id: string;
  /** The argv that would run (exec requests). */
  command: string[];
  /** The command as text: the canonical text of `command`, or the shell string of a `request`. */
  commandText: string;
  /** The request carried only a shell string (the socket's `request` type): show `commandText`, not `command`. */
  shellText?: boolean;
  cwd?: string;
  agentId: string;
  resolvedPath?: string;
  host: string;
  security: string;
  ask: string;
  /** What happens when nobody answers (the policy's askFallback), when known. */
  askFallback?: string;
  /** The process that asked (pid, executable), for humans; never used to decide. */
  requester?: { pid?: number; exe?: string };
  allowedDecisions: ApprovalDecision[];
  /** Environment overrides the command would run with (a human must see what they approve). */
  env?: Record<string, string>;
  /** Why the policy asks, and what Always Allow would add (policy.ts promptNotes). */
  notes?: string[];
}

/** A decision and who made it ("terminal", "desktop dialog", "operator <device>"). */
export interface Answer {
  decision: ApprovalDecision;
  by: string;
}

export interface Approver {
  readonly name: string;
  /** Whether this approver can reach a human right now. */
  isAvailable(): boolean;
  /**
   * The human's decision (with who gave it, or the bare decision: `by` is then the approver's name), or
   * null (dismissed, aborted). Must settle promptly once `signal` aborts; the abort reason is a PromptStop.
   */
  ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<ApprovalDecision | Answer | null>;
}

/** Why a prompt stopped waiting without its own answer: the AbortSignal reason every approver receives. */
export type PromptStop =
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'withdrawn' }
  | { kind: 'answered'; answer: Answer }
  | { kind: 'closed' };

/** How a question to the humans ended. `unavailable`: nobody could be asked (no terminal, display or queue). */
export type AskOutcome =
  | { end: 'answered'; decision: ApprovalDecision; by: string }
  | { end: 'timeout'; decision: null; afterMs: number }
  | { end: 'withdrawn' | 'unavailable' | 'dismissed'; decision: null };

/** The PromptStop an approver's signal was aborted with, if it is one. */
export function promptStopOf(signal: AbortSignal): PromptStop | undefined {
  const reason: unknown = signal.reason;
  return typeof reason === 'object' && reason !== null && 'kind' in reason ? (reason as PromptStop) : undefined;
}

function toAnswer(value: ApprovalDecision | Answer | null, by: string): Answer | null {
  if (value === null) return null;
  return typeof value === 'string' ? { decision: value, by } : value;
}

const duration = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

/** One line that tells a human how a prompt ended (the terminal, `up`'s log, denial details). */
export function describeStop(stop: PromptStop | AskOutcome): string {
  if ('kind' in stop) {
    if (stop.kind === 'timeout') return `no decision: nobody answered within ${duration(stop.afterMs)}`;
    if (stop.kind === 'withdrawn') return 'withdrawn: the requester went away';
    if (stop.kind === 'answered') return `answered by ${stop.answer.by}: ${stop.answer.decision}`;
    return 'closed';
  }
  switch (stop.end) {
    case 'answered':
      return `${stop.decision} by ${stop.by}`;
    case 'timeout':
      return `nobody answered within ${duration(stop.afterMs)}`;
    case 'withdrawn':
      return 'the requester went away';
    case 'unavailable':
      return 'nobody could be asked (no terminal, no desktop dialog, no operator queue)';
    default:
      return 'the prompt was closed without a decision';
  }
}

export const PROMPT_TITLE = 'Allow this command?';
const LABELS: Record<ApprovalDecision, string> = {
  'allow-once': 'Allow Once',
  'allow-always': 'Always Allow',
  deny: "Don't Allow",
};

/** The command as every prompt shows it: the argv (or the shell string of a `request`), escaped and unambiguous. */
export function displayCommand(prompt: ApprovalPrompt, options: DisplayOptions = {}): string {
  return prompt.shellText ? displayString(prompt.commandText, options) : displayArgv(prompt.command, options);
}

/**
 * The text shown in every prompt: the command first, then the context rows. Every value goes through
 * lib/common/argv-display.ts, so no row can carry a line break, a control or bidi character, or text that
 * passes for another row. `alsoEscape` adds characters the surface would interpret (kdialog: `<&`).
 */
export function promptText(prompt: ApprovalPrompt, options: DisplayOptions = {}): string {
  const path = (value: string | undefined, none: string): string =>
    value === undefined ? none : displayArg(value, options);
  const text = (value: string): string => displayString(value, { ...options, maxChars: 200 });
  return [
    `${prompt.shellText ? 'Shell command' : 'Command'}: ${displayCommand(prompt, options)}`,
    '',
    `Working directory: ${path(prompt.cwd, '(default)')}`,
    `Agent: ${text(prompt.agentId)}`,
    `Executable: ${path(prompt.resolvedPath, '(not found)')}`,
    `Host: ${text(prompt.host)}`,
    `Security: ${text(prompt.security)}   Ask: ${text(prompt.ask)}${prompt.askFallback ? `   If nobody answers: ${text(prompt.askFallback)}` : ''}`,
    ...Object.entries(prompt.env ?? {}).map(([key, value]) => `Environment: ${text(key)}=${text(value)}`),
    ...(prompt.notes ?? []).map((note) => `Note: ${text(note)}`),
  ].join('\n');
}

/** Asks `approver` with a deadline; null on timeout, abort or error. */
export async function askWithTimeout(
  approver: Approver,
  prompt: ApprovalPrompt,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<ApprovalDecision | null> {
  return (await askForDecision(approver, prompt, timeoutMs, outer)).decision;
}

/**
 * Asks `approver` with a deadline and says how it ended. `outer` aborting (the requester left) withdraws
 * the prompt; a decision outside `allowedDecisions` counts as dismissed.
 */
export async function askForDecision(
  approver: Approver | undefined,
  prompt: ApprovalPrompt,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<AskOutcome> {
  if (!approver || !approver.isAvailable()) return { end: 'unavailable', decision: null };
  // Already withdrawn (the client left before the prompt began): nobody is asked.
  if (outer?.aborted) return { end: 'withdrawn', decision: null };
  const controller = new AbortController();
  const stop = (reason: PromptStop): void => controller.abort(reason);
  const timer = setTimeout(() => stop({ kind: 'timeout', afterMs: timeoutMs }), timeoutMs);
  const onOuter = (): void => stop({ kind: 'withdrawn' });
  outer?.addEventListener('abort', onOuter, { once: true });
  try {
    const aborted = new Promise<null>((resolve) =>
      controller.signal.addEventListener('abort', () => resolve(null), { once: true }),
    );
    const answer = await Promise.race([
      approver
        .ask(prompt, controller.signal)
        .then((value) => toAnswer(value, approver.name))
        .catch(() => null),
      aborted,
    ]);
    if (answer && prompt.allowedDecisions.includes(answer.decision) && !controller.signal.aborted)
      return { end: 'answered', decision: answer.decision, by: answer.by };
    const reason = promptStopOf(controller.signal);
    if (reason?.kind === 'timeout') return { end: 'timeout', decision: null, afterMs: reason.afterMs };
    if (reason?.kind === 'withdrawn') return { end: 'withdrawn', decision: null };
    return { end: 'dismissed', decision: null };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    stop({ kind: 'closed' });
  }
}

/** Runs every available approver at once; the first non-null answer wins and the others are aborted. */
export function raceApprovers(name: string, approvers: Approver[]): Approver {
  return {
    name,
    isAvailable: () => approvers.some((a) => a.isAvailable()),
    ask: async (prompt, signal) => {
      const live = approvers.filter((a) => a.isAvailable());
      if (live.length === 0) return null;
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      let winner: Answer | null = null;
      try {
        winner = await new Promise<Answer | null>((resolve) => {
          let remaining = live.length;
          for (const approver of live) {
            approver
              .ask(prompt, controller.signal)
              .then((value) => toAnswer(value, approver.name))
              .catch(() => null)
              .then((answer) => {
                remaining--;
                if (answer !== null) resolve(answer);
                else if (remaining === 0) resolve(null);
              });
          }
          controller.signal.addEventListener('abort', () => resolve(null), { once: true });
        });
        return winner;
      } finally {
        signal.removeEventListener('abort', onAbort);
        // The losers learn who answered (the terminal says so instead of "timed out").
        controller.abort(winner ? ({ kind: 'answered', answer: winner } satisfies PromptStop) : signal.reason);
      }
    },
  };
}

/** The first available of `prompters` (terminal, desktop…) raced against the queue, as the app composes them. */
export function composeApprovers(prompters: Approver[], queue?: Approver): Approver {
  const firstPrompter: Approver = {
    name: 'prompter',
    isAvailable: () => prompters.some((p) => p.isAvailable()),
    ask: (prompt, signal) => {
      const chosen = prompters.find((p) => p.isAvailable());
      return chosen ? chosen.ask(prompt, signal).then((value) => toAnswer(value, chosen.name)) : Promise.resolve(null);
    },
  };
  return raceApprovers('composed', queue ? [firstPrompter, queue] : [firstPrompter]);
}

// ---- terminal ----

export interface TerminalApproverOptions {
  input?: Readable & { isTTY?: boolean };
  output?: Writable & { isTTY?: boolean };
  /** Treat the streams as interactive even if they are not TTYs (tests, pipes driven by a human tool). */
  forceInteractive?: boolean;
}

/** Asks on the controlling terminal; one prompt at a time. Available only when stdin and stdout are TTYs. */
export class TerminalApprover implements Approver {
  readonly name = 'terminal';
  private readonly input: Readable & { isTTY?: boolean };
  private readonly output: Writable & { isTTY?: boolean };
  private readonly forced: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: TerminalApproverOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.forced = options.forceInteractive ?? false;
  }

  isAvailable(): boolean {
    return this.forced || (this.input.isTTY === true && this.output.isTTY === true);
  }

  ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<Answer | null> {
    const run = this.queue.then(() => (signal.aborted ? null : this.askNow(prompt, signal)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private askNow(prompt: ApprovalPrompt, signal: AbortSignal): Promise<Answer | null> {
    const choices = prompt.allowedDecisions.map((d, i) => `[${i + 1}] ${LABELS[d]}`).join('  ');
    const text = `\n${PROMPT_TITLE}\n${promptText(prompt).replace(/^/gm, '  ')}\n${choices} > `;
    return new Promise<Answer | null>((resolve) => {
      const rl = readline.createInterface({ input: this.input, output: this.output, terminal: false });
      let done = false;
      const finish = (decision: ApprovalDecision | null): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        resolve(decision === null ? null : { decision, by: 'terminal' });
        rl.close();
      };
      const onAbort = (): void => {
        const stop = promptStopOf(signal);
        const fallback =
          stop?.kind === 'timeout' && prompt.askFallback
            ? `; askFallback=${displayString(prompt.askFallback)} applies`
            : '';
        this.output.write(`\n(${stop ? describeStop(stop) : 'closed'}${fallback})\n`);
        finish(null);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      rl.on('line', (line) => {
        const answer = line.trim().toLowerCase();
        const byIndex = prompt.allowedDecisions[Number(answer) - 1];
        const byWord = prompt.allowedDecisions.find((d) => LABELS[d].toLowerCase() === answer || d === answer);
        const decision = byIndex ?? byWord;
        if (decision) finish(decision);
        else this.output.write(`${choices} > `);
      });
      rl.once('close', () => finish(null));
      this.output.write(text);
    });
  }
}

// ---- desktop ----

function findInPath(name: string, searchPath: string): string | undefined {
  const resolved = resolveExecutable(name, undefined, searchPath);
  return 'path' in resolved ? resolved.found : undefined;
}

export interface DesktopApproverOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** macOS: the directory osascript is taken from (default /usr/bin; never the caller's PATH). */
  osascriptDir?: string;
}

/** An AppleScript string literal: `\` and `"` escaped, nothing else is special inside one. */
export function appleScriptString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The dialog text for one tool: what the tool shows is exactly promptText's rendering.
 *   - zenity: `--no-markup` makes it gtk_label_set_text (no Pango markup, no g_strcompress escapes);
 *   - kdialog: Utils::parseString turns `\n` into a line break and `\\` into `\` (so every `\` is doubled),
 *     and a QLabel guesses rich text from a tag or an entity (so `<` and `&` are escapes, never literal);
 *   - osascript: the text is an argv item read by `on run argv`, never part of the script source.
 */
export function dialogText(prompt: ApprovalPrompt, kind: 'osascript' | 'zenity' | 'kdialog'): string {
  if (kind !== 'kdialog') return promptText(prompt);
  return promptText(prompt, { alsoEscape: '<&' }).replace(/\\/g, '\\\\');
}

/** A dialog's argv and the mapping from its outcome (exit code, stdout) to a decision. */
interface Dialog {
  argv: string[];
  decide: (code: number | null, stdout: string) => ApprovalDecision | null;
}

/** macOS: osascript's `display dialog`, the text passed as an argument (never spliced into the script). */
function appleScriptDialog(tool: string, text: string, offers: (d: ApprovalDecision) => boolean): Dialog {
  const buttons = (['deny', 'allow-always', 'allow-once'] as const)
    .filter(offers)
    .map((d) => appleScriptString(LABELS[d]))
    .join(', ');
  const script = [
    'on run argv',
    `set r to display dialog (item 1 of argv) with title ${appleScriptString(PROMPT_TITLE)} buttons {${buttons}} ` +
      `default button ${appleScriptString(LABELS['allow-once'])} with icon caution`,
    'return button returned of r',
    'end run',
  ];
  return {
    argv: [tool, ...script.flatMap((line) => ['-e', line]), text],
    decide: (code, stdout) => (code === 0 ? labelToDecision(stdout.trim()) : 'deny'),
  };
}

/**
 * A native dialog: macOS `osascript`, Linux `zenity` or `kdialog` when a display is present, with the
 * text from dialogText(). Every tool is invoked with an argv array, no shell.
 */
export class DesktopApprover implements Approver {
  readonly name = 'desktop';
  private readonly env: NodeJS.ProcessEnv;
  private readonly platform: NodeJS.Platform;
  private readonly osascriptDir: string;

  constructor(options: DesktopApproverOptions = {}) {
    this.env = options.env ?? process.env;
    this.platform = options.platform ?? process.platform;
    this.osascriptDir = options.osascriptDir ?? '/usr/bin';
  }

  /** The dialog tool to use, or undefined. */
  tool(): { kind: 'osascript' | 'zenity' | 'kdialog'; path: string } | undefined {
    const searchPath = this.env.PATH ?? '/usr/bin:/bin';
    if (this.platform === 'darwin') {
      const p = findInPath('osascript', this.osascriptDir);
      return p ? { kind: 'osascript', path: p } : undefined;
    }
    if (this.platform !== 'linux' || !(this.env.DISPLAY || this.env.WAYLAND_DISPLAY)) return undefined;
    const zenity = findInPath('zenity', searchPath);
    if (zenity) return { kind: 'zenity', path: zenity };
    const kdialog = findInPath('kdialog', searchPath);
    return kdialog ? { kind: 'kdialog', path: kdialog } : undefined;
  }

  isAvailable(): boolean {
    return this.tool() !== undefined;
  }

  /** The argv for the dialog and a mapping from its outcome to a decision. Exported for tests. */
  dialogArgv(prompt: ApprovalPrompt): Dialog | undefined {
    const tool = this.tool();
    if (!tool) return undefined;
    const text = dialogText(prompt, tool.kind);
    const offers = (d: ApprovalDecision): boolean => prompt.allowedDecisions.includes(d);
    if (tool.kind === 'osascript') return appleScriptDialog(tool.path, text, offers);
    if (tool.kind === 'zenity') {
      const argv = [
        tool.path,
        '--question',
        '--title',
        PROMPT_TITLE,
        '--no-markup',
        '--text',
        text,
        '--ok-label',
        LABELS['allow-once'],
        '--cancel-label',
        LABELS.deny,
      ];
      if (offers('allow-always')) argv.push('--extra-button', LABELS['allow-always']);
      return {
        argv,
        decide: (code, stdout) => {
          if (stdout.trim() === LABELS['allow-always']) return 'allow-always';
          if (code === 0) return 'allow-once';
          if (code === 1) return 'deny';
          return null; // 5 = zenity's timeout, others = no decision
        },
      };
    }
    const always = offers('allow-always');
    const argv = always
      ? [
          tool.path,
          '--title',
          PROMPT_TITLE,
          '--warningyesnocancel',
          text,
          '--yes-label',
          LABELS['allow-once'],
          '--no-label',
          LABELS['allow-always'],
          '--cancel-label',
          LABELS.deny,
        ]
      : [
          tool.path,
          '--title',
          PROMPT_TITLE,
          '--warningyesno',
          text,
          '--yes-label',
          LABELS['allow-once'],
          '--no-label',
          LABELS.deny,
        ];
    return {
      argv,
      decide: (code) =>
        code === 0 ? 'allow-once' : code === 1 ? (always ? 'allow-always' : 'deny') : code === 2 ? 'deny' : null,
    };
  }

  ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<Answer | null> {
    const dialog = this.dialogArgv(prompt);
    if (!dialog) return Promise.resolve(null);
    return new Promise<ApprovalDecision | null>((resolve) => {
      const child = spawn(dialog.argv[0], dialog.argv.slice(1), {
        stdio: ['ignore', 'pipe', 'ignore'],
        shell: false,
        env: this.env,
      });
      let stdout = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        if (stdout.length < 4096) stdout += chunk;
      });
      const onAbort = (): void => {
        child.kill('SIGTERM');
        resolve(null);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      child.once('error', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(null);
      });
      child.once('close', (code) => {
        signal.removeEventListener('abort', onAbort);
        resolve(signal.aborted ? null : dialog.decide(code, stdout));
      });
    }).then((decision) => (decision === null ? null : { decision, by: 'desktop dialog' }));
  }
}

function labelToDecision(label: string): ApprovalDecision | null {
  const entry = Object.entries(LABELS).find(([, text]) => text === label);
  return entry ? (entry[0] as ApprovalDecision) : null;
}

// ---- queue ----

/**
 * What an operator sees of a prompt in the queue (`exec.approval.list`, `exec.approval.requested`):
 * `command` is the text (upstream's field), `commandArgv` the exact argv when there is one, and
 * `commandDisplay` the escaped rendering every human-facing listing shows.
 */
export function queuedRequest(prompt: ApprovalPrompt): Record<string, unknown> {
  const request: Record<string, unknown> = {
    command: prompt.commandText,
    commandText: prompt.commandText,
    commandDisplay: displayCommand(prompt),
    cwd: prompt.cwd ?? null,
    agentId: prompt.agentId,
    resolvedPath: prompt.resolvedPath ?? null,
    host: prompt.host,
    security: prompt.security,
    ask: prompt.ask,
  };
  // The control page's countdown names what applies, and who asked (for humans; never used to decide).
  if (prompt.askFallback !== undefined) request.askFallback = prompt.askFallback;
  if (prompt.requester !== undefined) request.requester = { ...prompt.requester };
  if (!prompt.shellText) request.commandArgv = [...prompt.command];
  return request;
}

/** Puts the prompt on the shared PendingApprovals queue (the Gateway shows it to operators). */
export class QueueApprover implements Approver {
  readonly name = 'queue';
  constructor(
    readonly pending: PendingApprovals,
    private readonly timeoutMs = 120_000,
  ) {}

  isAvailable(): boolean {
    return true;
  }

  async ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<Answer | null> {
    if (signal.aborted) return null;
    let entry;
    try {
      entry = this.pending.add(queuedRequest(prompt), {
        id: prompt.id,
        allowedDecisions: prompt.allowedDecisions,
        timeoutMs: this.timeoutMs,
      });
    } catch {
      return null; // queue full or duplicate id: no decision
    }
    const onAbort = (): void => {
      const stop = promptStopOf(signal);
      // Answered at the terminal or in a dialog: operators see that answer (and who gave it), not a withdrawal.
      if (stop?.kind === 'answered' && this.pending.resolve(entry.id, stop.answer.decision, stop.answer.by)) return;
      this.pending.cancel(entry.id, stop ? describeStop(stop) : undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await entry.outcome;
      return outcome.decision === null
        ? null
        : // The operator's name comes from its connect frame: shown escaped like any other untrusted text.
          {
            decision: outcome.decision,
            by: `operator ${displayString(outcome.resolvedBy ?? '(unknown)', { maxChars: 80 })}`,
          };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
