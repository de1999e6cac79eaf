// Quick measurement: IssueToken over the grpc-js listener (client_secret_basic, ES256).
// Reports tokens/s and the server's CPU µs per token (from /proc), median of runs.
// Usage: npx tsx bench/issue-token-grpc.ts [--quick]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { TokenService } from "../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../test/helpers/grpc-client.js";
import { processCpuMicros } from "./proc-cpu.js";
import { BENCH_AUDIENCE, BENCH_CLIENT } from "./tessera-process.js";

const quick = process.argv.includes("--quick");
const CALLS = quick ? 500 : 5000;
const CONCURRENCY = 32;
const RUNS = quick ? 1 : 3;
const TIME_LIMIT_MS = 60_000;

const child = spawn(process.execPath, ["--import", "tsx", "bench/tessera-process.ts"], { stdio: ["ignore", "pipe", "inherit"] });
const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
const { pid, grpc } = JSON.parse(line) as { pid: number; grpc: string };
const client = grpcJsClient(TokenService, grpc);
const authorization = `Basic ${Buffer.from(`${BENCH_CLIENT.id}:${BENCH_CLIENT.secret}`).toString("base64")}`;

async function load(calls: number): Promise<void> {
  const deadline = Date.now() + TIME_LIMIT_MS;
  let next = 0;
  const worker = async () => {
    while (next < calls && Date.now() < deadline) {
      next++;
      await client.unary("issueToken", { resource: BENCH_AUDIENCE, scopes: ["bench.read"] }, { metadata: { authorization } });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  await load(Math.min(1000, CALLS)); // warm-up: JIT, connections
  const rates: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const cpuBefore = processCpuMicros(pid);
    const start = process.hrtime.bigint();
    await load(CALLS);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(CALLS / seconds);
    cpu.push((processCpuMicros(pid) - cpuBefore) / CALLS);
  }
  const fmt = (xs: number[], digits = 0) => `${median(xs).toFixed(digits)} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;
  process.stdout.write(`IssueToken over grpc-js: ${CALLS} calls x ${RUNS} runs, concurrency ${CONCURRENCY}\n`);
  process.stdout.write(`  tokens/s: ${fmt(rates)}\n  server CPU µs/token: ${fmt(cpu)}\n`);
} finally {
  client.close();
  child.kill("SIGTERM");
}
