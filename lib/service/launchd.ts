// macOS LaunchAgent: the plist (upstream's policy keys: RunAtLoad, KeepAlive, ExitTimeOut, ProcessType,
// ThrottleInterval, Umask 077, stdin from /dev/null, log paths) and the launchctl steps for each action.
// Every value is XML-escaped; the plist is written whole (0644, as launchd requires it readable) by rename.
import os from 'node:os';
import path from 'node:path';

import type { ServiceSpec } from './spec.js';

/** Upstream's LaunchAgent policy, in upstream's order. */
const POLICY: ReadonlyArray<[string, boolean | number | string]> = [
  ['RunAtLoad', true],
  ['KeepAlive', true],
  ['ExitTimeOut', 20],
  ['ProcessType', 'Interactive'],
  ['ThrottleInterval', 10],
  ['Umask', 63],
  ['StandardInPath', '/dev/null'],
];

export function plistEscape(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

function plistValue(value: boolean | number | string): string {
  if (typeof value === 'boolean') return `<${value}/>`;
  if (typeof value === 'number') return `<integer>${value}</integer>`;
  return `<string>${plistEscape(value)}</string>`;
}

export function renderPlist(spec: ServiceSpec): string {
  const entry = (key: string, value: string): string => `    <key>${plistEscape(key)}</key>\n    ${value}`;
  const lines = [
    entry('Label', plistValue(spec.label)),
    entry('Comment', plistValue(spec.description)),
    ...POLICY.map(([key, value]) => entry(key, plistValue(value))),
    entry(
      'ProgramArguments',
      `<array>\n${spec.programArguments.map((a) => `      ${plistValue(a)}`).join('\n')}\n    </array>`,
    ),
    entry('WorkingDirectory', plistValue(spec.workingDirectory)),
    entry('StandardOutPath', plistValue(spec.stdoutPath)),
    entry('StandardErrorPath', plistValue(spec.stderrPath)),
    entry(
      'EnvironmentVariables',
      `<dict>\n${Object.entries(spec.environment)
        .map(([k, v]) => `      <key>${plistEscape(k)}</key>\n      ${plistValue(v)}`)
        .join('\n')}\n    </dict>`,
    ),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '  <dict>',
    ...lines,
    '  </dict>',
    '</plist>',
    '',
  ].join('\n');
}

export function launchAgentPath(label: string, home = os.homedir()): string {
  return path.join(home, 'Library', 'LaunchAgents', `${label}.plist`);
}

export function guiDomain(uid = process.getuid?.() ?? 501): string {
  return `gui/${uid}`;
}

/** A launchctl step; `tolerate` lists exit conditions that mean "already in that state". */
export interface LaunchctlStep {
  argv: string[];
  /** bootout of a job that is not loaded fails harmlessly. */
  allowNotLoaded?: boolean;
}

/**
 * The launchctl steps per action. install: bootout any loaded copy (its plist may have changed), enable,
 * bootstrap the new plist, kickstart -k (start now, killing a straggler). restart: kickstart -k.
 * uninstall: bootout (the plist is removed after). status: print.
 */
export function launchctlPlan(
  action: 'install' | 'uninstall' | 'restart' | 'status',
  label: string,
  plistPath: string,
  domain = guiDomain(),
): LaunchctlStep[] {
  const target = `${domain}/${label}`;
  switch (action) {
    case 'install':
      return [
        { argv: ['launchctl', 'bootout', target], allowNotLoaded: true },
        { argv: ['launchctl', 'enable', target] },
        { argv: ['launchctl', 'bootstrap', domain, plistPath] },
        { argv: ['launchctl', 'kickstart', '-k', target] },
      ];
    case 'restart':
      return [{ argv: ['launchctl', 'kickstart', '-k', target] }];
    case 'uninstall':
      return [{ argv: ['launchctl', 'bootout', target], allowNotLoaded: true }];
    case 'status':
      return [{ argv: ['launchctl', 'print', target], allowNotLoaded: true }];
  }
}

/** launchctl's "not loaded" answers (bootout/print of an unknown job): exit 3, 5 or 113, or the text. */
export function isNotLoaded(result: { code: number | null; stdout: string; stderr: string }): boolean {
  return (
    result.code === 3 ||
    result.code === 5 ||
    result.code === 113 ||
    /could not find service|no such process|not loaded/i.test(`${result.stdout}\n${result.stderr}`)
  );
}

/** `launchctl print` → running state and pid. */
export function parseLaunchctlPrint(text: string): { loaded: boolean; running: boolean; pid?: number } {
  const state = /^\s*state = (\S+)/m.exec(text)?.[1];
  const pid = Number(/^\s*pid = (\d+)/m.exec(text)?.[1]);
  return { loaded: true, running: state === 'running', ...(Number.isInteger(pid) && pid > 0 ? { pid } : {}) };
}
