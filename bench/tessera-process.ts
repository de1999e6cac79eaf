// A Tessera server in its own process, for load tests: prints one JSON line
// with its addresses, then serves until SIGTERM.
import { hashClientSecret } from "../src/config/dev-mode.js";
import { validateConfig } from "../src/config/validate.js";
import { createTesseraServer } from "../src/server/tessera-server.js";

export const BENCH_CLIENT = { id: "bench", secret: "bench-secret-0123456789abcdef0123456789abcdef" };
export const BENCH_AUDIENCE = "https://bench.example.com";

const config = validateConfig(
  {
    http: { port: 0 },
    grpc: { port: 0 },
    clients: [
      {
        id: BENCH_CLIENT.id,
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(BENCH_CLIENT.secret)],
        introspection: true,
        audiences: [BENCH_AUDIENCE],
        grants: [{ audience: BENCH_AUDIENCE, scopes: ["bench.read", "bench.write"] }],
      },
    ],
  },
  {},
  () => "",
);

if (process.argv[1]?.endsWith("tessera-process.ts")) {
  const server = await createTesseraServer({ config });
  process.stdout.write(`${JSON.stringify({ pid: process.pid, http: server.httpUrl, grpc: server.grpcAddress })}\n`);
  process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}
