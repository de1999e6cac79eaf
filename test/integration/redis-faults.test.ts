// Tessera on a real Redis, under faults: replicas sharing one Redis, kill -9 of redis-server during
// load, Redis stopped and started again, failed-authentication throttling, replica acknowledgement.
// Every load is bounded in count and time; every wait polls with a deadline.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exportPKCS8, generateKeyPair } from "jose";
import { Redis } from "ioredis";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import type { RedisConfig, TesseraConfig } from "../../src/config/types.js";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { fastFailOptions } from "../../src/store/redis/redis-client.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { clientAssertion, CLIENT_ASSERTION_TYPE } from "../helpers/assertions.js";
import { logLine, spawnTessera, type Spawned } from "../helpers/child-process.js";
import { basicAuthorization, clientKeyPair, fixtureConfig, SECRETS, type ClientKeyPair } from "../helpers/fixtures.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { until } from "../helpers/wait.js";
import { callFails, connectApi, grpcJsApi } from "../helpers/token-service-clients.js";
import { randomBytes } from "node:crypto";

/** The key-encryption key every replica of these tests shares (signing keys live in Redis, sealed under it). */
const TEST_KEK = { id: "test-kek", key: randomBytes(32) };

const CALENDAR = "https://calendar.example.com";
let redis: RedisServer;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  // AOF with fsync on every write: an acknowledged write survives kill -9.
  redis = await startRedisServer({ appendfsync: "always" });
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await redis.destroy();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown> | undefined;
}

/** POSTs a form over HTTP/1.1 (a fresh connection, optionally from another loopback address). */
function post(base: string, path: string, form: Record<string, string>, options: { authorization?: string; localAddress?: string } = {}): Promise<Answer> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          ...(options.authorization ? { authorization: options.authorization } : {}),
        },
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("request timed out")));
    req.once("error", reject);
    req.end(body);
  });
}

const billing = basicAuthorization("billing", SECRETS.basic);
const calendar = basicAuthorization("calendar", SECRETS.other);

async function tokenFor(base: string): Promise<string> {
  const r = await post(base, "/oauth2/token", { grant_type: "client_credentials", resource: CALENDAR }, { authorization: billing });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json!.access_token as string;
}

async function assertionForm(issuer: string, keyPair: ClientKeyPair): Promise<Record<string, string>> {
  const assertion = await clientAssertion({ clientId: "keyed", audience: issuer, key: keyPair.privateKey, alg: "ES256", now: Math.floor(Date.now() / 1000) });
  return { grant_type: "client_credentials", client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion };
}

function redisConfig(): RedisConfig {
  return { url: redis.url, keyPrefix: `faults-${randomUUID().slice(0, 8)}:`, waitReplicas: 0, waitTimeoutMs: 500, commandTimeoutMs: 1000 };
}

/** An in-process Tessera over the fixture clients, its state in the test's Redis. */
async function startServer(change: Partial<TesseraConfig> = {}): Promise<{ server: TesseraServer; keyPair: ClientKeyPair }> {
  const { config, keyPair } = await fixtureConfig({ issuerFromListener: true });
  const server = await startCapturedServer({ config: { ...config, redis: redisConfig(), ...change }, kek: TEST_KEK });
  cleanups.push(() => server.stop());
  return { server, keyPair };
}

async function readyz(base: string): Promise<number> {
  return (await fetch(`${base}/readyz`)).status;
}

describe("two Tessera processes sharing one Redis", () => {
  test("50 parallel copies of one client assertion across both: exactly one token; a revocation on one is seen by the other", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-two-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const signing = await generateKeyPair("ES256", { extractable: true });
    writeFileSync(join(dir, "signing.pem"), await exportPKCS8(signing.privateKey));
    const keyPair = await clientKeyPair();
    const issuer = "http://tessera.test";
    const config = {
      issuer,
      signing: { algorithm: "ES256", keyFile: join(dir, "signing.pem") },
      redis: { keyPrefix: `two-${randomUUID().slice(0, 8)}:` },
      clients: [
        { id: "keyed", authMethod: "private_key_jwt", jwks: { keys: [keyPair.publicJwk] }, grants: [{ audience: CALENDAR, scopes: ["event.view"] }] },
        {
          id: "billing",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(SECRETS.basic)],
          grants: [{ audience: CALENDAR, scopes: ["event.view"] }],
        },
        { id: "calendar", authMethod: "client_secret_basic", secretHashes: [hashClientSecret(SECRETS.other)], audiences: [CALENDAR], introspection: true },
      ],
    };
    writeFileSync(join(dir, "tessera.yaml"), JSON.stringify(config, null, 2));
    const env = { REDIS_URL: redis.url, TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0", TESSERA_KEK: Buffer.from(TEST_KEK.key).toString("base64url") };
    const children: Spawned[] = [
      spawnTessera(["serve", "--config", join(dir, "tessera.yaml")], env),
      spawnTessera(["serve", "--config", join(dir, "tessera.yaml")], env),
    ];
    cleanups.push(() => children.forEach((c) => c.kill()));
    const urls = await Promise.all(children.map(async (c) => (await logLine(c, "tessera listening", 30_000)).http as string));
    for (const url of urls) await until(async () => ((await readyz(url)) === 200 ? true : undefined), `${url}/readyz`);

    const form = await assertionForm(issuer, keyPair);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(urls[i % 2]!, "/oauth2/token", form)));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, `exactly one token: ${statuses.join(",")}`);
    assert.ok(answers.every((a) => a.status === 200 || (a.status === 401 && a.json!.error === "invalid_client")));
    t.diagnostic(`one assertion, 50 copies on 2 replicas: 1 token, ${statuses.filter((s) => s === 401).length} invalid_client`);

    const [a, b] = urls as [string, string];
    const token = await tokenFor(a);
    for (const url of [b, a]) {
      const r = await post(url, "/oauth2/introspect", { token }, { authorization: calendar });
      assert.equal(r.json!.active, true, "active on both (and now cached)");
    }
    assert.equal((await post(a, "/oauth2/revoke", { token }, { authorization: billing })).status, 200);
    for (const url of [b, a]) assert.deepEqual((await post(url, "/oauth2/introspect", { token }, { authorization: calendar })).json, { active: false });
  });
});

describe("kill -9 of redis-server during revocations and introspections", () => {
  test("no acknowledged revocation is ever reported active; all are in force after the restart", async (t) => {
    const { server } = await startServer();
    const base = server.httpUrl;
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) tokens.push(...(await Promise.all(Array.from({ length: 10 }, () => tokenFor(base)))));

    const acknowledged = new Map<string, number>();
    const queue = [...tokens];
    const counts = { revoke503: 0, introspect503: 0, active: 0, inactive: 0, violations: 0 };
    let killedAt = 0;
    let recoveredAt = 0;
    const deadline = Date.now() + 30_000;
    const unexpected: string[] = [];

    const revoker = async () => {
      while (queue.length > 0 && Date.now() < deadline) {
        const token = queue.shift()!;
        const r = await post(base, "/oauth2/revoke", { token }, { authorization: billing });
        if (r.status === 200) {
          acknowledged.set(token, Date.now());
          if (killedAt && !recoveredAt) recoveredAt = Date.now();
        } else if (r.status === 503) {
          counts.revoke503++;
          assert.ok(r.headers["retry-after"], "503 carries Retry-After");
          queue.push(token);
          await new Promise((resolve) => setTimeout(resolve, 20));
        } else unexpected.push(`revoke ${r.status} ${JSON.stringify(r.json)}`);
      }
    };
    const introspector = async () => {
      while ((queue.length > 0 || acknowledged.size < tokens.length) && Date.now() < deadline && unexpected.length === 0) {
        const token = tokens[Math.floor(Math.random() * tokens.length)]!;
        const sentAt = Date.now();
        const r = await post(base, "/oauth2/introspect", { token }, { authorization: calendar });
        if (r.status === 503) {
          counts.introspect503++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        } else if (r.status === 200 && r.json!.active === true) {
          counts.active++;
          const ackedAt = acknowledged.get(token);
          if (ackedAt !== undefined && ackedAt < sentAt) counts.violations++;
        } else if (r.status === 200) counts.inactive++;
        else unexpected.push(`introspect ${r.status} ${JSON.stringify(r.json)}`);
      }
    };
    const chaos = async () => {
      await until(() => (acknowledged.size >= 30 ? true : undefined), "30 acknowledged revocations", 15_000, 5);
      await redis.kill9();
      killedAt = Date.now();
      await until(() => (counts.revoke503 + counts.introspect503 >= 10 ? true : undefined), "requests to meet the outage", 10_000, 5);
      await redis.start();
    };
    await Promise.all([revoker(), revoker(), introspector(), introspector(), introspector(), chaos()]);

    assert.deepEqual(unexpected, []);
    assert.equal(acknowledged.size, tokens.length, "every revocation was acknowledged in the end");
    assert.equal(counts.violations, 0, "no acknowledged revocation was reported active");
    assert.ok(counts.active > 0 && counts.revoke503 + counts.introspect503 >= 10);
    for (const token of tokens) {
      const r = await post(base, "/oauth2/introspect", { token }, { authorization: calendar });
      assert.deepEqual(r.json, { active: false }, "still revoked after the restart from the AOF");
    }
    t.diagnostic(
      `100 tokens; ${counts.active} active / ${counts.inactive} inactive introspections; 503s during the outage: ${counts.revoke503} revoke, ${counts.introspect503} introspect; ` +
        `first acknowledged revocation ${recoveredAt - killedAt} ms after kill -9 (includes the restart)`,
    );
  });
});

describe("Redis stopped, then started again", () => {
  test("what depends on Redis answers 503/UNAVAILABLE with Retry-After; not ready; the same server recovers", async () => {
    const { server, keyPair } = await startServer();
    const base = server.httpUrl;
    const grpc = grpcJsApi(server.grpcAddress);
    const connect = connectApi(base, "connect-h1");
    cleanups.push(
      () => grpc.close(),
      () => connect.close(),
    );
    const token = await tokenFor(base);
    assert.equal(await readyz(base), 200);

    await redis.stop();
    await until(async () => ((await readyz(base)) === 503 ? true : undefined), "/readyz to report 503", 5000, 20);
    assert.equal((await grpc.healthCheck("")).status, ServingStatus.NOT_SERVING);
    assert.equal((await grpc.healthCheck("tessera.v1.TokenService")).status, ServingStatus.NOT_SERVING);

    const answers = {
      "token with a client assertion": await post(base, "/oauth2/token", await assertionForm(server.issuer, keyPair)),
      introspection: await post(base, "/oauth2/introspect", { token }, { authorization: calendar }),
      revocation: await post(base, "/oauth2/revoke", { token }, { authorization: billing }),
    };
    for (const [what, r] of Object.entries(answers)) {
      assert.equal(r.status, 503, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json!.error, "temporarily_unavailable", what);
      assert.match(String(r.headers["retry-after"]), /^\d+$/, `${what}: Retry-After`);
    }
    // A client secret needs no shared state; throttling fails open.
    assert.equal((await post(base, "/oauth2/token", { grant_type: "client_credentials", resource: CALENDAR }, { authorization: billing })).status, 200);

    const assertion = (await assertionForm(server.issuer, keyPair)).client_assertion!;
    const client = { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion };
    for (const [what, call] of [
      ["IssueToken", () => grpc.issueToken({ client })],
      ["Introspect", () => grpc.introspect({ token }, calendar)],
      ["Revoke", () => grpc.revoke({ token }, billing)],
      ["Connect Introspect", () => connect.introspect({ token }, calendar)],
    ] as const) {
      const api = what.startsWith("Connect") ? connect : grpc;
      const err = await callFails(api, call());
      assert.equal(err.code, 14, `${what}: UNAVAILABLE`);
      assert.equal(err.detail?.error, "temporarily_unavailable", what);
    }

    await redis.start();
    await until(async () => ((await readyz(base)) === 200 ? true : undefined), "/readyz to recover", 10_000, 20);
    assert.equal((await grpc.healthCheck("")).status, ServingStatus.SERVING);
    assert.equal((await grpc.healthCheck("tessera.v1.TokenService")).status, ServingStatus.SERVING);
    assert.equal((await post(base, "/oauth2/token", await assertionForm(server.issuer, keyPair))).status, 200);
    assert.equal((await post(base, "/oauth2/introspect", { token }, { authorization: calendar })).json!.active, true);
    assert.equal((await post(base, "/oauth2/revoke", { token }, { authorization: billing })).status, 200);
    assert.deepEqual((await grpc.introspect({ token }, calendar)).active, false);
  });
});

describe("failed-authentication throttling per (client, source)", () => {
  test("429 / RESOURCE_EXHAUSTED after the threshold, for that pair only; nothing refused for want of Redis", async () => {
    const { server } = await startServer({
      rateLimit: { failures: 3, windowSeconds: 60, perClient: { introspections: 0, revocations: 0, windowSeconds: 60 } },
    });
    const base = server.httpUrl;
    const grpc = grpcJsApi(server.grpcAddress);
    cleanups.push(() => grpc.close());
    const wrong = basicAuthorization("billing", "not-the-secret-0123456789abcdef0123456789abcdef");
    const form = { grant_type: "client_credentials", resource: CALENDAR };
    for (let i = 0; i < 3; i++) assert.equal((await post(base, "/oauth2/token", form, { authorization: wrong })).status, 401);

    const limited = await post(base, "/oauth2/token", form, { authorization: billing });
    assert.equal(limited.status, 429, "refused before the (right) secret is even checked");
    assert.ok(Number(limited.headers["retry-after"]) > 0 && Number(limited.headers["retry-after"]) <= 60);
    const err = await callFails(grpc, grpc.issueToken({ resource: CALENDAR }, billing));
    assert.equal(err.code, 8, "RESOURCE_EXHAUSTED over gRPC from the same address");
    assert.equal(
      (await post(base, "/oauth2/token", form, { authorization: billing, localAddress: "127.0.0.2" })).status,
      200,
      "another source is not locked out",
    );
    const reporter = { ...form, client_id: "reporter", client_secret: SECRETS.post };
    assert.equal((await post(base, "/oauth2/token", reporter)).status, 200, "another client is not affected");

    await redis.stop();
    try {
      for (let i = 0; i < 4; i++) {
        assert.equal(
          (await post(base, "/oauth2/token", form, { authorization: wrong, localAddress: "127.0.0.3" })).status,
          401,
          "fails open: invalid_client, not 503",
        );
      }
      assert.equal(
        (await post(base, "/oauth2/token", form, { authorization: billing, localAddress: "127.0.0.3" })).status,
        200,
        "fails open: failures that cannot be counted block nobody",
      );
      assert.equal((await post(base, "/oauth2/token", form, { authorization: billing })).status, 429, "a block learned before the outage still holds");
    } finally {
      await redis.start();
    }
  });
});

describe("waitReplicas: 1", () => {
  test("a revocation is acknowledged only once a replica has it", async () => {
    // No 5 s wait before the replica's first (diskless) sync.
    const primary = await startRedisServer({ extraArgs: ["--repl-diskless-sync-delay", "0"] });
    const replica = await startRedisServer({ extraArgs: ["--replicaof", "127.0.0.1", String(primary.port)] });
    cleanups.push(
      () => replica.destroy(),
      () => primary.destroy(),
    );
    await until(async () => ((await replica.cli("INFO", "replication")).includes("master_link_status:up") ? true : undefined), "the replica to sync");
    const client = new Redis(primary.url, fastFailOptions(1000));
    client.on("error", () => {});
    await new Promise((resolve) => client.once("ready", resolve));
    // Generous: on a loaded 2-core CI machine a replica can take longer than 200 ms to acknowledge.
    const store = createRedisStore({ client }, { waitReplicas: 1, waitTimeoutMs: 2000, commandTimeoutMs: 3000 });
    cleanups.push(async () => {
      await store.close();
      client.disconnect();
    });
    const exp = Date.now() / 1000 + 60;
    await store.denyList.revoke("https://issuer.example", "confirmed", exp);
    assert.equal(await replica.cli("EXISTS", store.keys.deny("https://issuer.example", "confirmed")), "1", "on the replica when acknowledged");

    await replica.stop();
    await assert.rejects(store.denyList.revoke("https://issuer.example", "unconfirmed", exp), TemporarilyUnavailableError);
  });
});

describe("an ioredis client given to createTesseraServer", () => {
  test("is used for the shared state and never closed", async () => {
    const client = new Redis(redis.url, fastFailOptions(1000));
    client.on("error", () => {});
    await new Promise((resolve) => client.once("ready", resolve));
    cleanups.push(() => client.disconnect());
    const { config } = await fixtureConfig({ issuerFromListener: true });
    const settings = redisConfig();
    const server = await startCapturedServer({ config: { ...config, redis: { ...settings, url: "redis://127.0.0.1:1" } }, redis: client, kek: TEST_KEK });
    const token = await tokenFor(server.httpUrl);
    assert.equal((await post(server.httpUrl, "/oauth2/revoke", { token }, { authorization: billing })).status, 200);
    assert.equal(await client.zcard(`${settings.keyPrefix}{rev}:revoked`), 1, "the revocation went through the given client, with the configured prefix");
    await server.stop();
    assert.equal(client.status, "ready", "not closed by stop()");
    assert.equal(await client.ping(), "PONG");
  });
});
