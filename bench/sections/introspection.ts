// 3. Introspection (RFC 7662 over HTTP, client_secret_basic): Tessera with
//    its Redis introspection cache (hit and miss) and with the memory store,
//    oidc-provider (opaque tokens from its memory adapter), and the floor:
//    HTTP + client auth + one Redis GET.
import { Redis } from "ioredis";
import {
  BENCH_AUDIENCE,
  BENCH_CLIENT,
  BENCH_OPAQUE_AUDIENCE,
  BENCH_RS_CLIENT,
  basicAuthorization,
  FORM,
  floorIntrospectionKey,
  tokenRequestBody,
} from "../lib/bench-clients.js";
import type { BenchEnv } from "../lib/env.js";
import { interleaved, loadRow } from "../lib/interleave.js";
import { expectOk, httpPoster, measure, runConcurrent } from "../lib/load.js";
import { fmtRatio, median, type Report } from "../lib/report.js";
import { ratios } from "../lib/stats.js";
import { issueTokens } from "../lib/tokens.js";

type Variant = "tessera-redis-hit" | "tessera-redis-miss" | "tessera-memory-hit" | "oidc-provider" | "floor";

/** Tokens introspected over and over (cache hits after the first pass). */
const POOL = 64;

export async function introspectionSection(env: BenchEnv, report: Report): Promise<void> {
  const { plan } = env;
  const poster = httpPoster(plan.httpConnections);
  const headers = { authorization: basicAuthorization(BENCH_RS_CLIENT), "content-type": FORM };
  const isActive = (text: string) => text.includes('"active":true');
  const redis = new Redis(env.redis.url);
  try {
    // Tokens: pools for the hit rows, and one fresh token per call for the miss row.
    const missCount = plan.warmupCalls + plan.runs * plan.introspectionCalls;
    const [redisPool, memoryPool, fresh] = await Promise.all([
      issueTokens(env.tesseraRedis.info.grpc, POOL, { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }),
      issueTokens(env.tessera.info.grpc, POOL, { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }),
      issueTokens(env.tesseraRedis.info.grpc, missCount, { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }),
    ]);
    const opaquePool: string[] = [];
    for (let i = 0; i < POOL; i++) {
      const answer = await poster.post(
        env.oidc.info.tokenEndpoint,
        { authorization: basicAuthorization(BENCH_CLIENT), "content-type": FORM },
        tokenRequestBody(BENCH_OPAQUE_AUDIENCE),
      );
      expectOk(answer);
      opaquePool.push((JSON.parse(answer.body) as { access_token: string }).access_token);
    }
    // The floor answers from Redis what Tessera answers: seed it with Tessera's own answers.
    for (const token of redisPool) {
      const answer = await poster.post(`${env.tesseraRedis.info.http}/oauth2/introspect`, headers, `token=${token}`);
      expectOk(answer, isActive);
      await redis.set(floorIntrospectionKey(token), answer.body, "EX", 600);
    }

    const targets: Record<Variant, { url: string; pids: number[]; token: (i: number) => string }> = {
      "tessera-redis-hit": {
        url: `${env.tesseraRedis.info.http}/oauth2/introspect`,
        pids: [env.tesseraRedis.pid, env.redisPid],
        token: (i) => redisPool[i % POOL]!,
      },
      "tessera-redis-miss": { url: `${env.tesseraRedis.info.http}/oauth2/introspect`, pids: [env.tesseraRedis.pid, env.redisPid], token: () => fresh.pop()! },
      "tessera-memory-hit": { url: `${env.tessera.info.http}/oauth2/introspect`, pids: [env.tessera.pid], token: (i) => memoryPool[i % POOL]! },
      "oidc-provider": { url: env.oidc.info.introspectionEndpoint, pids: [env.oidc.pid], token: (i) => opaquePool[i % POOL]! },
      floor: { url: env.floor.info.introspectionEndpoint, pids: [env.floor.pid, env.redisPid], token: (i) => redisPool[i % POOL]! },
    };
    // Fill the caches: every pool token once.
    for (const variant of ["tessera-redis-hit", "tessera-memory-hit"] as const) {
      for (let i = 0; i < POOL; i++) expectOk(await poster.post(targets[variant].url, headers, `token=${targets[variant].token(i)}`), isActive);
    }
    const load = (variant: Variant, calls: number) => () => {
      poster.fresh();
      return runConcurrent(calls, plan.httpConnections, plan.timeLimitMs, async (i) =>
        expectOk(await poster.post(targets[variant].url, headers, `token=${targets[variant].token(i)}`), isActive),
      );
    };
    const variants: Variant[] = ["tessera-redis-hit", "tessera-redis-miss", "tessera-memory-hit", "oidc-provider", "floor"];
    const samples = await interleaved(
      plan,
      variants,
      (v) => load(v, plan.warmupCalls)(),
      (v) => measure(targets[v].pids, load(v, plan.introspectionCalls)),
    );
    const note = `${plan.httpConnections} keep-alive connections; ${POOL} tokens in turn`;
    report.row(
      loadRow("introspection/tessera-redis-hit", "Tessera /oauth2/introspect, Redis cache hit", samples.get("tessera-redis-hit")!, { redisCpuIndex: 1, note }),
    );
    report.row(
      loadRow("introspection/tessera-redis-miss", "Tessera /oauth2/introspect, Redis cache miss (verify + fill)", samples.get("tessera-redis-miss")!, {
        redisCpuIndex: 1,
        note: "a new token every call",
      }),
    );
    report.row(loadRow("introspection/tessera-memory-hit", "Tessera /oauth2/introspect, memory cache hit", samples.get("tessera-memory-hit")!));
    report.row(loadRow("introspection/oidc-provider", "oidc-provider /token/introspection (opaque, memory adapter)", samples.get("oidc-provider")!));
    report.row(loadRow("introspection/floor-redis-get", "floor: node:http + Basic + one Redis GET", samples.get("floor")!, { redisCpuIndex: 1 }));

    const hit = samples.get("tessera-redis-hit")!;
    const oidc = samples.get("oidc-provider")!;
    const floor = samples.get("floor")!;
    const vsOidc = ratios(
      hit.map((s) => s.rate),
      oidc.map((s) => s.rate),
    );
    report.target({
      id: "introspection-hit-vs-oidc-provider",
      description: "introspection: Tessera Redis cache hit vs oidc-provider (calls/s)",
      value: fmtRatio(vsOidc),
      goal: "≥ 4×",
      met: median(vsOidc) >= 4,
      note:
        `CPU per call: oidc-provider / Tessera = ${fmtRatio(
          ratios(
            oidc.map((s) => s.cpuPerCall[0]!),
            hit.map((s) => s.cpuPerCall[0]!),
          ),
        )}; ` +
        `the floor itself: ${fmtRatio(
          ratios(
            floor.map((s) => s.rate),
            oidc.map((s) => s.rate),
          ),
        )}`,
    });
    const vsFloor = ratios(
      hit.map((s) => s.cpuPerCall[0]!),
      floor.map((s) => s.cpuPerCall[0]!),
    );
    report.target({
      id: "introspection-hit-cpu-vs-floor",
      description: "introspection: Tessera cache-hit CPU per call vs the floor (HTTP + auth + one Redis GET)",
      value: fmtRatio(vsFloor),
      goal: "≤ 1.3×",
      met: median(vsFloor) <= 1.3,
      note: `Redis CPU per call: Tessera / floor = ${fmtRatio(
        ratios(
          hit.map((s) => s.cpuPerCall[1]!),
          floor.map((s) => s.cpuPerCall[1]!),
        ),
      )}`,
    });
  } finally {
    poster.close();
    redis.disconnect();
  }
}
