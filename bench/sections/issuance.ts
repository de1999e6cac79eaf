// 1. Token issuance over HTTP (client_secret_basic, ES256): Tessera (memory
//    and Redis store) vs oidc-provider vs the floors (node:http + Basic + a
//    signature: synchronous node:crypto, as Tessera signs, and jose's
//    asynchronous SignJWT for comparison).
// 2. IssueToken over the grpc-js listener vs its floor: the grpc-js echo
//    service answering a synchronously signed token.
import { decodeJwt, decodeProtectedHeader } from "jose";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../../test/helpers/grpc-client.js";
import { BENCH_AUDIENCE, BENCH_CLIENT, basicAuthorization, FORM, tokenRequestBody } from "../lib/bench-clients.js";
import { grpcEchoCaller } from "../lib/echo-clients.js";
import { loadEchoService } from "../lib/echo-service.js";
import type { BenchEnv } from "../lib/env.js";
import { interleaved, loadRow } from "../lib/interleave.js";
import { expectOk, httpPoster, measure, runConcurrent } from "../lib/load.js";
import { fmtRatio, median, type Report } from "../lib/report.js";
import { ratios } from "../lib/stats.js";

type HttpVariant = "tessera" | "tessera-redis" | "oidc-provider" | "floor-sync" | "floor";

export async function issuanceSection(env: BenchEnv, report: Report): Promise<void> {
  const { plan } = env;
  const endpoints: Record<HttpVariant, { url: string; pids: number[]; issuer: string }> = {
    tessera: { url: `${env.tessera.info.http}/oauth2/token`, pids: [env.tessera.pid], issuer: env.tessera.info.issuer },
    "tessera-redis": { url: `${env.tesseraRedis.info.http}/oauth2/token`, pids: [env.tesseraRedis.pid, env.redisPid], issuer: env.tesseraRedis.info.issuer },
    "oidc-provider": { url: env.oidc.info.tokenEndpoint, pids: [env.oidc.pid], issuer: env.oidc.info.issuer },
    "floor-sync": { url: env.floorSync.info.tokenEndpoint, pids: [env.floorSync.pid], issuer: env.floorSync.info.issuer },
    floor: { url: env.floor.info.tokenEndpoint, pids: [env.floor.pid], issuer: env.floor.info.issuer },
  };
  const headers = { authorization: basicAuthorization(BENCH_CLIENT), "content-type": FORM };
  const body = tokenRequestBody();
  const poster = httpPoster(plan.httpConnections);
  const isToken = (text: string) => text.startsWith('{"access_token":"ey');

  try {
    // Same request, same kind of answer everywhere: an ES256 at+jwt for BENCH_AUDIENCE.
    for (const [variant, endpoint] of Object.entries(endpoints)) {
      const answer = await poster.post(endpoint.url, headers, body);
      expectOk(answer);
      const token = (JSON.parse(answer.body) as { access_token: string }).access_token;
      const header = decodeProtectedHeader(token);
      const claims = decodeJwt(token);
      if (
        header.alg !== "ES256" ||
        header.typ !== "at+jwt" ||
        claims.aud !== BENCH_AUDIENCE ||
        claims.iss !== endpoint.issuer ||
        claims.scope !== "bench.read"
      ) {
        throw new Error(`${variant} answered a token unlike the others: ${JSON.stringify({ header, claims })}`);
      }
    }
    const load = (variant: HttpVariant, calls: number) => () => {
      poster.fresh();
      return runConcurrent(calls, plan.httpConnections, plan.timeLimitMs, async () =>
        expectOk(await poster.post(endpoints[variant].url, headers, body), isToken),
      );
    };
    const variants: HttpVariant[] = ["tessera", "tessera-redis", "oidc-provider", "floor-sync", "floor"];
    const samples = await interleaved(
      plan,
      variants,
      (v) => load(v, plan.warmupCalls)(),
      (v) => measure(endpoints[v].pids, load(v, plan.issuanceCalls)),
    );
    const conditions = `${plan.httpConnections} keep-alive HTTP/1.1 connections`;
    report.row(loadRow("issuance-http/tessera", "Tessera POST /oauth2/token (memory store)", samples.get("tessera")!, { note: conditions }));
    report.row(loadRow("issuance-http/tessera-redis", "Tessera POST /oauth2/token (Redis store)", samples.get("tessera-redis")!, { redisCpuIndex: 1 }));
    report.row(loadRow("issuance-http/oidc-provider", "oidc-provider 9 POST /token (JWT, resource indicator)", samples.get("oidc-provider")!));
    report.row(loadRow("issuance-http/floor-sync", "floor: node:http + Basic + node:crypto sign (synchronous)", samples.get("floor-sync")!));
    report.row(loadRow("issuance-http/floor", "floor: node:http + Basic + jose SignJWT (asynchronous, for comparison)", samples.get("floor")!));

    const t = samples.get("tessera")!;
    const o = samples.get("oidc-provider")!;
    const fs = samples.get("floor-sync")!;
    const f = samples.get("floor")!;
    const throughput = ratios(
      t.map((s) => s.rate),
      o.map((s) => s.rate),
    );
    const cpuVsOidc = ratios(
      o.map((s) => s.cpuPerCall[0]!),
      t.map((s) => s.cpuPerCall[0]!),
    );
    report.target({
      id: "issuance-vs-oidc-provider",
      description: "issuance: Tessera vs oidc-provider (tokens/s)",
      value: fmtRatio(throughput),
      goal: "≥ 2.5×",
      met: median(throughput) >= 2.5,
      note:
        `CPU per token: oidc-provider / Tessera = ${fmtRatio(cpuVsOidc)}; the floors themselves: ` +
        `synchronous ${fmtRatio(
          ratios(
            fs.map((s) => s.rate),
            o.map((s) => s.rate),
          ),
        )}, jose ${fmtRatio(
          ratios(
            f.map((s) => s.rate),
            o.map((s) => s.rate),
          ),
        )}`,
    });
    const cpuVsFloor = ratios(
      t.map((s) => s.cpuPerCall[0]!),
      fs.map((s) => s.cpuPerCall[0]!),
    );
    report.target({
      id: "issuance-cpu-vs-floor",
      description: "issuance: Tessera CPU per token vs the synchronous floor's (node:http + Basic + node:crypto sign)",
      value: fmtRatio(cpuVsFloor),
      goal: "≤ 1.2×",
      met: median(cpuVsFloor) <= 1.2,
      note: `vs the jose floor: ${fmtRatio(
        ratios(
          t.map((s) => s.cpuPerCall[0]!),
          f.map((s) => s.cpuPerCall[0]!),
        ),
      )}`,
    });
  } finally {
    poster.close();
  }

  // IssueToken over grpc-js, memory and Redis store, and its floor, interleaved.
  type GrpcVariant = "tessera" | "tessera-redis" | "floor-sync";
  const clients = {
    tessera: grpcJsClient(TokenService, env.tessera.info.grpc),
    "tessera-redis": grpcJsClient(TokenService, env.tesseraRedis.info.grpc),
  };
  const floorCaller = grpcEchoCaller(loadEchoService(env.echoDescriptors), env.echoSign.info.grpc);
  const pids = { tessera: [env.tessera.pid], "tessera-redis": [env.tesseraRedis.pid, env.redisPid], "floor-sync": [env.echoSign.pid] };
  const authorization = basicAuthorization(BENCH_CLIENT);
  const metadata = { authorization };
  try {
    const call = (variant: GrpcVariant) =>
      variant === "floor-sync"
        ? floorCaller.call(authorization)
        : clients[variant].unary("issueToken", { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }, { metadata });
    const load = (variant: GrpcVariant, calls: number) => () => runConcurrent(calls, plan.rpcConcurrency, plan.timeLimitMs, () => call(variant));
    const samples = await interleaved(
      plan,
      ["tessera", "tessera-redis", "floor-sync"] as const,
      (v) => load(v, plan.warmupCalls)(),
      (v) => measure(pids[v], load(v, plan.issuanceCalls)),
    );
    const t = samples.get("tessera")!;
    const floor = samples.get("floor-sync")!;
    report.row(
      loadRow("issuance-grpc/tessera", "Tessera IssueToken on grpc-js (memory store)", t, { note: `${plan.rpcConcurrency} calls in flight on one channel` }),
    );
    report.row(loadRow("issuance-grpc/tessera-redis", "Tessera IssueToken on grpc-js (Redis store)", samples.get("tessera-redis")!, { redisCpuIndex: 1 }));
    report.row(loadRow("issuance-grpc/floor-sync", "floor: grpc-js echo + Basic + node:crypto sign (synchronous)", floor));
    const cpuVsFloor = ratios(
      t.map((s) => s.cpuPerCall[0]!),
      floor.map((s) => s.cpuPerCall[0]!),
    );
    report.target({
      id: "issuance-grpc-cpu-vs-floor",
      description: "IssueToken on grpc-js: Tessera CPU per token vs the floor's (grpc-js echo + Basic + node:crypto sign)",
      value: fmtRatio(cpuVsFloor),
      goal: "≤ 1.2×",
      met: median(cpuVsFloor) <= 1.2,
    });
  } finally {
    clients.tessera.close();
    clients["tessera-redis"].close();
    floorCaller.close();
  }
}
