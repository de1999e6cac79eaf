// Many real verifiers in one process: remoteVerifier({ issuer, endpoints: [BENCH_VERIFIER_ENDPOINT],
// credentials }) each, watching WatchKeys and WatchRevocations over Connect (one HTTP/2 connection
// per stream, as a service's verifier has), opened on demand over IPC. For a measure the parent
// arms a token (every verifier accepts it first), makes it refused (Revoke, or an emergency key
// revocation), then collects, per verifier, the first moment (CLOCK_MONOTONIC) its check() refused
// it. Refusals are found by polling every verifier in rounds (1 ms between rounds) from the moment
// the parent asks, just after the ack (not before: polling 500 verifiers keeps a core busy, which
// would slow down the replicas being measured): the resolution is one round plus 1 ms, reported
// with the figures.
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import type { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { BENCH_AUDIENCE, BENCH_RS_CLIENT } from "../lib/bench-clients.js";
import { announce } from "../lib/processes.js";

export type VerifiersCommand = { type: "open"; count: number } | { type: "arm"; token: string } | { type: "collect"; timeoutMs: number };
export type VerifiersReport =
  | { type: "opened"; verifiers: number; breaks: number }
  | { type: "armed"; accepted: number }
  | { type: "refused"; at: string[]; missing: number; rounds: number; roundMsP50: number; breaks: number }
  | { type: "error"; message: string };

const endpoint = process.env.BENCH_VERIFIER_ENDPOINT!;
const issuer = process.env.BENCH_ISSUER!;
const RULE = { kind: "bearer", audience: BENCH_AUDIENCE, allOf: [], anyOf: [], source: "method" } as const;
const verifiers: TokenVerifier[] = [];
/** Streams that broke (and were reopened) since the last report, and why (the first few distinct reasons, to stderr). */
let breaks = 0;
const reasons = new Set<string>();

/** The token armed: every verifier accepted it. */
let armed = "";

async function refuses(verifier: TokenVerifier, authorization: string): Promise<boolean> {
  try {
    await verifier.check(authorization, RULE);
    return false;
  } catch {
    return true;
  }
}

/** Polls every verifier that still accepts `token` until each refused it or `stopAt` passed. */
async function poll(authorization: string, stopAt: number) {
  const at: (bigint | undefined)[] = verifiers.map(() => undefined);
  const roundMs: number[] = [];
  let left = verifiers.length;
  let rounds = 0;
  while (left > 0 && Date.now() < stopAt && rounds < 1_000_000) {
    const start = performance.now();
    for (let i = 0; i < verifiers.length; i++) {
      if (at[i] !== undefined) continue;
      if (await refuses(verifiers[i]!, authorization)) {
        at[i] = process.hrtime.bigint();
        left--;
      }
    }
    rounds++;
    roundMs.push(performance.now() - start);
    // Not setImmediate: a process spinning on both cores of the bench machine would starve the replicas.
    await new Promise((r) => setTimeout(r, 1));
  }
  return { at, rounds, roundMs };
}

/** Starts `count` more verifiers and waits until each has its revocations. */
async function openVerifiers(count: number): Promise<void> {
  const added = Array.from({ length: count }, () =>
    remoteVerifier({
      issuer,
      endpoints: [endpoint],
      credentials: { clientId: BENCH_RS_CLIENT.id, auth: { method: "client_secret_basic", secret: BENCH_RS_CLIENT.secret } },
      onStreamBreak: (err) => {
        breaks++;
        const reason = String(err).slice(0, 200);
        if (reasons.size < 5 && !reasons.has(reason)) {
          reasons.add(reason);
          process.stderr.write(`a stream broke: ${reason}\n`);
        }
      },
    }),
  );
  verifiers.push(...added);
  await Promise.all(added.map((v) => v.start()));
  await Promise.all(added.map((v) => v.revocationsLoaded()));
}

process.on("message", async (command: VerifiersCommand) => {
  try {
    if (command.type === "open") {
      // In batches of 100, each loaded before the next: 500 verifiers opening 1000 streams at once on a
      // loaded machine miss their connect timeout and retry in a storm (not what services starting do).
      for (let n = 0; n < command.count; n += 100) await openVerifiers(Math.min(100, command.count - n));
      process.send!({ type: "opened", verifiers: verifiers.length, breaks } satisfies VerifiersReport);
      breaks = 0;
    } else if (command.type === "arm") {
      const authorization = `Bearer ${command.token}`;
      const results = await Promise.all(verifiers.map((v) => refuses(v, authorization)));
      armed = authorization;
      process.send!({ type: "armed", accepted: results.filter((r) => !r).length } satisfies VerifiersReport);
    } else {
      const { at, rounds, roundMs } = await poll(armed, Date.now() + command.timeoutMs);
      const times = at.flatMap((t) => (t === undefined ? [] : [t.toString()]));
      roundMs.sort((x, y) => x - y);
      process.send!({
        type: "refused",
        at: times,
        missing: at.length - times.length,
        rounds,
        roundMsP50: roundMs[Math.floor(roundMs.length / 2)] ?? 0,
        breaks,
      } satisfies VerifiersReport);
      breaks = 0;
    }
  } catch (err) {
    process.send!({ type: "error", message: String(err) } satisfies VerifiersReport);
  }
});

announce({});
process.once("SIGTERM", () => {
  for (const v of verifiers) v.stop();
  process.exit(0);
});
