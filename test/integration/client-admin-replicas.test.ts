// Two replicas over one real Redis: a client created, rotated, disabled or
// deleted through one is in force on the other (each holds the registry in
// memory, told by pub/sub); concurrent changes to one client from both never
// lose a write; disabling or deleting a client cuts off the tokens it holds.
// How fast a change reaches the other replica is measured here (reported, not
// asserted) and in bench/.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTesseraServer, type TesseraServer } from "../../src/server/tessera-server.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import type { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { adminConfig, adminToken, connectAdmin, requestToken } from "../helpers/client-admin.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { until } from "../helpers/wait.js";

const FILES = "https://files.example.com";
const ISSUER = "https://tessera.example.com";
let redis: RedisServer;
let a: TesseraServer;
let b: TesseraServer;
let verifier: TokenVerifier;
let adminA: ReturnType<typeof connectAdmin>;
let adminB: ReturnType<typeof connectAdmin>;

before(async () => {
  redis = await startRedisServer();
  // Each replica reads the whole set every second too (the data-loss test below waits for it).
  const config = adminConfig({ redisUrl: redis.url, issuer: ISSUER, resyncSeconds: 1 });
  const kek = { id: "test-kek", key: Buffer.alloc(32, 7) };
  a = await createTesseraServer({ config, kek });
  b = await createTesseraServer({ config, kek });
  adminA = connectAdmin(a.httpUrl, await adminToken(a.httpUrl));
  adminB = connectAdmin(b.httpUrl, await adminToken(b.httpUrl));
  // A resource server's verifier: keys from replica B's JWKS, revocations from Redis' feed (replica A's store).
  verifier = remoteVerifier({ issuer: ISSUER, jwksUrl: `${b.httpUrl}/.well-known/jwks.json`, revocations: a.revocations! });
  await verifier.start();
});
after(async () => {
  verifier?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.destroy();
});

function tokenFrom(server: TesseraServer, clientId: string, secret: string) {
  return requestToken(server.httpUrl, clientId, secret, { resource: FILES, scope: "file.view" });
}

async function verdict(token: string): Promise<"valid" | "refused"> {
  try {
    await verifier.verify(token);
    return "valid";
  } catch {
    return "refused";
  }
}

describe("two replicas, one Redis", () => {
  test("a client created on A gets a token from B; the change reaches B's memory within the bound", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `conv-${i}`;
      const started = performance.now();
      const created = await adminA.createClient({ client: { clientId: id, grants: [{ audience: FILES, scopes: ["file.view"] }] } });
      await until(() => b.context.clients.get(id), `${id} on replica B`, 5000, 1);
      latencies.push(performance.now() - started);
      if (i === 0) assert.equal((await tokenFrom(b, id, created.clientSecret)).status, 200);
    }
    latencies.sort((x, y) => x - y);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    // From the request to A until B holds the client (the whole call included; polled every millisecond).
    console.log(`# replica convergence over ${latencies.length} creates: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms`);
  });

  test("rotation: both secrets valid on both replicas in between; the removed one refused on both", async () => {
    const created = await adminA.createClient({ client: { clientId: "rot", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    const added = await adminB.addClientSecret({ clientId: "rot" });
    await until(() => (a.context.clients.get("rot")?.secretDigests.length === 2 ? true : undefined), "second secret on A");
    for (const server of [a, b]) {
      assert.equal((await tokenFrom(server, "rot", created.clientSecret)).status, 200);
      assert.equal((await tokenFrom(server, "rot", added.clientSecret)).status, 200);
    }
    await adminA.removeClientSecret({ clientId: "rot", secretId: created.secretId });
    await until(() => (b.context.clients.get("rot")?.secretDigests.length === 1 ? true : undefined), "removal on B");
    for (const server of [a, b]) {
      assert.equal((await tokenFrom(server, "rot", created.clientSecret)).status, 401);
      assert.equal((await tokenFrom(server, "rot", added.clientSecret)).status, 200);
    }
  });

  test("concurrent updates of one client from both replicas never lose a write", async () => {
    await adminA.createClient({ client: { clientId: "contended", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    const rounds = 15;
    const calls: Promise<unknown>[] = [];
    for (let i = 1; i <= rounds; i++) {
      calls.push(adminA.updateClient({ client: { clientId: "contended", tokenLifetimeSeconds: 100 + i }, updateMask: { paths: ["token_lifetime_seconds"] } }));
      calls.push(adminB.updateClient({ client: { clientId: "contended", audiences: [`aud-${i}`] }, updateMask: { paths: ["audiences"] } }));
      calls.push(adminB.addClientSecret({ clientId: "contended" }).catch((err: unknown) => ConnectError.from(err).code));
    }
    const results = await Promise.all(calls);
    // Of the secret additions, exactly one fits beside the first secret; the others are refused, never lost nor a third.
    const secretAnswers = results.filter((_, i) => i % 3 === 2);
    assert.equal(secretAnswers.filter((r) => r === Code.InvalidArgument).length, rounds - 1);
    const final = (await adminB.getClient({ clientId: "contended" })).client!;
    assert.equal(final.secrets.length, 2);
    assert.ok(final.tokenLifetimeSeconds > 100 && final.tokenLifetimeSeconds <= 100 + rounds);
    assert.equal(final.audiences.length, 1);
    // 1 create + 2 × rounds updates + 1 secret: every successful write took a version of its own.
    const onA = (await adminA.getClient({ clientId: "contended" })).client!;
    assert.equal(onA.version, final.version);
  });

  test("disabling a client on A: its tokens from either replica are refused by a verifier; B issues no more", async () => {
    const created = await adminA.createClient({ client: { clientId: "to-disable", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    await until(() => b.context.clients.get("to-disable"), "client on B");
    const fromA = (await tokenFrom(a, "to-disable", created.clientSecret)).token!;
    const fromB = (await tokenFrom(b, "to-disable", created.clientSecret)).token!;
    assert.equal(await verdict(fromA), "valid");
    assert.equal(await verdict(fromB), "valid");
    await adminA.updateClient({ client: { clientId: "to-disable", enabled: false }, updateMask: { paths: ["enabled"] } });
    await until(async () => ((await verdict(fromA)) === "refused" && (await verdict(fromB)) === "refused" ? true : undefined), "tokens refused");
    await until(() => (b.context.clients.get("to-disable") === undefined ? true : undefined), "disabled on B");
    assert.equal((await tokenFrom(b, "to-disable", created.clientSecret)).status, 401);
  });

  test("deleting a client on B cuts off its tokens", async () => {
    const created = await adminB.createClient({ client: { clientId: "to-delete", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    const token = (await tokenFrom(b, "to-delete", created.clientSecret)).token!;
    assert.equal(await verdict(token), "valid");
    await adminB.deleteClient({ clientId: "to-delete" });
    await until(async () => ((await verdict(token)) === "refused" ? true : undefined), "token refused");
    await until(() => (a.context.clients.get("to-delete") === undefined ? true : undefined), "deleted on A");
    assert.equal((await tokenFrom(a, "to-delete", created.clientSecret)).status, 401);
  });

  test("the clients live in Redis under Tessera's prefix, with a version each", async () => {
    const keys = (await redis.cli("--scan", "--pattern", "admin-test:{clients}:*")).split("\n").sort();
    assert.deepEqual(keys, ["admin-test:{clients}:documents", "admin-test:{clients}:seq", "admin-test:{clients}:versions"]);
    const version = Number(await redis.cli("HGET", "admin-test:{clients}:versions", "rot"));
    assert.equal(BigInt(version), (await adminB.getClient({ clientId: "rot" })).client!.version);
    // No secret in the clear at rest: only hashes.
    const document = await redis.cli("HGET", "admin-test:{clients}:documents", "rot");
    assert.match(document, /"hash":"sha256:/);
  });
});

describe("Redis loses its data", () => {
  test("the replicas write the clients back from their copies: nothing is forgotten, tokens keep coming", async () => {
    const created = await adminA.createClient({ client: { clientId: "survivor", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    await until(() => b.context.clients.get("survivor"), "survivor on B");
    await redis.cli("FLUSHALL");
    await until(async () => ((await redis.cli("HEXISTS", "admin-test:{clients}:documents", "survivor")) === "1" ? true : undefined), "clients written back");
    const onB = (await adminB.getClient({ clientId: "survivor" })).client!;
    assert.ok(onB.version > created.client!.version, "a version above every version held before");
    await adminB.updateClient({ client: { clientId: "survivor", tokenLifetimeSeconds: 77 }, updateMask: { paths: ["token_lifetime_seconds"] } });
    await until(() => (a.context.clients.get("survivor")?.tokenLifetimeSeconds === 77 ? true : undefined), "the update on A");
    await until(async () => ((await tokenFrom(a, "survivor", created.clientSecret)).status === 200 ? true : undefined), "a token from A");
  });
});

describe("configuration fingerprints", () => {
  test("a replica whose configuration differs from the others' warns; the same one does not", async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, error: () => {}, warn: (message: string) => void warnings.push(message) };
    const kek = { id: "test-kek", key: Buffer.alloc(32, 7) };
    const same = await createTesseraServer({ config: adminConfig({ redisUrl: redis.url, issuer: ISSUER }), kek, logger });
    const base = adminConfig({ redisUrl: redis.url, issuer: ISSUER });
    const differing = { ...base, tokens: { ...base.tokens, lifetimeSeconds: 60 } };
    const other = await createTesseraServer({ config: differing, kek, logger });
    try {
      await until(() => (warnings.includes("this replica's configuration differs from other replicas'") ? true : undefined), "the warning");
      assert.equal(warnings.filter((w) => w.includes("differs")).length, 1, "only the differing replica warned");
    } finally {
      await Promise.all([same.stop(), other.stop()]);
    }
  });
});
