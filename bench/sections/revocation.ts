// 6. Revocation propagation: from the moment Revoke's acknowledgement reaches
//    the caller until two separate verifier processes, fed by Tessera's Redis
//    deny-list (RevocationFeed: XREAD BLOCK on a Redis stream), reject the
//    token. Times are read on CLOCK_MONOTONIC (process.hrtime) in every process.
import type { ChildProcess } from "node:child_process";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../../test/helpers/grpc-client.js";
import { BENCH_AUDIENCE, BENCH_CLIENT, basicAuthorization } from "../lib/bench-clients.js";
import type { BenchEnv } from "../lib/env.js";
import { startBenchProcess, type BenchProcess } from "../lib/processes.js";
import { fmtNumber, type Report } from "../lib/report.js";
import { percentile } from "../lib/stats.js";
import type { VerifierCommand, VerifierReport } from "../servers/verifier.js";

/** Waits for the report of one verifier about one token. */
function nextReport(child: ChildProcess, id: number, type: VerifierReport["type"] | "rejected-or-missed", timeoutMs: number): Promise<VerifierReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(new Error(`no ${type} report for token ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: VerifierReport) => {
      if (message.id !== id) return;
      const wanted = type === "rejected-or-missed" ? message.type === "rejected" || message.type === "missed" : message.type === type;
      if (!wanted) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message);
    };
    child.on("message", onMessage);
  });
}

export async function revocationSection(env: BenchEnv, report: Report): Promise<void> {
  const { plan } = env;
  const tessera = env.tesseraRedis.info;
  const verifierEnv = { BENCH_ISSUER: tessera.issuer, BENCH_JWKS_URL: `${tessera.http}/.well-known/jwks.json`, BENCH_REDIS_URL: env.redis.url };
  const verifiers: BenchProcess<{ pid: number }>[] = await Promise.all(
    [1, 2].map((n) => startBenchProcess<{ pid: number }>(`verifier ${n}`, "verifier.ts", { env: verifierEnv, ipc: true })),
  );
  const client = grpcJsClient(TokenService, tessera.grpc);
  const metadata = { authorization: basicAuthorization(BENCH_CLIENT) };
  const fromAck: number[] = [];
  const fromRequest: number[] = [];
  const perVerifier: number[][] = [[], []];
  let beforeAck = 0;
  let lost = 0;
  const deadline = Date.now() + plan.timeLimitMs;
  try {
    for (let id = 0; id < plan.revocations && Date.now() < deadline; id++) {
      const { accessToken } = await client.unary("issueToken", { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }, { metadata });
      const watching = verifiers.map((v) => nextReport(v.child, id, "watching", 5000));
      for (const v of verifiers) v.child.send({ type: "watch", id, token: accessToken } satisfies VerifierCommand);
      for (const w of await Promise.all(watching)) {
        if (w.type !== "watching" || !w.ok) throw new Error(`a verifier refused a fresh token: ${JSON.stringify(w)}`);
      }
      // A little spacing, so that revocations do not all land at the same point of anything periodic.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
      const rejected = verifiers.map((v) => nextReport(v.child, id, "rejected-or-missed", 5000));
      const sent = process.hrtime.bigint();
      await client.unary("revoke", { token: accessToken }, { metadata });
      const ack = process.hrtime.bigint();
      let reports: VerifierReport[];
      try {
        reports = await Promise.all(rejected);
      } catch {
        lost++;
        continue;
      }
      const ats = reports.map((r) => {
        if (r.type !== "rejected") throw new Error(`verifier: ${JSON.stringify(r)}`);
        return BigInt(r.at);
      });
      // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
      const last = ats.reduce((a, b) => (a > b ? a : b));
      const ms = Number(last - ack) / 1e6;
      if (ms < 0) beforeAck++;
      fromAck.push(Math.max(0, ms));
      fromRequest.push(Number(last - sent) / 1e6);
      ats.forEach((at, i) => perVerifier[i]!.push(Math.max(0, Number(at - ack) / 1e6)));
    }
  } finally {
    client.close();
    await Promise.all(verifiers.map((v) => v.stop()));
  }
  const fmt = (xs: number[]) => `p50 ${fmtNumber(percentile(xs, 50), 2)} / p99 ${fmtNumber(percentile(xs, 99), 2)} / max ${fmtNumber(Math.max(...xs), 2)}`;
  report.row({
    id: "revocation/propagation",
    label: "Revoke acknowledged → both verifier processes reject the token (ms)",
    cells: [
      ["from ack", fmt(fromAck)],
      ["from Revoke sent", fmt(fromRequest)],
      ["verifier 1 / 2 p99 from ack", `${fmtNumber(percentile(perVerifier[0]!, 99), 2)} / ${fmtNumber(percentile(perVerifier[1]!, 99), 2)}`],
    ],
    series: { fromAck, fromRequest },
    note:
      `${fromAck.length} revocations one at a time over grpc-js Revoke, Redis store; ` +
      `${beforeAck} rejected before the ack arrived (counted as 0)${lost > 0 ? `; LOST: ${lost} not rejected within 5 s` : ""}`,
  });
  const p99 = percentile(fromAck, 99);
  report.target({
    id: "revocation-propagation-p99",
    description: "revocation propagation to two verifier processes, p99 from the ack",
    value: `${fmtNumber(p99, 2)} ms`,
    goal: "≤ 100 ms",
    met: lost === 0 && fromAck.length > 0 && p99 <= 100,
  });
}
