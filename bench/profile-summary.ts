// Summarizes a V8 CPU profile (node --cpu-prof; `npm run bench -- --cpu-prof`
// writes one per Tessera process): self time by function and by package or
// source file, and inclusive time of chosen functions.
// Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 30] [--inclusive name1,name2]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args[0];
if (file === undefined) {
  process.stderr.write("usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--inclusive fn1,fn2]\n");
  process.exit(2);
}
const top = Number(args[args.indexOf("--top") + 1] ?? 30) || 30;
const inclusiveNames = args.includes("--inclusive") ? (args[args.indexOf("--inclusive") + 1] ?? "").split(",") : [];
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

// Self time per node from the samples and their time deltas (µs).
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);

function where(url: string): string {
  if (url === "") return "(native/V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  const src = url.indexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  const bench = url.indexOf("/bench/");
  return bench >= 0 ? url.slice(bench + 1) : url;
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
for (const [id, time] of selfTime) {
  const node = byId.get(id)!;
  const name = `${node.callFrame.functionName || "(anonymous)"}  ${where(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  const place = where(node.callFrame.url);
  byPlace.set(place, (byPlace.get(place) ?? 0) + time);
}
const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`${pct(t)}  ${(t / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
};
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
print("self time by package / source file", byPlace);
print("self time by function", byFunction);

// Inclusive time: samples whose stack contains a function of that name (counted once per sample).
if (inclusiveNames.length > 0) {
  process.stdout.write("\ninclusive time\n");
  for (const wanted of inclusiveNames) {
    let t = 0;
    profile.samples.forEach((id, i) => {
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        if (byId.get(n)!.callFrame.functionName === wanted) {
          t += profile.timeDeltas[i] ?? 0;
          break;
        }
      }
    });
    process.stdout.write(`${pct(t)}  ${(t / 1000).toFixed(0).padStart(7)} ms  ${wanted}\n`);
  }
}
