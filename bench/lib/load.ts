// Bounded load loops: every loop stops after `total` calls or `timeLimitMs`,
// whichever comes first, and counts what failed instead of measuring it.
import { Agent, request } from "node:http";
import { processCpuMicrosPrecise } from "../proc-cpu.js";

export interface LoadResult {
  /** Calls that completed as expected. */
  readonly ok: number;
  /** Calls that failed or answered something else than expected. */
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Whether the time limit stopped the loop before `total`. */
  readonly timedOut: boolean;
}

/**
 * Runs `call(i)` for i = 0 … total−1 with `concurrency` calls in flight.
 * A call that rejects counts as an error.
 */
export async function runConcurrent(total: number, concurrency: number, timeLimitMs: number, call: (i: number) => Promise<unknown>): Promise<LoadResult> {
  const deadline = Date.now() + timeLimitMs;
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let timedOut = false;
  const worker = async () => {
    for (;;) {
      if (next >= total) return;
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      try {
        await call(i);
        ok++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { ok, errors, firstError, timedOut };
}

/** One HTTP/1.1 answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** POSTs over a pool of keep-alive HTTP/1.1 connections. */
export interface HttpPoster {
  post(url: string, headers: Record<string, string>, body: string): Promise<HttpAnswer>;
  /**
   * Drops the pooled connections. Call it before each run: a connection left idle longer than the
   * server's keep-alive timeout (5 s in Node) is closed by the server, and the next request on it
   * would fail with ECONNRESET through no fault of the server.
   */
  fresh(): void;
  close(): void;
}

export function httpPoster(connections: number): HttpPoster {
  const newAgent = () => new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  let agent = newAgent();
  return {
    fresh: () => {
      agent.destroy();
      agent = newAgent();
    },
    post: (url, headers, body) =>
      new Promise((resolve, reject) => {
        const req = request(url, { method: "POST", agent, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on("error", reject);
        });
        req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** Throws unless the answer is a 200 whose body passes `check`. */
export function expectOk(answer: HttpAnswer, check?: (body: string) => boolean): void {
  if (answer.status !== 200 || (check !== undefined && !check(answer.body))) {
    throw new Error(`unexpected answer ${answer.status}: ${answer.body.slice(0, 200)}`);
  }
}

/** One measured run: throughput and the CPU each watched process spent per call. */
export interface Sample {
  readonly calls: number;
  readonly seconds: number;
  /** Calls per second (wall clock). */
  readonly rate: number;
  /** Server CPU µs per call, per watched pid (in the order given). */
  readonly cpuPerCall: readonly number[];
  readonly errors: number;
  readonly firstError: string | undefined;
}

/** Runs a load and measures the CPU the given processes spent on it. */
export async function measure(pids: readonly number[], load: () => Promise<LoadResult>): Promise<Sample> {
  const before = pids.map(processCpuMicrosPrecise);
  const start = process.hrtime.bigint();
  const result = await load();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const after = pids.map(processCpuMicrosPrecise);
  const calls = result.ok + result.errors;
  return {
    calls,
    seconds,
    rate: result.ok / seconds,
    cpuPerCall: pids.map((_, i) => (after[i]! - before[i]!) / Math.max(1, calls)),
    errors: result.errors + (result.timedOut ? 1 : 0),
    firstError: result.firstError ?? (result.timedOut ? "time limit reached before the count" : undefined),
  };
}
