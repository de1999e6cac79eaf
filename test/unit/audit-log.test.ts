import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog, type AuditSink } from "../../src/server/observability/audit-log.js";
import { serviceObserver } from "../../src/server/observability/service-observer.js";
import { silentLogger } from "../../src/internal/logger.js";

function capture(): AuditSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => lines.push(line), close: () => {} };
}

/** The line as the audit stream has always written it: JSON.stringify of the whole event, undefined fields left out, long strings cut. */
function expectedLine(time: number, event: string, fields: Record<string, unknown>): string {
  const line: Record<string, unknown> = { time: new Date(time).toISOString(), event };
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) line[name] = typeof value === "string" && value.length > 256 ? `${value.slice(0, 256)}…` : value;
  }
  return `${JSON.stringify(line)}\n`;
}

describe("AuditLog", () => {
  it("writes one JSON line per event, as JSON.stringify of the event writes it", () => {
    const sink = capture();
    let now = 1_764_504_000_123;
    const audit = new AuditLog(sink, () => now);
    const cases: Record<string, unknown>[] = [
      {},
      { client_id: "a", jti: "j", missing: undefined, scopes: ["x", "y"], retry_after_seconds: 30, ok: true, nothing: null },
      { client_id: 'quote " backslash \\ newline \n tab \t nul \u0000 line-separator \u2028 é 😀 lone \ud800', detail: "x".repeat(300) },
      { nested: { a: [1, { b: "c" }], at: new Date(0) }, fn: () => 1, sym: Symbol("s"), n: Number.NaN, inf: -Infinity },
      { 'odd name"': 1, "": "empty name" },
    ];
    for (const fields of cases) {
      now += 997;
      audit.record("token.issued", fields);
      assert.equal(sink.lines.at(-1), expectedLine(now, "token.issued", fields));
      assert.doesNotThrow(() => JSON.parse(sink.lines.at(-1)!));
    }
  });

  it("starts every line with time and event, whatever the fields are named", () => {
    const sink = capture();
    new AuditLog(sink, () => 0).record("key.published", { 7: "integer-like name", kid: "k" });
    assert.ok(sink.lines[0]!.startsWith('{"time":"1970-01-01T00:00:00.000Z","event":"key.published",'));
  });

  it("keeps every line's own time, within a second and across seconds", () => {
    const sink = capture();
    let now = 1_764_504_000_000;
    const audit = new AuditLog(sink, () => now);
    for (const step of [0, 1, 998, 1, 1000, -1500, 60_000]) {
      now += step;
      audit.record("key.published", { kid: "k" });
      assert.equal(JSON.parse(sink.lines.at(-1)!).time, new Date(now).toISOString());
    }
  });

  it("token.issued: the same fields as before, with and without a workload and a delegation", () => {
    const sink = capture();
    const now = 1_764_504_000_456;
    const events = serviceObserver({ audit: new AuditLog(sink, () => now), logger: silentLogger, now: () => now });
    const base = {
      clientId: "svc",
      audience: "https://api.example.com",
      scopes: ["read", "write"],
      jti: "3f1b",
      kid: "kid-1",
      grantType: "client_credentials",
      authMethod: "client_secret_basic",
      source: "127.0.0.1",
      expiresAt: 1_764_504_300,
    };
    const fieldsOf = (
      e: typeof base & { workload?: { issuer: string; subject: string }; delegation?: { subject: string; actors: string[]; subjectTokenId: string } },
    ) => ({
      client_id: e.clientId,
      audience: e.audience,
      scopes: e.scopes,
      jti: e.jti,
      kid: e.kid,
      grant_type: e.grantType,
      auth_method: e.authMethod,
      source: e.source,
      expires_at: new Date(e.expiresAt * 1000).toISOString(),
      ...(e.workload === undefined ? {} : { workload_issuer: e.workload.issuer, workload_subject: e.workload.subject }),
      ...(e.delegation === undefined ? {} : { sub: e.delegation.subject, actors: e.delegation.actors, subject_token_jti: e.delegation.subjectTokenId }),
    });
    const variants = [
      base,
      { ...base, source: undefined as unknown as string, expiresAt: base.expiresAt + 1 },
      { ...base, workload: { issuer: "https://idp.example.com", subject: "spiffe://x/y" } },
      { ...base, delegation: { subject: "alice", actors: ["svc", "gateway"], subjectTokenId: "st-1" } },
    ];
    for (const e of variants) {
      events.tokenIssued(e);
      assert.equal(sink.lines.at(-1), expectedLine(now, "token.issued", fieldsOf(e)));
    }
  });
});
