// Tessera in its own process, as `tessera serve` runs it: createTesseraServer
// with the bench's clients, on free loopback ports. With BENCH_REDIS_URL its
// shared state (deny-list and feed, introspection cache, throttling) is in
// that Redis (as REDIS_URL does); else in this process's memory.
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { validateConfig } from "../../src/config/validate.js";
import { createTesseraServer } from "../../src/server/tessera-server.js";
import { BENCH_AUDIENCE, BENCH_CLIENT, BENCH_RS_CLIENT, BENCH_SCOPES, ECHO_SCOPE, ECHO_SERVICE } from "../lib/bench-clients.js";
import { announce, serveUntilTerminated } from "../lib/processes.js";

const config = validateConfig(
  {
    // With Redis the issuer must be set (replicas agree on it); the bench's verifiers get it announced.
    ...(process.env.BENCH_REDIS_URL ? { issuer: "http://tessera.bench.test" } : {}),
    // 1000 remoteVerifiers hold 2 connections each (one per stream): above the default cap of 1024 per listener.
    http: { port: 0, limits: { maxConnections: 4096 } },
    grpc: { port: 0 },
    // As deployed: metrics served (a free port here) and every audit event written (stdout carries the announcement).
    metrics: { port: 0 },
    audit: { file: "/dev/null" },
    // The bench measures throughput: per-client rate limits off (failed-authentication throttling stays).
    rateLimit: { perClient: { introspections: 0, revocations: 0 } },
    clients: [
      {
        id: BENCH_CLIENT.id,
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(BENCH_CLIENT.secret)],
        grants: [
          { audience: BENCH_AUDIENCE, scopes: [...BENCH_SCOPES] },
          { audience: ECHO_SERVICE, scopes: [ECHO_SCOPE] },
        ],
      },
      {
        id: BENCH_RS_CLIENT.id,
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(BENCH_RS_CLIENT.secret)],
        grants: [],
        audiences: [BENCH_AUDIENCE],
        introspection: true,
      },
    ],
  },
  { REDIS_URL: process.env.BENCH_REDIS_URL },
  () => "",
);

const server = await createTesseraServer({ config });
// With an IPC channel (bench/watch.ts): an emergency revocation of the signing key on this replica, as
// `tessera keys revoke` does, answered once KeyManager.revoke resolved (the key ring and the deny-list written).
process.on("message", async (m: { type: "revoke-signing-key" }) => {
  if (m.type !== "revoke-signing-key" || server.keyManager === undefined) return;
  try {
    const kid = server.keyManager.records().find((r) => r.state === "active")!.kid;
    await server.keyManager.revoke(kid);
    const at = process.hrtime.bigint().toString();
    process.send!({ type: "signing-key-revoked", kid, at });
  } catch (err) {
    process.send!({ type: "error", message: `revoking the signing key: ${String(err)}` });
  }
});
announce({ http: server.httpUrl, grpc: server.grpcAddress, issuer: server.issuer });
serveUntilTerminated(() => server.stop());
