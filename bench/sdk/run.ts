// The Go and Python SDKs measured in one run (npx tsx bench/sdk/run.ts), on the conformance runners and
// a real Tessera on loopback: what a call with a cached token costs over a public call, what a first
// sight costs next to the language's bare signature check, and how fast a revocation reaches each verifier.
// Prints a markdown table; figures are ratios within this run (the machine is shared).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { REPO_ROOT } from "../../test/helpers/child-process.js";
import { authorizationOf, call, mint } from "../../test/helpers/conformance.js";
import { CONFORMANCE_SERVICE, ConformanceWorld, fixtureMessages } from "../../test/helpers/conformance-runners.js";
import { buildDir, goEnv } from "../../test/helpers/sdk-builds.js";

const CALLS = Number(process.env.CALLS ?? 1000);
const REVOCATIONS = 5;

const world = new ConformanceWorld();
await world.start();
const runtimes = await world.startRuntimes();
const rows: string[] = [];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

for (const runtime of runtimes) {
  const client = new grpc.Client(runtime.address, grpc.credentials.createInsecure());
  const minted = mint({ scopes: [] }, world.signingKey, world.tessera.issuer, CONFORMANCE_SERVICE);
  const timeCalls = async (method: string, authorization: string[]) => {
    for (let i = 0; i < 50; i++) await call(client, `/${CONFORMANCE_SERVICE}/${method}`, false, authorization, fixtureMessages);
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const outcome = await call(client, `/${CONFORMANCE_SERVICE}/${method}`, false, authorization, fixtureMessages);
      if (outcome.code !== "OK") throw new Error(`${runtime.name} ${method}: ${outcome.code}`);
    }
    return ((performance.now() - start) / CALLS) * 1000;
  };
  const bearer = authorizationOf({ name: "", expect: { code: "OK" } }, minted);
  const publicUs = await timeCalls("Public", []);
  const cachedUs = await timeCalls("AnyToken", bearer);
  const propagation: number[] = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const token = mint({ scopes: [] }, world.signingKey, world.tessera.issuer, CONFORMANCE_SERVICE);
    const auth = [`Bearer ${token.token}`];
    await call(client, `/${CONFORMANCE_SERVICE}/AnyToken`, false, auth, fixtureMessages);
    const start = performance.now();
    await world.denyList.revoke(world.tessera.issuer, token.jti, token.exp);
    while ((await call(client, `/${CONFORMANCE_SERVICE}/AnyToken`, false, auth, fixtureMessages)).code === "OK") {
      if (performance.now() - start > 10_000) throw new Error(`${runtime.name}: revocation not honoured within 10 s`);
    }
    propagation.push(performance.now() - start);
  }
  rows.push(
    `| ${runtime.name} | ${publicUs.toFixed(0)} | ${cachedUs.toFixed(0)} | ${(cachedUs - publicUs).toFixed(0)} | ${median(propagation).toFixed(1)} [${Math.min(...propagation).toFixed(1)}–${Math.max(...propagation).toFixed(1)}] |`,
  );
  client.close();
}
await world.stop();

// Verification alone, in each language's process.
const build = buildDir();
const gopath = join(build.dir, "gopath");
execFileSync("mkdir", ["-p", join(gopath, "src/tessera/sdk")]);
execFileSync("ln", ["-s", join(REPO_ROOT, "sdk/go"), join(gopath, "src/tessera/sdk/go")]);
const goOut = execFileSync("go", ["test", "-run", "XXX", "-bench", ".", "-benchtime", "3000x", "tessera/sdk/go/tessera"], {
  cwd: join(gopath, "src"),
  env: goEnv(gopath),
  encoding: "utf8",
  timeout: 300_000,
});
build.remove();
const goNs = (name: string) => Number(new RegExp(`Benchmark${name}-\\d+\\s+\\d+\\s+([\\d.]+) ns/op`).exec(goOut)?.[1]) / 1000;
const py = JSON.parse(
  execFileSync("/usr/bin/python3", [join(REPO_ROOT, "bench/sdk/verify_bench.py"), "3000"], {
    env: { ...process.env, PYTHONPATH: join(REPO_ROOT, "sdk/python") },
    encoding: "utf8",
    timeout: 300_000,
  }),
) as { rawVerifyUs: number; firstSightUs: number; cachedUs: number };

console.log(`| server | public call µs | cached-token call µs | auth overhead µs | revocation reaches the verifier, ms (median [min–max] of ${REVOCATIONS}) |`);
console.log("|---|---|---|---|---|");
for (const row of rows) console.log(row);
console.log("");
console.log("| verification (ES256) | bare signature check µs | first sight µs | cached token µs |");
console.log("|---|---|---|---|");
console.log(`| Go (go-jose) | ${goNs("RawVerify").toFixed(0)} | ${goNs("FirstSight").toFixed(0)} | ${goNs("Cached").toFixed(2)} |`);
console.log(`| Python (PyJWT + cryptography) | ${py.rawVerifyUs.toFixed(0)} | ${py.firstSightUs.toFixed(0)} | ${py.cachedUs.toFixed(2)} |`);
