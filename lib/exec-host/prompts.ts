// Asking a human: a pluggable Approver interface and three implementations (terminal, desktop
// dialog, the shared PendingApprovals queue the Gateway shows operators), plus a race that takes the
// first answer. No answer before the deadline resolves to null (the caller applies askFallback).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';

import type { ApprovalDecision, PendingApprovals } from '../common/pending-approvals.js';

export interface ApprovalPrompt {
  id: string;
  command: string[];
  commandText: string;
  cwd?: string;
  agentId: string;
  resolvedPath?: string;
  host: string;
  security: string;
  ask: string;
  allowedDecisions: ApprovalDecision[];
  /** Environment overrides the command would run with (a human must see what they approve). */
  env?: Record<string, string>;
  /** Why the policy asks, and what Always Allow would add (policy.ts promptNotes). */
  notes?: string[];
}

export interface Approver {
  readonly name: string;
  /** Whether this approver can reach a human right now. */
  isAvailable(): boolean;
  /** The human's decision, or null (dismissed, aborted). Must settle promptly once `signal` aborts. */
  ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<ApprovalDecision | null>;
}

export const PROMPT_TITLE = 'Allow this command?';
const LABELS: Record<ApprovalDecision, string> = {
  'allow-once': 'Allow Once',
  'allow-always': 'Always Allow',
  deny: "Don't Allow",
};

/** The text shown in every prompt (command first, then the context rows). */
export function promptText(prompt: ApprovalPrompt): string {
  const rows = [
    prompt.commandText,
    '',
    `Working directory: ${prompt.cwd ?? '(default)'}`,
    `Agent: ${prompt.agentId}`,
    `Executable: ${prompt.resolvedPath ?? '(not found)'}`,
    `Host: ${prompt.host}`,
    `Security: ${prompt.security}   Ask: ${prompt.ask}`,
    ...Object.entries(prompt.env ?? {}).map(([key, value]) => `Environment: ${key}=${value}`),
    ...(prompt.notes ?? []).map((note) => `Note: ${note}`),
  ];
  // Control characters could rewrite the terminal or fake extra rows.
  return [...rows.join('\n')]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      return (code < 0x20 && ch !== '\n' && ch !== '\t') || code === 0x7f ? '?' : ch;
    })
    .join('');
}

/** Asks `approver` with a deadline; null on timeout, abort or error. */
export async function askWithTimeout(
  approver: Approver,
  prompt: ApprovalPrompt,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<ApprovalDecision | null> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const onOuter = (): void => controller.abort();
  outer?.addEventListener('abort', onOuter, { once: true });
  // Already withdrawn (the client left before the prompt began): nobody is asked.
  if (outer?.aborted) controller.abort();
  try {
    const aborted = new Promise<null>((resolve) =>
      controller.signal.addEventListener('abort', () => resolve(null), { once: true }),
    );
    const decision = await Promise.race([approver.ask(prompt, controller.signal).catch(() => null), aborted]);
    return decision !== null && prompt.allowedDecisions.includes(decision) ? decision : null;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    controller.abort();
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
      const onAbort = (): void => controller.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await new Promise<ApprovalDecision | null>((resolve) => {
          let remaining = live.length;
          for (const approver of live) {
            approver
              .ask(prompt, controller.signal)
              .catch(() => null)
              .then((decision) => {
                remaining--;
                if (decision !== null) resolve(decision);
                else if (remaining === 0) resolve(null);
              });
          }
          controller.signal.addEventListener('abort', () => resolve(null), { once: true });
        });
      } finally {
        signal.removeEventListener('abort', onAbort);
        controller.abort();
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
      return chosen ? chosen.ask(prompt, signal) : Promise.resolve(null);
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

  ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<ApprovalDecision | null> {
    const run = this.queue.then(() => (signal.aborted ? null : this.askNow(prompt, signal)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private askNow(prompt: ApprovalPrompt, signal: AbortSignal): Promise<ApprovalDecision | null> {
    const choices = prompt.allowedDecisions.map((d, i) => `[${i + 1}] ${LABELS[d]}`).join('  ');
    const text = `\n${PROMPT_TITLE}\n${promptText(prompt).replace(/^/gm, '  ')}\n${choices} > `;
    return new Promise((resolve) => {
      const rl = readline.createInterface({ input: this.input, output: this.output, terminal: false });
      let done = false;
      const finish = (decision: ApprovalDecision | null): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        resolve(decision);
        rl.close();
      };
      const onAbort = (): void => {
        this.output.write('\n(no decision: timed out)\n');
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
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface DesktopApproverOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/**
 * A native dialog: macOS `osascript` (the command text is passed as an argv item to `on run argv`,
 * never spliced into the script); Linux `zenity` (plain text, no markup) or `kdialog` when a
 * display is present. Every tool is invoked with an argv array, no shell.
 */
export class DesktopApprover implements Approver {
  readonly name = 'desktop';
  private readonly env: NodeJS.ProcessEnv;
  private readonly platform: NodeJS.Platform;

  constructor(options: DesktopApproverOptions = {}) {
    this.env = options.env ?? process.env;
    this.platform = options.platform ?? process.platform;
  }

  /** The dialog tool to use, or undefined. */
  tool(): { kind: 'osascript' | 'zenity' | 'kdialog'; path: string } | undefined {
    const searchPath = this.env.PATH ?? '/usr/bin:/bin';
    if (this.platform === 'darwin') {
      const p = findInPath('osascript', '/usr/bin');
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
  dialogArgv(
    prompt: ApprovalPrompt,
  ): { argv: string[]; decide: (code: number | null, stdout: string) => ApprovalDecision | null } | undefined {
    const tool = this.tool();
    if (!tool) return undefined;
    const text = promptText(prompt);
    const offers = (d: ApprovalDecision): boolean => prompt.allowedDecisions.includes(d);
    if (tool.kind === 'osascript') {
      const buttons = (['deny', 'allow-always', 'allow-once'] as const)
        .filter(offers)
        .map((d) => `"${LABELS[d].replace(/"/g, '\\"')}"`)
        .join(', ');
      const script = [
        'on run argv',
        `set r to display dialog (item 1 of argv) with title "${PROMPT_TITLE}" buttons {${buttons}} default button "${LABELS['allow-once']}" with icon caution`,
        'return button returned of r',
        'end run',
      ];
      return {
        argv: [tool.path, ...script.flatMap((line) => ['-e', line]), text],
        decide: (code, stdout) => (code === 0 ? labelToDecision(stdout.trim()) : 'deny'),
      };
    }
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
    // kdialog may render rich text: neutralise tag starts.
    const safe = text.replace(/</g, '\u2039');
    const always = offers('allow-always');
    const argv = always
      ? [
          tool.path,
          '--title',
          PROMPT_TITLE,
          '--warningyesnocancel',
          safe,
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
          safe,
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

  ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<ApprovalDecision | null> {
    const dialog = this.dialogArgv(prompt);
    if (!dialog) return Promise.resolve(null);
    return new Promise((resolve) => {
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
    });
  }
}

function labelToDecision(label: string): ApprovalDecision | null {
  const entry = Object.entries(LABELS).find(([, text]) => text === label);
  return entry ? (entry[0] as ApprovalDecision) : null;
}

// ---- queue ----

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

  async ask(prompt: ApprovalPrompt, signal: AbortSignal): Promise<ApprovalDecision | null> {
    if (signal.aborted) return null;
    const { id, allowedDecisions, ...request } = prompt;
    let entry;
    try {
      entry = this.pending.add({ ...request }, { id, allowedDecisions, timeoutMs: this.timeoutMs });
    } catch {
      return null; // queue full or duplicate id: no decision
    }
    const onAbort = (): void => {
      this.pending.cancel(entry.id);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await entry.outcome;
      return outcome.decision;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
