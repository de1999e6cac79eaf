import { closeSync, openSync, writeSync } from "node:fs";

/** The stable names of audit events (docs/observability.md describes each one's fields). */
export type AuditEventName =
  | "token.issued"
  | "client_auth.refused"
  | "token.revoked"
  | "key.published"
  | "key.rotated"
  | "key.retired"
  | "key.revoked"
  | "throttle.blocked"
  | "config.loaded";

/** Where audit lines go: one JSON object per line, written synchronously so that none is lost on a crash. */
export interface AuditSink {
  write(line: string): void;
  close(): void;
}

/** Standard output (the default: logs go to standard error). */
export const stdoutAuditSink: AuditSink = { write: (line) => process.stdout.write(line), close: () => {} };

/** Appends to a file, opened now (a path that cannot be opened stops the start). */
export function fileAuditSink(path: string): AuditSink {
  const fd = openSync(path, "a", 0o640);
  let open = true;
  return {
    write: (line) => {
      if (open) writeSync(fd, line);
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Longest string an audit field keeps: a claimed client id is the caller's to choose. */
const MAX_FIELD = 256;

function bounded(value: unknown): unknown {
  return typeof value === "string" && value.length > MAX_FIELD ? `${value.slice(0, MAX_FIELD)}…` : value;
}

/**
 * The audit stream: one JSON line per event, `{"time", "event", …fields}`.
 * Fields are never secrets, tokens or assertions; undefined fields are left out.
 */
export class AuditLog {
  constructor(
    private readonly sink: AuditSink,
    private readonly now: () => number = Date.now,
  ) {}

  record(event: AuditEventName, fields: Record<string, unknown>): void {
    const line: Record<string, unknown> = { time: new Date(this.now()).toISOString(), event };
    for (const [name, value] of Object.entries(fields)) if (value !== undefined) line[name] = bounded(value);
    this.sink.write(`${JSON.stringify(line)}\n`);
  }

  close(): void {
    this.sink.close();
  }
}
