// Append-only JSON-lines audit log (mode 0600) of every connection and decision, rotated by size.
// Records the peer's pid and executable for humans; authorisation never uses them (pids are reused).
import fs from 'node:fs';

/** The exec host's audit log in the state dir (rotated copies: `.1` … `.N`). */
export const AUDIT_FILE_NAME = 'exec-approvals.audit.jsonl';

export interface AuditRecord {
  event: string;
  [field: string]: unknown;
}

export interface AuditLogOptions {
  /** Rotate when the file would exceed this many bytes (default 5 MiB). */
  maxBytes?: number;
  /** Rotated generations kept: file.1 … file.N (default 3). */
  keep?: number;
}

export class AuditLog {
  private fd: number | undefined;
  private size = 0;
  readonly maxBytes: number;
  readonly keep: number;

  constructor(
    readonly file: string,
    options: AuditLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.keep = options.keep ?? 3;
    this.open();
  }

  private open(): void {
    // O_NOFOLLOW: a planted symlink cannot redirect our appends.
    this.fd = fs.openSync(
      this.file,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
      0o600,
    );
    const st = fs.fstatSync(this.fd);
    if ((st.mode & 0o077) !== 0) fs.fchmodSync(this.fd, 0o600);
    this.size = st.size;
  }

  write(record: AuditRecord): void {
    if (this.fd === undefined) return;
    const line = `${JSON.stringify({ ts: new Date().toISOString(), ...record })}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    try {
      fs.writeSync(this.fd, line);
      this.size += bytes;
    } catch {
      // A full disk must not take the exec host down; the record is lost.
    }
  }

  private rotate(): void {
    this.close();
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch {
        /* generation missing */
      }
    }
    try {
      fs.renameSync(this.file, `${this.file}.1`);
    } catch {
      /* already moved */
    }
    this.open();
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** The peer's executable path for the audit record (Linux /proc; undefined elsewhere or when gone). */
export function peerExecutable(pid: number | undefined): string | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}
