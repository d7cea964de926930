// Facts about a local process by pid, for status and doctor: how long it has run and which executable it is.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Milliseconds since the process started, or undefined when it cannot be told. */
export function processUptimeMs(pid: number): number | undefined {
  if (process.platform === 'linux') {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      const uptimeS = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      // USER_HZ is 100 on every Linux architecture Node supports.
      const ms = Math.round((uptimeS - startTicks / 100) * 1000);
      return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
    } catch {
      return undefined;
    }
  }
  try {
    // [[dd-]hh:]mm:ss
    const text = execFileSync('ps', ['-o', 'etime=', '-p', String(pid)], { timeout: 5_000 })
      .toString()
      .trim();
    const [days, rest] = text.includes('-') ? text.split('-') : ['0', text];
    const parts = rest!.split(':').map(Number).reverse();
    const seconds = (parts[0] ?? 0) + (parts[1] ?? 0) * 60 + (parts[2] ?? 0) * 3600 + Number(days) * 86_400;
    return Number.isFinite(seconds) ? seconds * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Linux: the executable of a pid (/proc/<pid>/exe); elsewhere undefined. */
export function processExecutable(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}
