// WatchRevocations fan-out (issue 12): two Tessera replicas sharing one Redis, watchers spread over
// both (one watcher process per replica, a dozen grpc-js channels each), revocations acknowledged by
// replica B. Measures, at 1, 100 and 1000 concurrent watchers:
//   - propagation from Revoke's acknowledgement to each watcher's receipt (CLOCK_MONOTONIC in every
//     process), p50 / p99 over every (revocation, watcher) pair, and p99 of the last watcher;
//   - server CPU per revocation (both replicas, /proc schedstat), and per message fanned out;
//   - resident memory per idle watcher on a replica;
//   - the same propagation to real verifiers (remoteVerifier, in two further processes): from Revoke's
//     ack to each verifier's check() refusing the token;
//   - an emergency revocation of the signing key on replica A reaching 1000 WatchRevocations and 1000
//     WatchKeys streams, and 1000 verifiers.
//   npm run bench:watch               full run (200 revocations per level), writes its section of bench/RESULTS.md
//   npm run bench:watch -- --quick    20 revocations per level (10 with verifiers, 3 key revocations), nothing written
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
import type { VerifiersCommand, VerifiersReport } from "./servers/verifiers.js";
import type { WatchersCommand, WatchersReport } from "./servers/watchers.js";

const quick = process.argv.includes("--quick");
const REVOCATIONS = quick ? 20 : 200;
const LEVEL_TIME_LIMIT_MS = quick ? 20_000 : 90_000;
const LEVELS = [1, 100, 1000] as const;
/** Revocations per level with real verifiers (each arms every verifier first). */
const VERIFIER_REVOCATIONS = quick ? 10 : 50;
/** Emergency revocations of the signing key, for the raw streams and for the verifiers. */
const KEY_REVOCATIONS = quick ? 3 : 10;

/** Sends `command` to a child and waits for its report of `type`. */
function askChild<R extends { type: string }>(p: BenchProcess<{ pid: number }>, command: unknown, type: R["type"], timeoutMs: number): Promise<R> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.off("message", onMessage);
      reject(new Error(`${p.name}: no ${type} report within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: R) => {
      if (m.type === "ended") process.stderr.write(`${p.name}: a stream ended: ${JSON.stringify(m)}\n`);
      if (m.type === "error") {
        clearTimeout(timer);
        p.child.off("message", onMessage);
        reject(new Error(`${p.name}: ${JSON.stringify(m)}`));
        return;
      }
      if (m.type !== type) return;
      clearTimeout(timer);
      p.child.off("message", onMessage);
      resolve(m);
    };
    p.child.on("message", onMessage);
    p.child.send(command as never);
  });
}

function ask(p: BenchProcess<{ pid: number }>, command: WatchersCommand, type: WatchersReport["type"], timeoutMs: number): Promise<WatchersReport> {
  return askChild<WatchersReport>(p, command, type, timeoutMs);
}

/** "p50 | p99" of the delays from an ack, and of the last one per event. */
const ms = (values: number[], p: number) => fmtNumber(percentile(values, p), 1);

const started = Date.now();
process.stdout.write(`tessera watch bench (${quick ? "quick" : "full"}): node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}\n`);
const redis = await startRedisServer();
const procs: BenchProcess<{ pid: number }>[] = [];
try {
  const env = { BENCH_REDIS_URL: redis.url, TESSERA_KEK: randomBytes(32).toString("base64url") };
  const [a, b] = await Promise.all(["tessera A", "tessera B"].map((name) => startBenchProcess<TesseraInfo>(name, "tessera.ts", { env, ipc: true })));
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

  // Emergency key revocation on replica A (KeyManager.revoke, as `tessera keys revoke` does) reaching every
  // watcher: the 1000 WatchRevocations streams (a key revocation) and 1000 WatchKeys streams (revoked_kids).
  for (const i of [0, 1]) {
    const r = (await ask(watchers[i]!, { type: "open", count: 500, keys: true }, "opened", 90_000)) as Extract<WatchersReport, { type: "opened" }>;
    if (r.synced !== r.streams) throw new Error(`${watchers[i]!.name}: ${r.streams - r.synced} WatchKeys streams never had a key set`);
  }
  const revokeSigningKey = async () => {
    const r = await askChild<{ type: "signing-key-revoked"; kid: string; at: string }>(a!, { type: "revoke-signing-key" }, "signing-key-revoked", 60_000);
    return { kid: r.kid, ack: BigInt(r.at) };
  };
  const emergencyRows: string[] = [];
  {
    const delays = { revocations: [] as number[], keys: [] as number[] };
    const lasts = { revocations: [] as number[], keys: [] as number[] };
    const missing = { revocations: 0, keys: 0 };
    let done = 0;
    const deadline = Date.now() + LEVEL_TIME_LIMIT_MS;
    for (let k = 0; k < KEY_REVOCATIONS && Date.now() < deadline; k++) {
      const { kid, ack } = await revokeSigningKey();
      for (const keys of [false, true]) {
        const reports = (await Promise.all(
          watchers.map((w) => ask(w, { type: "arrivals", jti: `kid:${kid}`, keys, timeoutMs: 5000 }, "arrivals", 10_000)),
        )) as Extract<WatchersReport, { type: "arrivals" }>[];
        const fromAck = reports.flatMap((r) => r.at.map((at) => Math.max(0, Number(BigInt(at) - ack) / 1e6)));
        missing[keys ? "keys" : "revocations"] += reports.reduce((n, r) => n + r.missing, 0);
        delays[keys ? "keys" : "revocations"].push(...fromAck);
        lasts[keys ? "keys" : "revocations"].push(Math.max(...fromAck));
      }
      done++;
    }
    for (const [what, key] of [
      ["WatchRevocations (the key revocation)", "revocations"],
      ["WatchKeys (revoked_kids)", "keys"],
    ] as const) {
      emergencyRows.push(
        `| 1000 ${what}, ${opened[0]} on A + ${opened[1]} on B; ${done} signing keys revoked on A | ${ms(delays[key], 50)} | ${ms(delays[key], 99)} | ${ms(lasts[key], 99)} | ${missing[key]} |`,
      );
    }
    process.stdout.write(`${emergencyRows.join("\n")}\n`);
  }
  for (const w of watchers) w.child.send({ type: "close" } satisfies WatchersCommand);

  // Real verifiers: remoteVerifier (WatchKeys + WatchRevocations over Connect, one HTTP/2 connection per
  // stream) in two processes, those of one process on one replica; from Revoke's ack on B to each
  // verifier's check() refusing the token.
  const verifierProcs = await Promise.all(
    [a!, b!].map((t) =>
      startBenchProcess<{ pid: number }>(`verifiers on ${t.name}`, "verifiers.ts", {
        env: { BENCH_VERIFIER_ENDPOINT: t.info.http, BENCH_ISSUER: t.info.issuer },
        ipc: true,
      }),
    ),
  );
  procs.push(...verifierProcs);
  type Refused = Extract<VerifiersReport, { type: "refused" }>;
  const verifierCount = [0, 0];
  /** Streams that broke while the last verifiers were being opened (and were reopened before the measure). */
  const breaksOpening = [0, 0];
  /** Arms every verifier with a fresh token of B; makes it refused with `refuse`; the refusal times from its ack. */
  const measureRefusal = async (refuse: (token: string) => Promise<bigint>) => {
    let token = "";
    // After a key revocation B signs with the new key once it reloaded its ring: a token every verifier accepts.
    for (let attempt = 0; attempt < 50; attempt++) {
      ({ accessToken: token } = await client.unary("issueToken", { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }, { metadata }));
      const armed = await Promise.all(
        verifierProcs.map((v) => askChild<Extract<VerifiersReport, { type: "armed" }>>(v, { type: "arm", token } satisfies VerifiersCommand, "armed", 30_000)),
      );
      if (armed.every((r, i) => r.accepted === verifierCount[i])) break;
      if (attempt === 49) throw new Error("the verifiers never accepted a fresh token");
      await new Promise((r) => setTimeout(r, 50));
    }
    const ack = await refuse(token);
    const reports = await Promise.all(
      verifierProcs.map((v) => askChild<Refused>(v, { type: "collect", timeoutMs: 5000 } satisfies VerifiersCommand, "refused", 30_000)),
    );
    const at = reports.flatMap((r) => r.at.map((t) => BigInt(t)));
    return {
      fromAck: at.map((t) => Math.max(0, Number(t - ack) / 1e6)),
      missing: reports.reduce((n, r) => n + r.missing, 0),
      roundMs: Math.max(...reports.map((r) => r.roundMsP50)),
      breaks: reports.reduce((n, r) => n + r.breaks, 0),
    };
  };
  const verifierRows: string[] = [];
  for (const level of LEVELS) {
    const want = [Math.ceil(level / 2), Math.floor(level / 2)];
    await Promise.all(
      [0, 1].map(async (i) => {
        const more = want[i]! - verifierCount[i]!;
        if (more <= 0) return;
        const r = await askChild<Extract<VerifiersReport, { type: "opened" }>>(
          verifierProcs[i]!,
          { type: "open", count: more } satisfies VerifiersCommand,
          "opened",
          120_000,
        );
        verifierCount[i] = r.verifiers;
        breaksOpening[i] = r.breaks;
      }),
    );
    const delays: number[] = [];
    const lasts: number[] = [];
    const rounds: number[] = [];
    let missing = 0;
    let breaks = 0;
    let done = 0;
    // The replicas' background (heartbeats of 2 streams per verifier) over 3 idle seconds after one to
    // settle, subtracted below; a negative result (noise of other load) is shown as such, not as a figure.
    await new Promise((r) => setTimeout(r, 1000));
    const idle0 = replicaCpu();
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpuPerMs = (replicaCpu() - idle0) / (performance.now() - idleStart);
    const deadline = Date.now() + LEVEL_TIME_LIMIT_MS;
    const cpu0 = replicaCpu();
    const loopStart = performance.now();
    for (let i = 0; i < VERIFIER_REVOCATIONS && Date.now() < deadline; i++) {
      const r = await measureRefusal(async (token) => {
        await client.unary("revoke", { token }, { metadata });
        return process.hrtime.bigint();
      });
      delays.push(...r.fromAck);
      lasts.push(Math.max(...r.fromAck));
      rounds.push(r.roundMs);
      missing += r.missing;
      breaks += r.breaks;
      done++;
    }
    const cpu = (replicaCpu() - cpu0 - idleCpuPerMs * (performance.now() - loopStart)) / done;
    verifierRows.push(
      `| ${level} verifier${level === 1 ? "" : "s"} (${verifierCount[0]} on A, ${verifierCount[1]} on B; ${done} revocations on B) | ${ms(delays, 50)} | ${ms(delays, 99)} | ${ms(lasts, 99)} | ${missing} | ${breaks} (${breaksOpening[0]! + breaksOpening[1]!} while opening) | ${ms(rounds, 50)} | ${cpu > 0 ? fmtNumber(cpu) : "(below the noise)"} |`,
    );
    process.stdout.write(`${verifierRows.at(-1)}\n`);
  }
  {
    const delays: number[] = [];
    const lasts: number[] = [];
    let missing = 0;
    let done = 0;
    const deadline = Date.now() + LEVEL_TIME_LIMIT_MS;
    for (let k = 0; k < KEY_REVOCATIONS && Date.now() < deadline; k++) {
      const r = await measureRefusal(async () => (await revokeSigningKey()).ack);
      delays.push(...r.fromAck);
      lasts.push(Math.max(...r.fromAck));
      missing += r.missing;
      done++;
    }
    emergencyRows.push(
      `| 1000 remoteVerifiers refusing a token of the key, ${verifierCount[0]} on A + ${verifierCount[1]} on B; ${done} signing keys revoked on A | ${ms(delays, 50)} | ${ms(delays, 99)} | ${ms(lasts, 99)} | ${missing} |`,
    );
    process.stdout.write(`${emergencyRows.at(-1)}\n`);
  }
  const perMessage = ((cpuPerRevocation.get(1000) ?? 0) - (cpuPerRevocation.get(1) ?? 0)) / 999;
  const table = [
    "| concurrent watchers | from ack p50 ms | p99 ms | p99 of the last watcher ms | delivered before the ack | from request p50 / p99 ms | Revoke round trip p50 ms | never delivered | replicas' CPU µs per revocation |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    "Real verifiers (remoteVerifier: WatchKeys and WatchRevocations over Connect, each stream on its own HTTP/2 connection), from Revoke's ack to `check()` refusing the token:",
    "",
    "| concurrent verifiers | from ack p50 ms | p99 ms | p99 of the last verifier ms | never refused (5 s) | streams broken during the measure | polling round p50 ms | replicas' CPU µs per revocation (idle background subtracted) |",
    "|---|---|---|---|---|---|---|---|",
    ...verifierRows,
    "",
    "Emergency key revocation (KeyManager.revoke on replica A, as `tessera keys revoke`), from its completion on A to each watcher's receipt or each verifier's refusal:",
    "",
    "| watchers | from ack p50 ms | p99 ms | p99 of the last watcher ms | never delivered |",
    "|---|---|---|---|---|",
    ...emergencyRows,
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
  // Why streams broke, and any trouble of the replicas (the last 2 KiB each).
  for (const p of procs) if (p.stderr() !== "") process.stdout.write(`${p.name} said:\n${p.stderr().slice(-2048)}\n`);
  await Promise.all(procs.map((p) => p.stop()));
  await redis.destroy();
}
