// Tessera's benchmarks against the Node anchor (oidc-provider) and floors, in one run.
//   npm run bench                 full run (9 interleaved repetitions; about 4 minutes)
//   npm run bench -- --quick      quick mode (CI): every row, a few seconds each
//   --only issuance,introspection,interceptors,token-source,revocation,memory
//   --json FILE                   also write every row, target and series as JSON
//   --no-results                  do not update bench/RESULTS.md (a full run of every section does)
//   --cpu-prof                    run the Tessera and echo server processes with --cpu-prof (profiles in a temp dir, printed)
//   --tsx                         run the server processes from the TypeScript through tsx (default: compiled with tsc first)
// Servers run in their own processes on 127.0.0.1, ports chosen by the kernel;
// every load loop is bounded in count and time. See bench/RESULTS.md.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { benchPlan, startBenchEnv } from "./lib/env.js";
import { Report } from "./lib/report.js";
import { compileBenchServers } from "./lib/compiled-servers.js";
import { useCompiledServers } from "./lib/processes.js";
import { interceptorSection } from "./sections/interceptors.js";
import { introspectionSection } from "./sections/introspection.js";
import { issuanceSection } from "./sections/issuance.js";
import { memorySection, sampleIdleMemory } from "./sections/memory.js";
import { revocationSection } from "./sections/revocation.js";
import { tokenSourceSection } from "./sections/token-source.js";

const SECTIONS = ["issuance", "introspection", "interceptors", "token-source", "revocation", "memory"] as const;
type Section = (typeof SECTIONS)[number];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const argAfter = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = argAfter("--only")?.split(",") ?? [...SECTIONS];
for (const name of only) if (!SECTIONS.includes(name as Section)) throw new Error(`unknown section ${name}; sections: ${SECTIONS.join(", ")}`);
const jsonFile = argAfter("--json");
const updateResults = !quick && !args.includes("--no-results") && only.length === SECTIONS.length;
const profileDir = args.includes("--cpu-prof") ? mkdtempSync(join(tmpdir(), "tessera-bench-prof-")) : undefined;

const plan = benchPlan(quick);
const started = Date.now();
process.stdout.write(
  `tessera bench (${quick ? "quick" : "full"}): node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}, ${plan.runs} interleaved run(s)\n`,
);
const compiled = args.includes("--tsx") ? undefined : compileBenchServers();
useCompiledServers(compiled?.dir);
process.stdout.write(compiled === undefined ? "servers: TypeScript through tsx (--tsx)\n" : "servers: compiled with tsc, as an installed package runs\n");
const env = await startBenchEnv(plan, profileDir !== undefined ? { profiledNodeFlags: ["--cpu-prof", "--cpu-prof-dir", profileDir] } : {});
const report = new Report();
try {
  const idle = sampleIdleMemory(env);
  const run: Record<Section, () => Promise<void>> = {
    issuance: () => issuanceSection(env, report),
    introspection: () => introspectionSection(env, report),
    interceptors: () => interceptorSection(env, report),
    "token-source": () => tokenSourceSection(env, report),
    revocation: () => revocationSection(env, report),
    memory: async () => memorySection(env, report, idle),
  };
  for (const section of SECTIONS) {
    if (!only.includes(section)) continue;
    const t0 = Date.now();
    process.stdout.write(`\n== ${section}\n`);
    await run[section]();
    process.stdout.write(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  process.stdout.write(`\n== summary (markdown)\n${report.markdown()}\n`);
  process.stdout.write(
    `\nload average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; took ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  if (updateResults) {
    writeResults(
      report.markdown(),
      `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${plan.runs} interleaved runs, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    process.stdout.write("bench/RESULTS.md updated\n");
  }
  if (jsonFile !== undefined) {
    writeFileSync(jsonFile, JSON.stringify({ plan, node: process.version, rows: [...report.rows.values()], targets: [...report.targets.values()] }, null, 2));
  }
} finally {
  await env.stop();
  compiled?.remove();
  if (profileDir !== undefined) {
    const profiled = [env.tessera, env.tesseraRedis, env.echoNone, env.echoPassthrough, env.echoAuth].map((p) => `  ${p.name}: CPU.*.${p.pid}.*.cpuprofile`);
    process.stdout.write(`CPU profiles in ${profileDir}:\n${profiled.join("\n")}\n`);
  }
}

/** Replaces the measured part of bench/RESULTS.md (between its markers), keeping the written analysis around it. */
function writeResults(tables: string, conditions: string): void {
  const file = new URL("./RESULTS.md", import.meta.url);
  const begin = "<!-- bench:begin (written by npm run bench) -->";
  const end = "<!-- bench:end -->";
  const generated = `${begin}\nLast run: ${conditions}.\n${tables}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : `# Benchmark results\n\n${begin}\n${end}\n`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  writeFileSync(file, from >= 0 && to > from ? text.slice(0, from) + generated + text.slice(to + end.length) : `${text}\n${generated}\n`);
}
