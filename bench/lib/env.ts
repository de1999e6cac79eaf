// The processes of one bench run and the knobs of quick and full mode.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedisServer, type RedisServer } from "../../test/helpers/redis-server.js";
import { compileEchoProto } from "./echo-service.js";
import { startBenchProcess, type BenchProcess } from "./processes.js";

export interface TesseraInfo {
  pid: number;
  http: string;
  grpc: string;
  issuer: string;
}
export interface HttpServerInfo {
  pid: number;
  http: string;
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
}
export interface EchoInfo {
  pid: number;
  grpc: string;
  connect: string;
  auth: boolean;
}

/** Counts and repetitions: full mode takes a few minutes, quick mode a few seconds per row. */
export interface BenchPlan {
  readonly quick: boolean;
  /** Interleaved repetitions of every comparison. */
  readonly runs: number;
  /** Calls per measured run, by kind of row. */
  readonly issuanceCalls: number;
  readonly introspectionCalls: number;
  readonly grpcEchoCalls: number;
  readonly connectEchoCalls: number;
  readonly verifyOps: number;
  readonly revocations: number;
  /** Calls before the measured runs (JIT, connections, caches). */
  readonly warmupCalls: number;
  /** HTTP/1.1 keep-alive connections of the HTTP load. */
  readonly httpConnections: number;
  /** RPCs in flight on one channel / HTTP/2 connection. */
  readonly rpcConcurrency: number;
  /** Longest any single load loop may run. */
  readonly timeLimitMs: number;
}

export function benchPlan(quick: boolean): BenchPlan {
  return quick
    ? {
        quick,
        runs: 1,
        issuanceCalls: 200,
        introspectionCalls: 300,
        grpcEchoCalls: 500,
        connectEchoCalls: 300,
        verifyOps: 200,
        revocations: 10,
        warmupCalls: 100,
        httpConnections: 16,
        rpcConcurrency: 32,
        timeLimitMs: 15_000,
      }
    : {
        quick,
        // Nine: this machine's neighbours move single runs by ±20 %, and medians of five still moved by up
        // to a quarter between two full runs (the first-sight rows); with compiled servers nine take ~4 min.
        runs: 9,
        issuanceCalls: 3000,
        introspectionCalls: 6000,
        grpcEchoCalls: 12_000,
        connectEchoCalls: 6000,
        verifyOps: 3000,
        revocations: 300,
        warmupCalls: 1000,
        httpConnections: 16,
        rpcConcurrency: 32,
        timeLimitMs: 60_000,
      };
}

/** Every process of the bench. */
export interface BenchEnv {
  readonly plan: BenchPlan;
  readonly redis: RedisServer;
  /** Redis' pid, to count its CPU where Tessera uses it. */
  readonly redisPid: number;
  readonly tessera: BenchProcess<TesseraInfo>;
  readonly tesseraRedis: BenchProcess<TesseraInfo>;
  readonly oidc: BenchProcess<HttpServerInfo>;
  /** The floor with jose's asynchronous SignJWT. */
  readonly floor: BenchProcess<HttpServerInfo>;
  /** The same floor signing synchronously with node:crypto, as Tessera does. */
  readonly floorSync: BenchProcess<HttpServerInfo>;
  /** The IssueToken floor: grpc-js echo + Basic + a synchronous signature. */
  readonly echoSign: BenchProcess<EchoInfo>;
  readonly echoNone: BenchProcess<EchoInfo>;
  readonly echoAuth: BenchProcess<EchoInfo>;
  /** One interceptor that does nothing, on both frameworks. */
  readonly echoPassthrough: BenchProcess<EchoInfo>;
  readonly echoDescriptors: string;
  stop(): Promise<void>;
}

export interface EnvOptions {
  /** Node flags for the processes of Tessera's code (token service and echo servers), e.g. --cpu-prof. */
  profiledNodeFlags?: readonly string[];
}

/** Starts Redis and the servers under test, each in its own process. */
export async function startBenchEnv(plan: BenchPlan, options: EnvOptions = {}): Promise<BenchEnv> {
  const work = mkdtempSync(join(tmpdir(), "tessera-bench-"));
  const started: BenchProcess<{ pid: number }>[] = [];
  const track = <T extends { pid: number }>(p: Promise<BenchProcess<T>>) =>
    p.then((bp) => {
      started.push(bp);
      return bp;
    });
  let redis: RedisServer | undefined;
  try {
    const echoDescriptors = compileEchoProto(join(work, "echo.binpb"));
    redis = await startRedisServer();
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.cli("INFO", "server"))?.[1]);
    const tesseraFlags = options.profiledNodeFlags ?? [];
    const [tessera, tesseraRedis, oidc, floor] = await Promise.all([
      track(startBenchProcess<TesseraInfo>("tessera", "tessera.ts", { nodeFlags: tesseraFlags })),
      track(
        startBenchProcess<TesseraInfo>("tessera-redis", "tessera.ts", {
          nodeFlags: tesseraFlags,
          // Signing keys live in Redis too, sealed under a key-encryption key.
          env: { BENCH_REDIS_URL: redis.url, TESSERA_KEK: randomBytes(32).toString("base64url") },
        }),
      ),
      track(startBenchProcess<HttpServerInfo>("oidc-provider", "oidc-provider.ts", { env: { NODE_ENV: "production" } })),
      track(startBenchProcess<HttpServerInfo>("floor", "floor.ts", { env: { BENCH_REDIS_URL: redis.url } })),
    ]);
    const echoEnv = {
      BENCH_ECHO_DESCRIPTORS: echoDescriptors,
      BENCH_ISSUER: tessera.info.issuer,
      BENCH_JWKS_URL: `${tessera.info.http}/.well-known/jwks.json`,
    };
    const [echoNone, echoAuth, echoPassthrough, echoSign, floorSync] = await Promise.all([
      track(startBenchProcess<EchoInfo>("echo (no auth)", "echo.ts", { nodeFlags: tesseraFlags, env: { ...echoEnv, BENCH_ECHO_AUTH: "0" } })),
      track(startBenchProcess<EchoInfo>("echo (Tessera interceptors)", "echo.ts", { nodeFlags: tesseraFlags, env: { ...echoEnv, BENCH_ECHO_AUTH: "1" } })),
      track(
        startBenchProcess<EchoInfo>("echo (pass-through interceptor)", "echo.ts", {
          nodeFlags: tesseraFlags,
          env: { ...echoEnv, BENCH_ECHO_AUTH: "passthrough" },
        }),
      ),
      track(startBenchProcess<EchoInfo>("echo (IssueToken floor)", "echo.ts", { env: { ...echoEnv, BENCH_ECHO_AUTH: "0", BENCH_ECHO_SIGN: "1" } })),
      track(startBenchProcess<HttpServerInfo>("floor (synchronous signing)", "floor.ts", { env: { BENCH_FLOOR_SIGN: "sync" } })),
    ]);
    const redisServer = redis;
    return {
      plan,
      redis: redisServer,
      redisPid,
      tessera,
      tesseraRedis,
      oidc,
      floor,
      floorSync,
      echoSign,
      echoNone,
      echoAuth,
      echoPassthrough,
      echoDescriptors,
      stop: async () => {
        await Promise.all(started.map((p) => p.stop()));
        await redisServer.destroy();
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    await redis?.destroy();
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}
