// How fast a client change made through one replica is in force on another:
// two Tessera servers in this process over one real Redis, N creates and N
// updates through replica A's admin API (Connect), each timed from the
// moment A acknowledged it (and from the request's start) until replica B's
// in-memory registry holds it. Bounded: N changes, 5 s per change at most.
//   node --conditions=tessera-source --import tsx bench/client-registry.ts [N]
import { performance } from "node:perf_hooks";
import { createTesseraServer } from "../src/server/tessera-server.js";
import { adminConfig, adminToken, connectAdmin } from "../test/helpers/client-admin.js";
import { startRedisServer } from "../test/helpers/redis-server.js";

const N = Math.min(5000, Number(process.argv[2] ?? 500));
const FILES = "https://files.example.com";

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

/** Resolves once `check` holds, checking on every turn of the event loop (where a pub/sub message lands); rejects after 5 s. */
function whenHolds(check: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (performance.now() > deadline) reject(new Error("the change did not reach replica B within 5 s"));
      else setImmediate(poll);
    };
    poll();
  });
}

const redis = await startRedisServer();
const config = adminConfig({ redisUrl: redis.url, issuer: "https://tessera.example.com" });
const kek = { id: "bench-kek", key: Buffer.alloc(32, 7) };
const a = await createTesseraServer({ config, kek });
const b = await createTesseraServer({ config, kek });
try {
  const admin = connectAdmin(a.httpUrl, await adminToken(a.httpUrl));
  const fromAck: number[] = [];
  const fromRequest: number[] = [];
  for (let i = 0; i < 2 * N; i++) {
    const id = `bench-${i % N}`;
    const lifetime = 60 + (i % 600);
    const started = performance.now();
    if (i < N) await admin.createClient({ client: { clientId: id, grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    else await admin.updateClient({ client: { clientId: id, tokenLifetimeSeconds: lifetime }, updateMask: { paths: ["token_lifetime_seconds"] } });
    const acknowledged = performance.now();
    await whenHolds(() => {
      const client = b.context.clients.get(id);
      return client !== undefined && (i < N || client.tokenLifetimeSeconds === lifetime);
    });
    const seen = performance.now();
    if (i >= 20) {
      // The first changes warm both processes' code paths up.
      fromAck.push(seen - acknowledged);
      fromRequest.push(seen - started);
    }
  }
  process.stdout.write(
    `client registry, 2 replicas, ${fromAck.length} changes (creates and updates) through A, seen in B's memory:\n` +
      `  after A acknowledged: ${percentiles(fromAck)}\n` +
      `  from the request's start: ${percentiles(fromRequest)}\n`,
  );
} finally {
  await Promise.all([a.stop(), b.stop()]);
  await redis.destroy();
}
