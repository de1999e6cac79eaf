// Redis losing its data (a restart without persistence, FLUSHALL) under two Tessera replicas: keys and
// revocations are re-seeded from the replicas' memory, no answer is wrong, readiness is false while a
// replica cannot vouch for its answers. Plus waitReplicas following the topology.
// Every load is bounded in count and time; every wait polls with a deadline.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { Redis } from "ioredis";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { TesseraConfig } from "../../src/config/types.js";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { KeyLayout } from "../../src/store/redis/key-layout.js";
import { fastFailOptions } from "../../src/store/redis/redis-client.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { until } from "../helpers/wait.js";
import { grpcJsApi } from "../helpers/token-service-clients.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";

const TEST_KEK = { id: "test-kek", key: randomBytes(32) };
const ISSUER = "http://tessera.test";
const CALENDAR = "https://calendar.example.com";
const billing = basicAuthorization("billing", SECRETS.basic);
const calendar = basicAuthorization("calendar", SECRETS.other);

let redis: RedisServer;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  // No persistence at all (--save "" --appendonly no): a restart comes back empty.
  redis = await startRedisServer();
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await redis.destroy();
});

interface Answer {
  status: number;
  json: Record<string, unknown> | undefined;
}

async function post(base: string, path: string, form: Record<string, string>, authorization: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const issue = (base: string) => post(base, "/oauth2/token", { grant_type: "client_credentials", resource: CALENDAR }, billing);
const introspect = (base: string, token: string) => post(base, "/oauth2/introspect", { token }, calendar);
const revoke = (base: string, token: string) => post(base, "/oauth2/revoke", { token }, billing);
const readyz = async (base: string) => (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) })).status;

async function tokenFrom(base: string): Promise<string> {
  const r = await issue(base);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json!.access_token as string;
}

/** Two replicas of one Tessera (same issuer, same key prefix) on the test's Redis. */
async function startReplicas(change: (config: TesseraConfig) => TesseraConfig = (c) => c): Promise<{ replicas: TesseraServer[]; prefix: string }> {
  const prefix = `loss-${randomUUID().slice(0, 8)}:`;
  const { config } = await fixtureConfig({ issuer: ISSUER });
  const full = change({ ...config, redis: { url: redis.url, keyPrefix: prefix, waitReplicas: 0, waitTimeoutMs: 500, commandTimeoutMs: 1000 } });
  const replicas: TesseraServer[] = [];
  for (let i = 0; i < 2; i++) {
    const server = await startCapturedServer({ config: full, kek: TEST_KEK });
    cleanups.push(() => server.stop());
    replicas.push(server);
  }
  for (const r of replicas) await until(async () => ((await readyz(r.httpUrl)) === 200 ? true : undefined), `${r.httpUrl}/readyz`);
  return { replicas, prefix };
}

async function admin(): Promise<Redis> {
  const client = new Redis(redis.url, { ...fastFailOptions(2000), enableOfflineQueue: true });
  client.on("error", () => {});
  cleanups.push(() => client.disconnect());
  return client;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

describe("Redis loses its data under two replicas", () => {
  test("kill -9 and restart without persistence under load: no revoked token accepted, no valid token inactive, keys and revocations re-seeded", async () => {
    const { replicas, prefix } = await startReplicas();
    const bases = replicas.map((r) => r.httpUrl);
    const epochBefore = await redis.cli("GET", `${prefix}{keys}:epoch`);

    // Tokens from both replicas; half of them revoked (on either replica) before the loss.
    const valid = new Set<string>();
    const revoked = new Map<string, number>(); // token → when its revocation was acknowledged (ms)
    const attempted = new Set<string>(); // revocations sent, acknowledged or not
    for (let i = 0; i < 40; i++) valid.add(await tokenFrom(bases[i % 2]!));
    for (const token of [...valid].slice(0, 20)) {
      attempted.add(token);
      assert.equal((await revoke(pick(bases), token)).status, 200);
      valid.delete(token);
      revoked.set(token, Date.now());
    }
    const revokedBeforeLoss = [...revoked.keys()];
    // A resource server's verifier following the revocation feed on a Redis connection of its own.
    const feed = createRedisStore({ config: { url: redis.url, keyPrefix: prefix, waitTimeoutMs: 500, commandTimeoutMs: 1000 } });
    cleanups.push(() => feed.close());
    await until(() => (feed.health.up ? true : undefined), "the verifier's store to connect");
    const verifier = remoteVerifier({ issuer: ISSUER, jwksUrl: `${bases[0]}/.well-known/jwks.json`, revocations: feed.denyList });
    await verifier.start();
    cleanups.push(() => verifier.stop());

    const counts = { requests: 0, unavailable: 0, revokedAccepted: 0, revokedAcceptedAfterRecovery: 0, wrongInactive: 0, issued: 0, revokedDuringLoad: 0 };
    let recoveredAt = Infinity;
    let stop = false;
    const deadline = Date.now() + 25_000;

    const worker = async () => {
      for (let i = 0; i < 1500 && !stop && Date.now() < deadline; i++) {
        const base = pick(bases);
        const op = Math.random();
        const started = Date.now();
        counts.requests++;
        try {
          if (op < 0.1) {
            const r = await issue(base);
            if (r.status === 200) {
              valid.add(r.json!.access_token as string);
              counts.issued++;
            } else assert.equal(r.status, 503, JSON.stringify(r.json));
          } else if (op < 0.15 && valid.size > 5) {
            const token = pick([...valid]);
            valid.delete(token);
            attempted.add(token);
            const r = await revoke(base, token);
            if (r.status === 200) {
              revoked.set(token, Date.now());
              counts.revokedDuringLoad++;
            } else assert.equal(r.status, 503, JSON.stringify(r.json));
          } else {
            const all = [...valid, ...revoked.keys()];
            const token = pick(all);
            const ackedAt = revoked.get(token);
            const r = await introspect(base, token);
            if (r.status === 503) {
              counts.unavailable++;
              continue;
            }
            assert.equal(r.status, 200, JSON.stringify(r.json));
            const active = r.json!.active === true;
            if (ackedAt !== undefined && ackedAt < started && active) {
              counts.revokedAccepted++;
              if (started > recoveredAt) counts.revokedAcceptedAfterRecovery++;
            }
            if (!attempted.has(token) && !active) counts.wrongInactive++;
          }
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          counts.unavailable++; // a connection refused while the replica's Redis calls fail is not an answer
        }
      }
    };

    const chaos = async () => {
      await until(() => (counts.requests > 200 ? true : undefined), "load to start", 10_000);
      await redis.kill9();
      await until(() => (counts.unavailable > 0 ? true : undefined), "requests to fail while Redis is down", 10_000);
      await redis.start();
      await until(async () => ((await Promise.all(bases.map(readyz))).every((s) => s === 200) ? true : undefined), "both replicas ready again", 15_000);
      recoveredAt = Date.now();
      const requestsAtRecovery = counts.requests;
      await until(() => (counts.requests > requestsAtRecovery + 300 || Date.now() > deadline - 2000 ? true : undefined), "load after recovery", 20_000);
      stop = true;
    };

    await Promise.all([worker(), worker(), worker(), worker(), chaos()]);
    process.stdout.write(`# data loss under load: ${JSON.stringify(counts)}\n`);
    assert.ok(recoveredAt < Infinity, "recovered");
    assert.equal(counts.wrongInactive, 0, "a valid token was answered active:false");
    assert.equal(counts.revokedAcceptedAfterRecovery, 0, "a revoked token was answered active:true after recovery");

    // The ring came back under a new epoch, with the keys the replicas held; the revocations are back in Redis.
    const epochAfter = await redis.cli("GET", `${prefix}{keys}:epoch`);
    assert.ok(epochBefore !== "" && epochAfter !== "" && epochAfter !== epochBefore, "a new epoch");
    assert.notEqual(await redis.cli("GET", `${prefix}{rev}:epoch`), "", "the revocation marker is back");
    const layout = new KeyLayout(prefix);
    for (const token of revokedBeforeLoss) {
      assert.equal(await redis.cli("EXISTS", layout.deny(ISSUER, decodeJwt(token).jti!)), "1", "an acknowledged revocation re-seeded into Redis");
    }

    // The verifier still refuses every revocation acknowledged before or during the loss.
    for (const token of revoked.keys()) await assert.rejects(verifier.verify(token), "a revoked token refused by the verifier");
    for (const token of valid) if (!attempted.has(token)) await verifier.verify(token);

    // Every answer is right on both replicas, and each verifies what the other signs now.
    for (const base of bases) {
      for (const token of revoked.keys()) assert.equal((await introspect(base, token)).json!.active, false);
      for (const token of valid) if (!attempted.has(token)) assert.equal((await introspect(base, token)).json!.active, true);
    }
    const fromA = await tokenFrom(bases[0]!);
    const fromB = await tokenFrom(bases[1]!);
    assert.equal((await introspect(bases[1]!, fromA)).json!.active, true);
    assert.equal((await introspect(bases[0]!, fromB)).json!.active, true);
    assert.equal((await revoke(bases[1]!, fromA)).status, 200);
    assert.equal((await introspect(bases[0]!, fromA)).json!.active, false);
  });

  test("FLUSHALL with Redis refusing writes: not ready (HTTP and gRPC) while the replicas cannot re-seed, answers stay right, ready once they have", async () => {
    const { replicas, prefix } = await startReplicas((c) => ({
      ...c,
      signing: { ...c.signing, rotation: { ...c.signing.rotation, checkIntervalSeconds: 1 } },
    }));
    const [a, b] = replicas.map((r) => r.httpUrl) as [string, string];
    const grpc = grpcJsApi(replicas[0]!.grpcAddress);
    cleanups.push(() => grpc.close());
    const kept = await tokenFrom(a);
    const gone = await tokenFrom(b);
    assert.equal((await revoke(a, gone)).status, 200);
    // Both replicas hold the revocation (B through the feed) before Redis loses it.
    await until(async () => ((await introspect(b, gone)).json!.active === false ? true : undefined), "B to see the revocation");

    const client = await admin();
    // Atomically: the data is gone, and every write fails (OOM) while reads and PING still answer.
    await client.multi().flushall().config("SET", "maxmemory", "1").exec();
    cleanups.push(() => void client.config("SET", "maxmemory", "0").catch(() => {}));
    try {
      for (const base of [a, b]) await until(async () => ((await readyz(base)) === 503 ? true : undefined), `${base}/readyz to report 503`, 10_000, 20);
      assert.equal((await grpc.healthCheck("")).status, ServingStatus.NOT_SERVING);
      assert.equal(await client.ping(), "PONG", "Redis itself answers");
      // Meanwhile no wrong answer: the revoked token stays inactive (held in memory), the valid one is never inactive.
      for (const base of [a, b]) {
        assert.equal((await introspect(base, gone)).json!.active, false);
        const answer = await introspect(base, kept);
        assert.ok(answer.status === 503 || answer.json!.active === true, JSON.stringify(answer));
      }
    } finally {
      await client.config("SET", "maxmemory", "0");
    }
    for (const base of [a, b]) await until(async () => ((await readyz(base)) === 200 ? true : undefined), `${base}/readyz to recover`, 10_000, 20);
    assert.equal((await grpc.healthCheck("")).status, ServingStatus.SERVING);
    assert.notEqual(await client.get(`${prefix}{keys}:ring`), null, "the ring was re-seeded");
    assert.equal(await client.exists(new KeyLayout(prefix).deny(ISSUER, decodeJwt(gone).jti!)), 1, "the revocation was re-seeded");
    for (const base of [a, b]) {
      assert.equal((await introspect(base, kept)).json!.active, true);
      assert.equal((await introspect(base, gone)).json!.active, false);
    }
  });
});

describe("waitReplicas follows the topology when not set", () => {
  test("standalone without replicas: 0; a primary with a connected replica: 1, and a revocation waits for it (fails closed when it is gone)", async () => {
    const primary = await startRedisServer();
    cleanups.push(() => primary.destroy());
    const alone = createRedisStore({ config: { url: primary.url, keyPrefix: "topo:", waitTimeoutMs: 300, commandTimeoutMs: 1000 } });
    cleanups.push(() => alone.close());
    await until(() => (alone.health.up ? true : undefined), "the store to connect");
    assert.equal(await alone.denyList.waitReplicas(), 0);
    await alone.denyList.revoke(ISSUER, "alone", Date.now() / 1000 + 60);

    const replica = await startRedisServer({ extraArgs: ["--replicaof", "127.0.0.1", String(primary.port)] });
    cleanups.push(() => replica.destroy());
    await until(async () => ((await primary.cli("INFO", "replication")).includes("state=online") ? true : undefined), "the replica to be in sync");
    const store = createRedisStore({ config: { url: primary.url, keyPrefix: "topo:", waitTimeoutMs: 1000, commandTimeoutMs: 1000 } });
    cleanups.push(() => store.close());
    await until(() => (store.health.up ? true : undefined), "the store to connect");
    assert.equal(await store.denyList.waitReplicas(), 1);
    await store.denyList.revoke(ISSUER, "confirmed", Date.now() / 1000 + 60);
    await until(
      async () => ((await replica.cli("EXISTS", new KeyLayout("topo:").deny(ISSUER, "confirmed"))) === "1" ? true : undefined),
      "the replica to hold it",
    );

    // The replica gone: revocations fail closed (503) rather than go unconfirmed, even once asked again.
    await replica.kill9();
    await until(async () => ((await primary.cli("INFO", "replication")).includes("connected_slaves:0") ? true : undefined), "the primary to see it gone");
    // A reconnection makes the store ask again: the primary now reports no replica, and it keeps waiting for one.
    const reconnected = new Promise((resolve) => store.client.once("ready", resolve));
    await primary.cli("CLIENT", "KILL", "TYPE", "normal");
    await reconnected;
    assert.equal(await store.denyList.waitReplicas(), 1, "still 1: a replica that dropped out may be promoted");
    await assert.rejects(store.denyList.revoke(ISSUER, "unconfirmed", Date.now() / 1000 + 60), TemporarilyUnavailableError);
    // An explicit setting wins over the topology.
    const explicit = createRedisStore({ config: { url: primary.url, keyPrefix: "topo:", waitReplicas: 0, waitTimeoutMs: 300, commandTimeoutMs: 1000 } });
    cleanups.push(() => explicit.close());
    assert.equal(await explicit.denyList.waitReplicas(), 0);
  });
});
