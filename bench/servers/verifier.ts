// A verifier process for the revocation propagation bench: a TokenVerifier
// with the issuer's JWKS and the revocations pushed from Tessera's Redis
// deny-list (RevocationFeed), as a protected service would run it.
// Over IPC it is told which tokens to watch; it answers "watching" once the
// token verifies, and "rejected" with the monotonic clock (process.hrtime,
// CLOCK_MONOTONIC: one clock for every process of the machine) at the moment
// the pushed revocation made it reject the token.
//   BENCH_ISSUER, BENCH_JWKS_URL, BENCH_REDIS_URL
import { Redis } from "ioredis";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { createRedisStore, fastFailOptions } from "../../src/server.js";
import { announce, serveUntilTerminated } from "../lib/processes.js";

/** Parent → verifier. */
export type VerifierCommand = { type: "watch"; id: number; token: string };
/** Verifier → parent. */
export type VerifierReport =
  | { type: "watching"; id: number; ok: boolean; error?: string }
  | { type: "rejected"; id: number; at: string }
  | { type: "missed"; id: number; error: string };

const redis = new Redis(process.env.BENCH_REDIS_URL!, fastFailOptions(2000));
const store = createRedisStore({ client: redis });
const verifier = remoteVerifier({ issuer: process.env.BENCH_ISSUER!, jwksUrl: process.env.BENCH_JWKS_URL!, revocations: store.denyList });
await verifier.start();

const watched = new Map<string, { id: number; token: string }>();
const send = (report: VerifierReport) => process.send!(report);

verifier.onRevoked((event) => {
  const entry = watched.get(event.jti);
  if (entry === undefined) return;
  watched.delete(event.jti);
  // The deny set already holds the revocation when listeners run: verify() must now refuse the token.
  verifier.verify(entry.token).then(
    () => send({ type: "missed", id: entry.id, error: "the token still verified after its revocation arrived" }),
    () => send({ type: "rejected", id: entry.id, at: String(process.hrtime.bigint()) }),
  );
});

process.on("message", (message: VerifierCommand) => {
  if (message.type !== "watch") return;
  verifier.verify(message.token).then(
    (claims) => {
      watched.set(claims.jti, { id: message.id, token: message.token });
      send({ type: "watching", id: message.id, ok: true });
    },
    (err: unknown) => send({ type: "watching", id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

announce({});
serveUntilTerminated(async () => {
  verifier.stop();
  await store.close();
  redis.disconnect();
});
