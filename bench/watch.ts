// WatchRevocations fan-out (issue 12): two Tessera replicas sharing one Redis, watchers spread over
// both (one watcher process per replica, a dozen grpc-js channels each), revocations acknowledged by
// replica B. Measures, at 1, 100 and 1000 concurrent watchers:
//   - propagation from Revoke's acknowledgement to each watcher's receipt (CLOCK_MONOTONIC in every
//     process), p50 / p99 over every (revocation, watcher) pair, and p99 of the last watcher;
//   - server CPU per revocation (both replicas, /proc schedstat), and per message fanned out;
//   - resident memory per idle watcher on a replica.
//   npx tsx bench/watch.ts            full run (200 revocations per level), writes its section of bench/RESULTS.md
//   npx tsx bench/watch.ts --quick    20 revocations per level, nothing written
// Every loop is bounded in count and time.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { TokenService } from "../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../test/helpers/grpc-client.js";
import { startRedisServer } from "../test/helpers/redis-server.js";
import { BENCH_AUDIENCE, BENCH_CLIENT, basicAuthorization } from "./lib/bench-clients.js";
import type { TesseraInfo } from "./lib/env.js";
import { startBenchProcess, type BenchProcess } from "./lib/processes.js";
import { fmtNumber, percentile } from "./lib/stats.js";
import { processCpuMicrosPrecise, processRssMiB } from "./proc-cpu.js";
import type { WatchersCommand, WatchersReport } from "./servers/watchers.js";

const quick = process.argv.includes("--quick");
const REVOCATIONS = quick ? 20 : 200;
const LEVEL_TIME_LIMIT_MS = quick ? 20_000 : 90_000;
const LEVELS = [1, 100, 1000] as const;

function ask(p: BenchProcess<{ pid: number }>, command: WatchersCommand, type: WatchersReport["type"], timeoutMs: number): Promise<WatchersReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.off("message", onMessage);
      reject(new Error(`${p.name}: no ${type} report within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: WatchersReport) => {
      if (m.type === "ended") process.stderr.write(`${p.name}: a stream ended: ${m.code} ${m.details}\n`);
      if (m.type !== type) return;
      clearTimeout(timer);
      p.child.off("message", onMessage);
      resolve(m);
    };
    p.child.on("message", onMessage);
    p.child.send(command);
  });
}

const started = Date.now();
process.stdout.write(`tessera watch bench (${quick ? "quick" : "full"}): node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}\n`);
const redis = await startRedisServer();
const procs: BenchProcess<{ pid: number }>[] = [];
try {
  const env = { BENCH_REDIS_URL: redis.url, TESSERA_KEK: randomBytes(32).toString("base64url") };
  const [a, b] = await Promise.all(["tessera A", "tessera B"].map((name) => startBenchProcess<TesseraInfo>(name, "tessera.ts", { env })));
  procs.push(a!, b!);
  const watchers = await Promise.all(
    [a!, b!].map((t) =>
      startBenchProcess<{ pid: number }>(`watchers on ${t.name}`, "watchers.ts", {
        env: { BENCH_WATCH_ADDRESS: t.info.grpc, BENCH_WATCH_CHANNELS: "12" },
        ipc: true,
      }),
    ),
  );
  procs.push(...watchers);
  const client = grpcJsClient(TokenService, b!.info.grpc);
  const metadata = { authorization: basicAuthorization(BENCH_CLIENT) };
  const replicaCpu = () => processCpuMicrosPrecise(a!.pid) + processCpuMicrosPrecise(b!.pid);
  const rss = () => [processRssMiB(a!.pid), processRssMiB(b!.pid)];
  // Warm both replicas (JIT, connections) before any figure.
  for (let i = 0; i < 20; i++) {
    const { accessToken } = await client.unary("issueToken", { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }, { metadata });
    await client.unary("revoke", { token: accessToken }, { metadata });
  }
  const rssIdleBefore = rss();
  const rows: string[] = [];
  const cpuPerRevocation = new Map<number, number>();
  const opened = [0, 0];
  let memoryRow = "";
  for (const level of LEVELS) {
    // Spread over both replicas: A gets the odd one.
    const want = [Math.ceil(level / 2), Math.floor(level / 2)];
    for (const i of [0, 1]) {
      const more = want[i]! - opened[i]!;
      if (more <= 0) continue;
      const r = (await ask(watchers[i]!, { type: "open", count: more }, "opened", 90_000)) as Extract<WatchersReport, { type: "opened" }>;
      if (r.synced !== r.streams) throw new Error(`${watchers[i]!.name}: ${r.streams - r.synced} streams never synced`);
      opened[i] = r.streams;
    }
    if (level === 1000) {
      await new Promise((r) => setTimeout(r, 2000));
      const after = rss();
      const perWatcher = [0, 1].map((i) => ((after[i]! - rssIdleBefore[i]!) * 1024) / opened[i]!);
      memoryRow = `| idle watchers: RSS growth per watcher on a replica (${opened[0]} + ${opened[1]} streams, 12 HTTP/2 connections each) | ${perWatcher.map((k) => `${fmtNumber(k, 1)} KiB`).join(" / ")} |`;
    }
    const tokens: { token: string; jti: string }[] = [];
    for (let i = 0; i < REVOCATIONS; i++) {
      const { accessToken } = await client.unary("issueToken", { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }, { metadata });
      tokens.push({ token: accessToken, jti: JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString()).jti });
    }
    const delays: number[] = [];
    const lasts: number[] = [];
    const fromRequest: number[] = [];
    const ackMs: number[] = [];
    let beforeAck = 0;
    let missing = 0;
    let done = 0;
    const deadline = Date.now() + LEVEL_TIME_LIMIT_MS;
    const cpu0 = replicaCpu();
    for (const { token, jti } of tokens) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, Math.random() * 10));
      const sent = process.hrtime.bigint();
      await client.unary("revoke", { token }, { metadata });
      const ack = process.hrtime.bigint();
      const reports = (await Promise.all(
        watchers.filter((_w, i) => opened[i]! > 0).map((w) => ask(w, { type: "arrivals", jti, timeoutMs: 5000 }, "arrivals", 10_000)),
      )) as Extract<WatchersReport, { type: "arrivals" }>[];
      const arrivals = reports.flatMap((r) => r.at.map((at) => BigInt(at)));
      const ms = arrivals.map((at) => Math.max(0, Number(at - ack) / 1e6));
      beforeAck += arrivals.filter((at) => at < ack).length;
      fromRequest.push(...arrivals.map((at) => Number(at - sent) / 1e6));
      ackMs.push(Number(ack - sent) / 1e6);
      missing += reports.reduce((n, r) => n + r.missing, 0);
      delays.push(...ms);
      lasts.push(Math.max(...ms));
      done++;
    }
    const cpu = (replicaCpu() - cpu0) / done;
    cpuPerRevocation.set(level, cpu);
    rows.push(
      `| ${level} watcher${level === 1 ? "" : "s"} (${opened[0]} on A, ${opened[1]} on B; ${done} revocations on B) | ${fmtNumber(percentile(delays, 50), 1)} | ${fmtNumber(percentile(delays, 99), 1)} | ${fmtNumber(percentile(lasts, 99), 1)} | ${fmtNumber((100 * beforeAck) / Math.max(1, delays.length))} % | ${fmtNumber(percentile(fromRequest, 50), 1)} / ${fmtNumber(percentile(fromRequest, 99), 1)} | ${fmtNumber(percentile(ackMs, 50), 1)} | ${missing} | ${fmtNumber(cpu)} |`,
    );
    process.stdout.write(`${rows.at(-1)}\n`);
  }
  const perMessage = ((cpuPerRevocation.get(1000) ?? 0) - (cpuPerRevocation.get(1) ?? 0)) / 999;
  const table = [
    "| concurrent watchers | from ack p50 ms | p99 ms | p99 of the last watcher ms | delivered before the ack | from request p50 / p99 ms | Revoke round trip p50 ms | never delivered | replicas' CPU µs per revocation |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    "| memory and CPU | value |",
    "|---|---|",
    memoryRow,
    `| CPU per message fanned out ((1000 − 1 watcher rows) / 999) | ${fmtNumber(perMessage, 1)} µs |`,
  ].join("\n");
  const summary = `Last run: ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}, ${((Date.now() - started) / 1000).toFixed(0)} s.`;
  process.stdout.write(`\n${summary}\n\n${table}\n`);
  client.close();
  if (!quick) {
    const file = new URL("./RESULTS.md", import.meta.url);
    const text = readFileSync(file, "utf8");
    const begin = "<!-- watch:begin (written by bench/watch.ts) -->";
    const end = "<!-- watch:end -->";
    const block = `${begin}\n${summary}\n\n${table}\n${end}`;
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    writeFileSync(file, i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`);
    process.stdout.write("bench/RESULTS.md updated (watch section)\n");
  }
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  await redis.destroy();
}
