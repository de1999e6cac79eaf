// `npm run bench:quick` as CI runs it: every bench script still works, every
// row and target of bench/RESULTS.md is produced, and what the bench checks
// beyond timing holds (1000 cold calls cost one token request, every
// revocation reaches both verifier processes). No timing is asserted here:
// figures come from `npm run bench` and go to bench/RESULTS.md.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ROWS, TARGETS } from "../../bench/lib/report.js";
import { childEnv, killUnfinished, runToEnd } from "../helpers/child-process.js";

const work = mkdtempSync(join(tmpdir(), "tessera-bench-quick-"));
after(() => {
  killUnfinished();
  rmSync(work, { recursive: true, force: true });
});

interface BenchJson {
  plan: { quick: boolean };
  rows: { id: string; note?: string; series: Record<string, number[]> }[];
  targets: { id: string; met: boolean | undefined; value: string }[];
}

test("npm run bench:quick measures every row and target, and what it checks beyond timing holds", { timeout: 180_000 }, async () => {
  const jsonFile = join(work, "bench.json");
  // npm runs node, which starts the servers: a process group of their own, so that a timeout kills them all.
  const { code, stdout, stderr } = await runToEnd("npm", ["run", "bench:quick", "--", "--json", jsonFile], {
    env: childEnv({}),
    timeoutMs: 170_000,
    group: true,
  });
  const output = `${stdout}\n${stderr}`;
  assert.equal(code, 0, output);
  const result = JSON.parse(readFileSync(jsonFile, "utf8")) as BenchJson;
  assert.equal(result.plan.quick, true);

  const rows = new Map(result.rows.map((r) => [r.id, r]));
  assert.deepEqual([...rows.keys()].sort(), [...ROWS].sort(), "every row is measured");
  for (const row of rows.values()) {
    assert.ok(!(row.note ?? "").includes("ERRORS"), `${row.id}: ${row.note}`);
    for (const [name, values] of Object.entries(row.series)) {
      assert.ok(values.length > 0 && values.every((v) => Number.isFinite(v) && v >= 0), `${row.id}.${name}: ${values.join(", ")}`);
    }
  }
  const targets = new Map(result.targets.map((t) => [t.id, t]));
  assert.deepEqual([...targets.keys()].sort(), [...TARGETS].sort(), "every target is computed");
  for (const target of targets.values()) assert.notEqual(target.value, "n/a", target.id);

  assert.equal(targets.get("token-requests-for-1000-cold-calls")!.met, true, "1000 concurrent cold calls, one token request");
  assert.deepEqual(rows.get("token-source/grpc-js")!.series.tokenRequests, [1]);
  assert.deepEqual(rows.get("token-source/connect")!.series.tokenRequests, [1]);
  const revocation = rows.get("revocation/propagation")!;
  assert.ok(!(revocation.note ?? "").includes("LOST"), revocation.note);
  assert.equal(revocation.series.fromAck!.length, 10, "every revocation reached both verifiers");
  assert.match(output, /== summary \(markdown\)/);
  assert.doesNotMatch(output, /RESULTS\.md updated/, "quick mode leaves RESULTS.md alone");
});
