// 4. Interceptor cost: the echo service without auth vs behind Tessera's
//    server interceptors with a token already verified (cached) vs a token
//    seen for the first time, on grpc-js and on Connect; plus the
//    verification floor: a raw node:crypto ES256 verify of the same tokens,
//    against jose's jwtVerify and TokenVerifier.verify, in this process.
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { importJWK, jwtVerify, type JSONWebKeySet } from "jose";
import { RemoteKeySet } from "../../src/keys/remote-key-set.js";
import { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { CACHED, libraryInstruments, methodAttributes } from "../../src/internal/library-telemetry.js";
import { ECHO_SCOPE, ECHO_SERVICE } from "../lib/bench-clients.js";
import { connectEchoCaller, grpcEchoCaller, type EchoCaller } from "../lib/echo-clients.js";
import { loadEchoService } from "../lib/echo-service.js";
import type { BenchEnv } from "../lib/env.js";
import { interleaved, loadRow } from "../lib/interleave.js";
import { measure, runConcurrent } from "../lib/load.js";
import { fmtRatio, fmtSeries, median, type Report } from "../lib/report.js";
import { ratios } from "../lib/stats.js";
import { issueTokens } from "../lib/tokens.js";

// none-new-token: no interceptor, but a new token every call, as first-sight sends: the transport's
// share of a first sight (a new authorization header every call defeats HPACK's dynamic table).
// passthrough: one interceptor that does nothing: what the framework charges for an interceptor at all.
type Variant = "none" | "none-new-token" | "passthrough" | "cached" | "first-sight";
const VARIANTS: readonly Variant[] = ["none", "none-new-token", "passthrough", "cached", "first-sight"];
const NEW_TOKEN_VARIANTS: readonly Variant[] = ["none-new-token", "first-sight"];

export async function interceptorSection(env: BenchEnv, report: Report): Promise<void> {
  const { plan } = env;
  const service = loadEchoService(env.echoDescriptors);
  const request = { audience: ECHO_SERVICE, scopes: [ECHO_SCOPE] };
  const firstSightCalls = plan.quick ? 200 : 3000;
  const firstSightWarmup = plan.quick ? 50 : 300;
  const perFramework = firstSightWarmup + plan.runs * firstSightCalls;
  const [cached] = await issueTokens(env.tessera.info.grpc, 1, request);
  const fresh = await issueTokens(env.tessera.info.grpc, 4 * perFramework, request);
  const freshFor = {
    "grpc-js": { "none-new-token": fresh.slice(0, perFramework), "first-sight": fresh.slice(perFramework, 2 * perFramework) },
    connect: { "none-new-token": fresh.slice(2 * perFramework, 3 * perFramework), "first-sight": fresh.slice(3 * perFramework) },
  };

  const frameworks = [
    {
      name: "grpc-js" as const,
      calls: plan.grpcEchoCalls,
      none: grpcEchoCaller(service, env.echoNone.info.grpc),
      passthrough: grpcEchoCaller(service, env.echoPassthrough.info.grpc),
      auth: grpcEchoCaller(service, env.echoAuth.info.grpc),
    },
    {
      name: "connect" as const,
      calls: plan.connectEchoCalls,
      none: connectEchoCaller(service, env.echoNone.info.connect),
      passthrough: connectEchoCaller(service, env.echoPassthrough.info.connect),
      auth: connectEchoCaller(service, env.echoAuth.info.connect),
    },
  ];
  const noneCpu: Record<string, number[]> = {};
  const noneNewCpu: Record<string, number[]> = {};
  const firstCpu: Record<string, number[]> = {};
  try {
    for (const fw of frameworks) {
      const tokens = freshFor[fw.name];
      const server = (v: Variant) => (v === "none" || v === "none-new-token" ? env.echoNone : v === "passthrough" ? env.echoPassthrough : env.echoAuth);
      const caller = (v: Variant): EchoCaller => (v === "none" || v === "none-new-token" ? fw.none : v === "passthrough" ? fw.passthrough : fw.auth);
      const token = (v: Variant) => (v === "none-new-token" || v === "first-sight" ? tokens[v].pop()! : cached);
      const newTokens = (v: Variant) => NEW_TOKEN_VARIANTS.includes(v);
      const load = (v: Variant, calls: number) => () => runConcurrent(calls, plan.rpcConcurrency, plan.timeLimitMs, () => caller(v).call(`Bearer ${token(v)}`));
      const samples = await interleaved(
        plan,
        VARIANTS,
        (v) => load(v, newTokens(v) ? firstSightWarmup : plan.warmupCalls)(),
        (v) => measure([server(v).pid], load(v, newTokens(v) ? firstSightCalls : fw.calls)),
      );
      const none = samples.get("none")!;
      const noneNew = samples.get("none-new-token")!;
      const pass = samples.get("passthrough")!;
      const withCache = samples.get("cached")!;
      const first = samples.get("first-sight")!;
      const prefix = fw.name === "grpc-js" ? "interceptor-grpc-js" : "interceptor-connect";
      const transport = fw.name === "grpc-js" ? "grpc-js server and client" : "connect-node, Connect protocol (binary) over h2c";
      report.row(
        loadRow(`${prefix}/none`, `${fw.name} echo, no interceptor`, none, {
          note: `${transport}; ${plan.rpcConcurrency} in flight; same authorization header sent`,
        }),
      );
      report.row(
        loadRow(`${prefix}/none-new-token`, `${fw.name} echo, no interceptor, a new token every call`, noneNew, {
          note: `CPU vs none ${fmtRatio(cpuRatio(noneNew, none))}: the transport's share of a first sight`,
        }),
      );
      report.row(
        loadRow(`${prefix}/passthrough`, `${fw.name} echo, one interceptor that does nothing`, pass, {
          note: `CPU vs none ${fmtRatio(cpuRatio(pass, none))}: the framework's cost of an interceptor`,
        }),
      );
      report.row(
        loadRow(`${prefix}/cached`, `${fw.name} echo, Tessera interceptor, token already verified`, withCache, {
          note: `CPU vs none ${fmtRatio(
            ratios(
              withCache.map((s) => s.cpuPerCall[0]!),
              none.map((s) => s.cpuPerCall[0]!),
            ),
          )}`,
        }),
      );
      report.row(
        loadRow(`${prefix}/first-sight`, `${fw.name} echo, Tessera interceptor, a new token every call`, first, {
          note: `CPU vs none ${fmtRatio(
            ratios(
              first.map((s) => s.cpuPerCall[0]!),
              none.map((s) => s.cpuPerCall[0]!),
            ),
          )}`,
        }),
      );
      noneCpu[fw.name] = none.map((s) => s.cpuPerCall[0]!);
      noneNewCpu[fw.name] = noneNew.map((s) => s.cpuPerCall[0]!);
      firstCpu[fw.name] = first.map((s) => s.cpuPerCall[0]!);
      if (fw.name === "grpc-js") {
        const r = ratios(
          withCache.map((s) => s.cpuPerCall[0]!),
          none.map((s) => s.cpuPerCall[0]!),
        );
        report.target({
          id: "interceptor-cached-cpu-vs-none",
          description: "grpc-js: server CPU per call, Tessera interceptor with a cached token vs no auth",
          value: fmtRatio(r),
          goal: "≤ 1.05×",
          met: median(r) <= 1.05,
          note: `vs one interceptor that does nothing: ${fmtRatio(cpuRatio(withCache, pass))}; that interceptor alone vs none: ${fmtRatio(cpuRatio(pass, none))}`,
        });
      }
    }
  } finally {
    for (const fw of frameworks) {
      fw.none.close();
      fw.auth.close();
    }
  }

  // The verification floor, in this process, one token at a time.
  const jwks = (await (await fetch(`${env.tessera.info.http}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const jwk = jwks.keys[0]!;
  const keyObject = createPublicKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" });
  const cryptoKey = await importJWK(jwk, "ES256");
  const issuer = env.tessera.info.issuer;
  const opsTokens = await issueTokens(env.tessera.info.grpc, plan.verifyOps * (plan.runs + 1), request);
  type VerifyVariant = "node-crypto" | "jose-jwtverify" | "tessera-first-sight" | "tessera-cached" | "telemetry-no-sdk";
  // What the library telemetry adds to one intercepted call when no OpenTelemetry SDK is registered (the bench registers none).
  const telemetry = libraryInstruments();
  const decided = methodAttributes(`/${ECHO_SERVICE}/Echo`);
  const batches = new Map<VerifyVariant, string[][]>();
  const takeBatch = () => opsTokens.splice(0, plan.verifyOps);
  const ops: Record<VerifyVariant, (tokens: string[]) => Promise<void>> = {
    "node-crypto": async (tokens) => {
      for (const token of tokens) {
        const [h, p, s] = token.split(".") as [string, string, string];
        if (!cryptoVerify("sha256", Buffer.from(`${h}.${p}`), { key: keyObject, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"))) {
          throw new Error("bad signature");
        }
      }
    },
    "jose-jwtverify": async (tokens) => {
      for (const token of tokens) await jwtVerify(token, cryptoKey, { issuer, typ: "at+jwt", algorithms: ["ES256"] });
    },
    "tessera-first-sight": async (tokens) => {
      const verifier = new TokenVerifier({ issuer, keys: new RemoteKeySet({ fetch: async () => jwks }), cacheSize: tokens.length + 1 });
      await verifier.verify(cached!); // loads the key set: not part of a first sight
      for (const token of tokens) await verifier.verify(token);
    },
    "tessera-cached": async (tokens) => {
      const verifier = new TokenVerifier({ issuer, keys: new RemoteKeySet({ fetch: async () => jwks }) });
      const token = tokens[0]!;
      await verifier.verify(token);
      for (let i = 0; i < tokens.length; i++) await verifier.verify(token);
    },
    "telemetry-no-sdk": async (tokens) => {
      for (let i = 0; i < tokens.length; i++) {
        telemetry.verifications.add(1, CACHED);
        telemetry.decisions.add(1, decided.allowed);
      }
    },
  };
  const verifyVariants: VerifyVariant[] = ["node-crypto", "jose-jwtverify", "tessera-first-sight", "tessera-cached", "telemetry-no-sdk"];
  // Every variant gets fresh tokens each run, so that no cache (ours or jose's) sees a token twice.
  for (const v of verifyVariants) batches.set(v, []);
  const cpuPerOp = new Map<VerifyVariant, number[]>(verifyVariants.map((v) => [v, []]));
  const wallPerOp = new Map<VerifyVariant, number[]>(verifyVariants.map((v) => [v, []]));
  const warmTokens = takeBatch();
  for (const v of verifyVariants) await ops[v](warmTokens.slice(0, Math.min(200, warmTokens.length)));
  for (let r = 0; r < plan.runs; r++) {
    const tokens = takeBatch();
    const order = verifyVariants.map((_, i) => verifyVariants[(i + r) % verifyVariants.length]!);
    for (const v of order) {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await ops[v](tokens);
      const wall = Number(process.hrtime.bigint() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      cpuPerOp.get(v)!.push((cpu.user + cpu.system) / tokens.length);
      wallPerOp.get(v)!.push(wall / tokens.length);
    }
  }
  const labels: Record<VerifyVariant, string> = {
    "node-crypto": "raw node:crypto ES256 verify (signature only)",
    "jose-jwtverify": "jose jwtVerify (WebCrypto), iss/typ/alg checks",
    "tessera-first-sight": "TokenVerifier.verify, first sight of each token",
    "tessera-cached": "TokenVerifier.verify, token already verified",
    "telemetry-no-sdk": "@opentelemetry/api without an SDK: the two counter adds of one intercepted call",
  };
  for (const v of verifyVariants) {
    report.row({
      id: `verify/${v}`,
      label: labels[v],
      cells: [
        ["CPU µs/op", fmtSeries(cpuPerOp.get(v)!, v === "telemetry-no-sdk" ? 3 : 1)],
        ["wall µs/op", fmtSeries(wallPerOp.get(v)!, v === "telemetry-no-sdk" ? 3 : 1)],
      ],
      series: { cpu: cpuPerOp.get(v)!, wall: wallPerOp.get(v)! },
      note:
        v === "telemetry-no-sdk"
          ? `${plan.runs} × ${plan.verifyOps} calls; vs TokenVerifier.verify cached (which includes one of them): ${fmtRatio(
              ratios(cpuPerOp.get(v)!, cpuPerOp.get("tessera-cached")!),
            )}`
          : `${plan.runs} × ${plan.verifyOps} tokens, one at a time, in the bench process`,
    });
  }
  const firstVsRaw = ratios(cpuPerOp.get("tessera-first-sight")!, cpuPerOp.get("node-crypto")!);
  const raw = median(cpuPerOp.get("node-crypto")!);
  report.target({
    id: "first-sight-verify-vs-node-crypto",
    description: "first-sight verification CPU vs a raw node:crypto ES256 verify",
    value: fmtRatio(firstVsRaw),
    goal: "≤ 1.3×",
    met: median(firstVsRaw) <= 1.3,
    note: `jose jwtVerify alone: ${fmtRatio(ratios(cpuPerOp.get("jose-jwtverify")!, cpuPerOp.get("node-crypto")!))}`,
  });
  // In the echo servers: what a first sight adds per call over no auth (run by run), against the raw verify's median.
  for (const fw of ["grpc-js", "connect"] as const) {
    // "No auth" carrying the same traffic: a new token every call, unchecked. Against the constant-header
    // baseline the difference would also count HPACK's misses, which no verifier can avoid.
    const added = firstCpu[fw]!.map((first, i) => (first - noneNewCpu[fw]![i]!) / raw);
    const addedOverConstant = firstCpu[fw]!.map((first, i) => (first - noneCpu[fw]![i]!) / raw);
    report.target({
      id: fw === "grpc-js" ? "first-sight-grpc-js-added-vs-node-crypto" : "first-sight-connect-added-vs-node-crypto",
      description: `${fw} echo: server CPU a first sight adds over no auth with the same traffic (a new token every call), vs a raw node:crypto ES256 verify`,
      value: fmtRatio(added),
      goal: "≤ 1.3×",
      met: median(added) <= 1.3,
      note: `adds ${(median(firstCpu[fw]!) - median(noneNewCpu[fw]!)).toFixed(0)} µs per call; the raw verify ${raw.toFixed(0)} µs; over no auth with one constant token: ${fmtRatio(addedOverConstant)}`,
    });
  }
}

/** Server CPU per call of `a` over `b`, run by run. */
function cpuRatio(a: readonly { cpuPerCall: readonly number[] }[], b: readonly { cpuPerCall: readonly number[] }[]): number[] {
  return ratios(
    a.map((s) => s.cpuPerCall[0]!),
    b.map((s) => s.cpuPerCall[0]!),
  );
}
