// 5. The client token source: 1000 concurrent calls through the client
//    interceptors with a cold TokenSource (nothing cached) must cost exactly
//    one token request, on grpc-js (tokenClientInterceptor) and on Connect
//    (tokenInterceptor). Token requests are counted at the fetcher.
import { tokenInterceptor } from "../../src/connect.js";
import { tokenClientInterceptor } from "../../src/grpc.js";
import { clientCredentialsFetcher } from "../../src/token-source/client-credentials-fetcher.js";
import { TokenSource, type TokenFetcher } from "../../src/token-source/token-source.js";
import { BENCH_CLIENT } from "../lib/bench-clients.js";
import { connectEchoCaller, grpcEchoCaller, type EchoCaller } from "../lib/echo-clients.js";
import { loadEchoService } from "../lib/echo-service.js";
import type { BenchEnv } from "../lib/env.js";
import { runConcurrent } from "../lib/load.js";
import { processCpuMicrosPrecise } from "../proc-cpu.js";
import { fmtSeries, type Report } from "../lib/report.js";

const COLD_CALLS = 1000;

export async function tokenSourceSection(env: BenchEnv, report: Report): Promise<void> {
  const { plan } = env;
  const service = loadEchoService(env.echoDescriptors);
  const fetcher = clientCredentialsFetcher({
    tokenEndpoint: `${env.tessera.info.http}/oauth2/token`,
    clientId: BENCH_CLIENT.id,
    auth: { method: "client_secret_basic", secret: BENCH_CLIENT.secret },
  });
  const counts: Record<"grpc-js" | "connect", number[]> = { "grpc-js": [], connect: [] };
  const millis: Record<"grpc-js" | "connect", number[]> = { "grpc-js": [], connect: [] };
  const serverCpuMs: Record<"grpc-js" | "connect", number[]> = { "grpc-js": [], connect: [] };
  const warmCpuMs: Record<"grpc-js" | "connect", number[]> = { "grpc-js": [], connect: [] };
  for (let r = 0; r < plan.runs; r++) {
    for (const framework of ["grpc-js", "connect"] as const) {
      let requests = 0;
      const counting: TokenFetcher = (request) => {
        requests++;
        return fetcher(request);
      };
      const tokens = new TokenSource({ fetch: counting });
      const target = env.echoAuth.info.grpc;
      const caller: EchoCaller =
        framework === "grpc-js"
          ? grpcEchoCaller(service, target, [tokenClientInterceptor({ tokens, services: [service], channel: { target, tls: false } })])
          : connectEchoCaller(service, env.echoAuth.info.connect, [tokenInterceptor({ tokens })]);
      try {
        const cpu0 = processCpuMicrosPrecise(env.echoAuth.pid);
        const t0 = process.hrtime.bigint();
        // All 1000 at once: nothing is cached when they start.
        const result = await runConcurrent(COLD_CALLS, COLD_CALLS, plan.timeLimitMs, () => caller.call());
        millis[framework].push(Number(process.hrtime.bigint() - t0) / 1e6);
        serverCpuMs[framework].push((processCpuMicrosPrecise(env.echoAuth.pid) - cpu0) / 1000);
        if (result.errors > 0) throw new Error(`${framework}: ${result.errors} of ${COLD_CALLS} cold calls failed: ${result.firstError}`);
        counts[framework].push(requests);
        // The same burst again, now warm (token cached by the client, verified by the server): the baseline.
        const cpu1 = processCpuMicrosPrecise(env.echoAuth.pid);
        const warm = await runConcurrent(COLD_CALLS, COLD_CALLS, plan.timeLimitMs, () => caller.call());
        warmCpuMs[framework].push((processCpuMicrosPrecise(env.echoAuth.pid) - cpu1) / 1000);
        if (warm.errors > 0) throw new Error(`${framework}: ${warm.errors} of ${COLD_CALLS} warm calls failed: ${warm.firstError}`);
      } finally {
        caller.close();
      }
    }
  }
  for (const framework of ["grpc-js", "connect"] as const) {
    report.row({
      id: `token-source/${framework}`,
      label: `${framework}: ${COLD_CALLS} concurrent cold calls through the client interceptor`,
      cells: [
        ["token requests", counts[framework].join(", ")],
        ["wall ms for all calls", fmtSeries(millis[framework])],
        ["echo server CPU ms, cold", fmtSeries(serverCpuMs[framework])],
        ["same burst warm", fmtSeries(warmCpuMs[framework])],
      ],
      series: { tokenRequests: counts[framework], millis: millis[framework], serverCpuMs: serverCpuMs[framework], warmCpuMs: warmCpuMs[framework] },
      note: `${plan.runs} run(s), a new TokenSource each`,
    });
  }
  const all = [...counts["grpc-js"], ...counts.connect];
  report.target({
    id: "token-requests-for-1000-cold-calls",
    description: "token requests for 1000 concurrent cold calls (every run, both frameworks)",
    value: [...new Set(all)].join(", "),
    goal: "exactly 1",
    met: all.every((n) => n === 1),
  });
}
