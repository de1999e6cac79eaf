import { closeSync, openSync, writeSync } from "node:fs";
import { isoTimeFormatter } from "../../internal/iso-time.js";

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

/** The fields of an audit event; `time` and `event` are the line's own. */
export type AuditFields = Record<string, unknown> & { time?: never; event?: never };

/** `,"name":` for each field name (names are our code's, a small fixed set), JSON-encoded once. */
const fieldPrefixes = new Map<string, string>();

function fieldPrefix(name: string): string {
  let prefix = fieldPrefixes.get(name);
  if (prefix === undefined) {
    prefix = `,${JSON.stringify(name)}:`;
    fieldPrefixes.set(name, prefix);
  }
  return prefix;
}

/**
 * The audit stream: one JSON line per event, `{"time", "event", …fields}`.
 * Fields are never secrets, tokens or assertions; undefined fields are left out.
 */
export class AuditLog {
  readonly #isoTime = isoTimeFormatter();

  constructor(
    private readonly sink: AuditSink,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Writes the line JSON.stringify would write for `{time, event, ...fields}`, built field by field
   * (a line per token issued: no intermediate object, no entry arrays, the time's ISO form reused
   * within its second). `time` and `event` always come first.
   */
  record(event: AuditEventName, fields: AuditFields): void {
    let line = `{"time":"${this.#isoTime(this.now())}","event":${JSON.stringify(event)}`;
    for (const name in fields) {
      const value = fields[name];
      if (value === undefined) continue;
      const json = JSON.stringify(typeof value === "string" && value.length > MAX_FIELD ? `${value.slice(0, MAX_FIELD)}…` : value);
      // Functions and symbols, which JSON leaves out of an object.
      if (json === undefined) continue;
      line += fieldPrefix(name) + json;
    }
    this.sink.write(`${line}}\n`);
  }

  close(): void {
    this.sink.close();
  }
}
