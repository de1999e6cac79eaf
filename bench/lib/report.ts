// What the bench prints: one "row <id>" line per measured row (the quick-mode
// test checks that every id in ROWS is printed), one "target <id>" line per
// target, and a markdown summary for bench/RESULTS.md.
import { fmtNumber, fmtSummary, summarize, type Summary } from "./stats.js";

/** Every row the bench prints, in order. bench-quick.test.ts checks them all. */
export const ROWS = [
  "issuance-http/tessera",
  "issuance-http/tessera-redis",
  "issuance-http/oidc-provider",
  "issuance-http/floor-sync",
  "issuance-http/floor",
  "issuance-grpc/tessera",
  "issuance-grpc/tessera-redis",
  "issuance-grpc/floor-sync",
  "introspection/tessera-redis-hit",
  "introspection/tessera-redis-miss",
  "introspection/tessera-memory-hit",
  "introspection/oidc-provider",
  "introspection/floor-redis-get",
  "interceptor-grpc-js/none",
  "interceptor-grpc-js/none-new-token",
  "interceptor-grpc-js/passthrough",
  "interceptor-grpc-js/cached",
  "interceptor-grpc-js/first-sight",
  "interceptor-connect/none",
  "interceptor-connect/none-new-token",
  "interceptor-connect/passthrough",
  "interceptor-connect/cached",
  "interceptor-connect/first-sight",
  "verify/node-crypto",
  "verify/jose-jwtverify",
  "verify/tessera-first-sight",
  "verify/tessera-cached",
  "verify/telemetry-no-sdk",
  "token-source/grpc-js",
  "token-source/connect",
  "revocation/propagation",
  "memory/tessera",
  "memory/tessera-redis",
] as const;
export type RowId = (typeof ROWS)[number];

/** Every target the bench checks. */
export const TARGETS = [
  "issuance-vs-oidc-provider",
  "issuance-cpu-vs-floor",
  "issuance-grpc-cpu-vs-floor",
  "introspection-hit-vs-oidc-provider",
  "introspection-hit-cpu-vs-floor",
  "interceptor-cached-cpu-vs-none",
  "first-sight-verify-vs-node-crypto",
  "first-sight-grpc-js-added-vs-node-crypto",
  "first-sight-connect-added-vs-node-crypto",
  "token-requests-for-1000-cold-calls",
  "revocation-propagation-p99",
] as const;
export type TargetId = (typeof TARGETS)[number];

export interface Row {
  readonly id: RowId;
  readonly label: string;
  /** Named cells, printed in order ("rate", "cpu", …). */
  readonly cells: readonly (readonly [string, string])[];
  /** Raw per-run values, for ratios and the JSON output. */
  readonly series: Readonly<Record<string, readonly number[]>>;
  readonly note?: string;
}

export interface TargetResult {
  readonly id: TargetId;
  readonly description: string;
  readonly value: string;
  readonly goal: string;
  readonly met: boolean | undefined;
  readonly note?: string;
}

export class Report {
  readonly rows = new Map<RowId, Row>();
  readonly targets = new Map<TargetId, TargetResult>();

  row(row: Row): Row {
    this.rows.set(row.id, row);
    const cells = row.cells.map(([name, value]) => `${name} ${value}`).join(" | ");
    process.stdout.write(`row ${row.id}  ${row.label}: ${cells}${row.note ? `  (${row.note})` : ""}\n`);
    return row;
  }

  target(result: TargetResult): void {
    this.targets.set(result.id, result);
    const verdict = result.met === undefined ? "n/a" : result.met ? "MET" : "MISSED";
    process.stdout.write(
      `target ${result.id}  ${result.description}: ${result.value} (goal ${result.goal}) ${verdict}${result.note ? `  (${result.note})` : ""}\n`,
    );
  }

  series(id: RowId, name: string): readonly number[] | undefined {
    return this.rows.get(id)?.series[name];
  }

  /** The report as markdown tables: rows by section (the union of their cells as columns), then targets. */
  markdown(): string {
    const out: string[] = [];
    const sections = new Map<string, Row[]>();
    for (const row of this.rows.values()) {
      const group = row.id.split("/")[0]!;
      sections.set(group, [...(sections.get(group) ?? []), row]);
    }
    for (const [section, rows] of sections) {
      const columns = [...new Set(rows.flatMap((r) => r.cells.map(([name]) => name)))];
      out.push("", `| ${section} | ${columns.join(" | ")} |`, `|---|${columns.map(() => "---").join("|")}|`);
      for (const row of rows) {
        const cells = new Map(row.cells);
        out.push(`| ${row.label}${row.note ? ` (${row.note})` : ""} | ${columns.map((c) => cells.get(c) ?? "").join(" | ")} |`);
      }
    }
    out.push("", "| target | value | goal | |", "|---|---|---|---|");
    for (const t of this.targets.values()) {
      out.push(`| ${t.description} | ${t.value} | ${t.goal} | ${t.met === undefined ? "n/a" : t.met ? "met" : "**missed**"}${t.note ? ` (${t.note})` : ""} |`);
    }
    return out.join("\n");
  }
}

/** "2.9× [2.7–3.1]" from per-run ratios. */
export function fmtRatio(values: readonly number[]): string {
  const s = summarize(values);
  if (!Number.isFinite(s.median)) return "n/a";
  if (values.length <= 1 || s.min === s.max) return `${s.median.toFixed(2)}×`;
  return `${s.median.toFixed(2)}× [${s.min.toFixed(2)}–${s.max.toFixed(2)}]`;
}

export function fmtSeries(values: readonly number[], digits = 0, unit = ""): string {
  return fmtSummary(summarize(values), digits, unit);
}

export function median(values: readonly number[]): number {
  return summarize(values).median;
}

export { fmtNumber, type Summary };
