import type { BenchPlan } from "./env.js";
import type { Sample } from "./load.js";
import { fmtSeries, type Row, type RowId } from "./report.js";

/**
 * Measures every variant `plan.runs` times, interleaved (A B C, B C A, C A B,
 * …) so that a drift of the machine's load hits all variants alike, after one
 * warm-up of each.
 */
export async function interleaved<V extends string>(
  plan: BenchPlan,
  variants: readonly V[],
  warmup: (variant: V) => Promise<unknown>,
  run: (variant: V, runIndex: number) => Promise<Sample>,
): Promise<Map<V, Sample[]>> {
  for (const variant of variants) await warmup(variant);
  const samples = new Map<V, Sample[]>(variants.map((v) => [v, []]));
  for (let r = 0; r < plan.runs; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
    for (const variant of order) samples.get(variant)!.push(await run(variant, r));
  }
  return samples;
}

/** A throughput row: calls/s, the server's CPU µs per call, and optionally Redis' CPU µs per call. */
export function loadRow(id: RowId, label: string, samples: readonly Sample[], options: { redisCpuIndex?: number; note?: string } = {}): Row {
  const rate = samples.map((s) => s.rate);
  const cpu = samples.map((s) => s.cpuPerCall[0]!);
  const cells: [string, string][] = [
    ["calls/s", fmtSeries(rate)],
    ["server CPU µs/call", fmtSeries(cpu)],
  ];
  const series: Record<string, number[]> = { rate, cpu };
  if (options.redisCpuIndex !== undefined) {
    const redisCpu = samples.map((s) => s.cpuPerCall[options.redisCpuIndex!]!);
    cells.push(["Redis CPU µs/call", fmtSeries(redisCpu)]);
    series.redisCpu = redisCpu;
  }
  const errors = samples.reduce((n, s) => n + s.errors, 0);
  const firstError = samples.find((s) => s.firstError !== undefined)?.firstError;
  const calls = samples.reduce((n, s) => n + s.calls, 0);
  const notes = [`${samples.length} × ${Math.round(calls / Math.max(1, samples.length))} calls`];
  if (errors > 0) notes.push(`ERRORS: ${errors}, first: ${firstError}`);
  if (options.note) notes.push(options.note);
  return { id, label, cells, series, note: notes.join("; ") };
}
