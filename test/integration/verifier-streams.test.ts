// remoteVerifier over WatchRevocations and WatchKeys against real Tessera replicas on a real Redis:
// the verifier's side has no Redis. Failover when a replica dies, Redis killed under the replicas
// (stale, fail closed, fail open), a start while every upstream is down, a key revoked on the stream,
// resuming from a cursor. Every wait polls with a deadline; every loop is bounded in count and time.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { decodeProtectedHeader } from "jose";
import type { TesseraConfig } from "../../src/config/types.js";
import { InvalidClientError, InvalidTokenError, TemporarilyUnavailableError, UnauthorizedClientError } from "../../src/errors/tessera-error.js";
import { revokeClientTokens } from "../../src/issuer/revoke-client-tokens.js";
import { RemoteKeySet } from "../../src/keys/remote-key-set.js";
import { httpJwksFetcher } from "../../src/keys/http-jwks-fetcher.js";
import { remoteVerifier, type RemoteVerifierOptions } from "../../src/remote/remote-verifier.js";
import { tokenServiceStreams } from "../../src/remote/token-service-streams.js";
import type { WatcherCredentials } from "../../src/remote/watcher-credentials.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { StreamRevocationFeed } from "../../src/verifier/stream-revocation-feed.js";
import { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { basicAuthorization, clientKeyPair, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { freePorts } from "../helpers/free-ports.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { until } from "../helpers/wait.js";
import { connectWatchClient } from "../helpers/watch-clients.js";

const KEK = { id: "streams-test", key: randomBytes(32) };
const ISSUER = "http://tessera.test";
const CALENDAR = "https://calendar.example.com";
const RULE = { kind: "bearer", audience: CALENDAR, allOf: [], anyOf: [], source: "method" } as const;
const HEARTBEAT_MS = 200;
/** The verifier's side: the watching service is the `calendar` client (a resource server), with its secret. */
const WATCHER = { clientId: "calendar", auth: { method: "client_secret_basic", secret: SECRETS.other } } as const;
const FAST = { heartbeatMs: HEARTBEAT_MS, retryDelayMs: { min: 20, max: 200 } };

/** The private_key_jwt client `keyed`'s key pair. */
const KEYED = await clientKeyPair();
let redis: RedisServer;
const cleanups: (() => Promise<void> | void)[] = [];
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await redis.destroy();
});

/** The configuration of one deployment's replicas: one issuer, one key prefix, the given HTTP port. */
async function replicaConfig(prefix: string): Promise<TesseraConfig> {
  const { config } = await fixtureConfig({ issuer: ISSUER, keyPair: KEYED });
  return {
    ...config,
    redis: { url: redis.url, keyPrefix: prefix, waitReplicas: 0, waitTimeoutMs: 500, commandTimeoutMs: 1000 },
    watch: { ...config.watch, heartbeatMs: HEARTBEAT_MS },
  };
}

/** A replica on a fixed HTTP port (so that it can come back on it), ready. */
async function startReplica(config: TesseraConfig, port: number): Promise<TesseraServer> {
  const server = await startCapturedServer({ config: { ...config, http: { ...config.http, port } }, kek: KEK });
  cleanups.push(() => server.stop());
  await until(async () => ((await fetch(`${server.httpUrl}/readyz`, { signal: AbortSignal.timeout(5000) })).status === 200 ? true : undefined), "readyz");
  return server;
}

async function deployment(count: number): Promise<{ config: TesseraConfig; ports: number[]; replicas: TesseraServer[] }> {
  const config = await replicaConfig(`streams-${randomUUID().slice(0, 8)}:`);
  const ports = await freePorts(count);
  const replicas: TesseraServer[] = [];
  for (const port of ports) replicas.push(await startReplica(config, port));
  return { config, ports, replicas };
}

async function oauth(base: string, path: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuthorization("billing", SECRETS.basic) },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  const text = await res.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
const issue = async (base: string) => (await oauth(base, "/oauth2/token", { grant_type: "client_credentials", resource: CALENDAR })).access_token as string;
const revoke = (base: string, token: string) => oauth(base, "/oauth2/revoke", { token });

type Outcome = "accepted" | "revoked" | "unavailable";
async function outcome(verifier: TokenVerifier, token: string): Promise<Outcome> {
  try {
    await verifier.check(`Bearer ${token}`, RULE);
    return "accepted";
  } catch (err) {
    if (err instanceof TemporarilyUnavailableError) return "unavailable";
    if (err instanceof InvalidTokenError && /revoked/.test(err.message)) return "revoked";
    throw err;
  }
}

/** Waits (polling every 2 ms, 5 s at most) until the verifier refuses the token as invalid. */
function refusedSoon(verifier: TokenVerifier, token: string, what: string): Promise<string> {
  return until(
    async () => {
      try {
        await verifier.check(`Bearer ${token}`, RULE);
        return undefined;
      } catch (err) {
        return err instanceof InvalidTokenError ? err.message : undefined;
      }
    },
    what,
    5000,
    2,
  );
}

function started(options: Omit<RemoteVerifierOptions, "issuer">): TokenVerifier {
  const verifier = remoteVerifier({ issuer: ISSUER, credentials: WATCHER, ...FAST, ...options });
  cleanups.push(() => verifier.stop());
  return verifier;
}

const url = (port: number) => `http://127.0.0.1:${port}`;

describe("remoteVerifier on Tessera's streams (no Redis on the verifier's side)", () => {
  test("a revocation on either replica reaches the verifier, over Connect and over gRPC; a client cut-off too", async () => {
    const { replicas } = await deployment(2);
    const [a, b] = replicas.map((r) => r.httpUrl) as [string, string];
    const overConnect = started({ endpoints: [a, b] });
    const overGrpc = started({ endpoints: [`http://${replicas[1]!.grpcAddress}`], protocol: "grpc", jwksUrl: `${b}/.well-known/jwks.json` });
    const verifiers = [overConnect, overGrpc];
    await Promise.all(verifiers.map((v) => v.start()));
    await Promise.all(verifiers.map((v) => v.revocationsLoaded()));
    const token = await issue(a);
    for (const v of verifiers) assert.equal(await outcome(v, token), "accepted");
    const sent = performance.now();
    await revoke(b, token);
    for (const v of verifiers)
      await until(async () => ((await outcome(v, token)) === "revoked" ? true : undefined), "the revocation to reach the verifier", 5000, 2);
    console.log(`# revocation on the other replica → refused by both verifiers: ${(performance.now() - sent).toFixed(1)} ms`);

    // Every token of billing issued before now is cut off (what disabling a client does).
    const cutOff = await issue(a);
    for (const v of verifiers) assert.equal(await outcome(v, cutOff), "accepted");
    await revokeClientTokens(replicas[0]!.context, "billing");
    for (const v of verifiers)
      await until(async () => ((await outcome(v, cutOff)) === "revoked" ? true : undefined), "the client cut-off to reach the verifier");
  });

  test("a replica killed mid-stream: the verifier fails over to the other and accepts no revoked token in between", async () => {
    const { replicas } = await deployment(2);
    const [a, b] = replicas as [TesseraServer, TesseraServer];
    const proxy = await startTcpProxy(Number(new URL(a.httpUrl).port));
    cleanups.push(() => proxy.close());
    const verifier = started({ endpoints: [url(proxy.port), b.httpUrl] });
    await verifier.start();
    await verifier.revocationsLoaded();
    const revoked = [await issue(b.httpUrl), await issue(b.httpUrl)];
    for (const token of revoked) await revoke(b.httpUrl, token);
    await until(async () => ((await outcome(verifier, revoked[1]!)) === "revoked" ? true : undefined), "the revocations to arrive");

    proxy.cut(); // the replica is gone for the verifier: every connection dropped, none accepted
    const killedAt = performance.now();
    await a.stop();
    // Revoked on the surviving replica while the verifier is between replicas: it may pass only until the
    // verifier has failed over (the propagation delay); the earlier ones are refused throughout.
    const later = await issue(b.httpUrl);
    await revoke(b.httpUrl, later);
    const deadline = Date.now() + 10_000;
    let laterRefused = false;
    for (let round = 0; round < 2000 && Date.now() < deadline; round++) {
      const [first, second, third] = await Promise.all([...revoked, later].map((t) => outcome(verifier, t)));
      assert.equal(first, "revoked", "a token revoked before the kill was accepted during the failover");
      assert.equal(second, "revoked", "a token revoked before the kill was accepted during the failover");
      if (laterRefused) assert.equal(third, "revoked", "a revocation once enforced was lost");
      else if (third === "revoked") {
        laterRefused = true;
        console.log(`# replica killed → a revocation on the other refused: ${(performance.now() - killedAt).toFixed(1)} ms`);
      }
      if (laterRefused && round > 50) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(laterRefused, "the verifier did not fail over");
    assert.equal(verifier.revocationStatus, "current");
    assert.equal(await outcome(verifier, await issue(b.httpUrl)), "accepted");
  });

  test("Redis killed under the replicas: the verifier goes stale and fails closed after the bound (or open if told); nothing revoked is accepted; it recovers", async () => {
    const { replicas } = await deployment(2);
    const endpoints = replicas.map((r) => r.httpUrl);
    const breaks: string[] = [];
    const closed = started({ endpoints, revocationStaleAfterSeconds: 1, onStreamBreak: (err) => breaks.push(String(err)) });
    const open = started({ endpoints, revocationStaleAfterSeconds: 1, revocationPolicy: "fail-open" });
    await Promise.all([closed.start(), open.start()]);
    await Promise.all([closed.revocationsLoaded(), open.revocationsLoaded()]);
    const valid = await issue(endpoints[0]!);
    const revokedToken = await issue(endpoints[0]!);
    await revoke(endpoints[1]!, revokedToken);
    for (const v of [closed, open]) await until(async () => ((await outcome(v, revokedToken)) === "revoked" ? true : undefined), "the revocation");

    await redis.kill9();
    const killedAt = performance.now();
    try {
      await until(() => (closed.revocationStatus === "stale" ? true : undefined), "the verifier to go stale", 10_000);
      const staleAfter = performance.now() - killedAt;
      assert.ok(
        breaks.some((b) => /unavailable/i.test(b)),
        `the replicas report the streams unavailable: ${breaks.join("; ")}`,
      );
      assert.ok(staleAfter >= 900, `stale after ${staleAfter} ms, before the 1 s bound`);
      assert.equal(await outcome(closed, valid), "unavailable");
      assert.equal(await outcome(closed, revokedToken), "unavailable");
      await until(() => (open.revocationStatus === "stale" ? true : undefined), "the fail-open verifier to go stale");
      assert.equal(await outcome(open, valid), "accepted");
      assert.equal(await outcome(open, revokedToken), "revoked");
    } finally {
      await redis.start();
    }
    await until(() => (closed.revocationStatus === "current" ? true : undefined), "the verifier to recover", 20_000);
    assert.equal(await outcome(closed, valid), "accepted");
    assert.equal(await outcome(closed, revokedToken), "revoked");
    assert.equal(await outcome(open, revokedToken), "revoked");
  });

  test("a verifier started while every upstream is down starts, answers UNAVAILABLE, and recovers by itself", async () => {
    const config = await replicaConfig(`streams-${randomUUID().slice(0, 8)}:`);
    const ports = await freePorts(3);
    // A replica the verifier does not know of issues the token; the verifier's two have nothing listening.
    const token = await issue((await startReplica(config, ports[2]!)).httpUrl);
    const verifier = started({ endpoints: ports.slice(0, 2).map(url) });
    await verifier.start(); // resolves although nothing answers
    assert.equal(verifier.revocationStatus, "loading");
    assert.equal(await outcome(verifier, token), "unavailable");
    await startReplica(config, ports[1]!);
    const deadline = Date.now() + 15_000;
    await until(async () => ((await outcome(verifier, token)) === "accepted" ? true : undefined), "the verifier to recover", deadline - Date.now());
    assert.equal(verifier.revocationStatus, "current");
  });

  test("credentials every replica refuses fail start() with the error model's answer, not an endless UNAVAILABLE", async () => {
    const { replicas } = await deployment(1);
    const endpoints = [replicas[0]!.httpUrl];
    const cases: [WatcherCredentials, new (...args: never[]) => Error][] = [
      [{ ...WATCHER, auth: { method: "client_secret_basic", secret: "wrong" } }, InvalidClientError],
      // billing calls services but is no resource server: it may not watch.
      [{ clientId: "billing", auth: { method: "client_secret_basic", secret: SECRETS.basic } }, UnauthorizedClientError],
      // keyed authenticates with a private_key_jwt assertion (accepted: the refusal is its role, not its key).
      [{ clientId: "keyed", auth: { method: "private_key_jwt", key: KEYED.privateKey, alg: "ES256", kid: KEYED.publicJwk.kid! } }, UnauthorizedClientError],
    ];
    for (const [credentials, refusal] of cases) {
      const verifier = remoteVerifier({ issuer: ISSUER, ...FAST, endpoints, credentials });
      await assert.rejects(verifier.start(), refusal, credentials.clientId);
      verifier.stop();
    }
  });

  test("a key revoked in an emergency is refused at once through WatchKeys, even for a token verified before", async () => {
    const { replicas } = await deployment(1);
    const replica = replicas[0]!;
    // Keys only (no revocation stream): the refusal can only come from WatchKeys' revoked_kids.
    const verifier = started({ endpoints: [replica.httpUrl], revocations: false, jwksCooldownMs: 3_600_000 });
    await verifier.start();
    const token = await issue(replica.httpUrl);
    assert.equal(await outcome(verifier, token), "accepted");
    const { kid } = decodeProtectedHeader(token);
    await replica.keyManager!.revoke(kid!);
    await refusedSoon(verifier, token, "the key revocation to arrive");
  });

  test("a key revoked on replica A reaches WatchKeys on replica B through the shared key ring; a verifier on B refuses its tokens at once", async () => {
    const { replicas } = await deployment(2);
    const [a, b] = replicas as [TesseraServer, TesseraServer];
    const watchClient = connectWatchClient(b.httpUrl, "connect-h2");
    cleanups.push(() => watchClient.close());
    const keys = watchClient.watch("watchKeys", {}, basicAuthorization(WATCHER.clientId, WATCHER.auth.secret));
    cleanups.push(() => keys.cancel());
    // Keys only, on B only: the refusal can only come from B's WatchKeys.
    const verifier = started({ endpoints: [b.httpUrl], revocations: false, jwksCooldownMs: 3_600_000 });
    await verifier.start();
    const token = await issue(a.httpUrl);
    const { kid } = decodeProtectedHeader(token);
    const first = await keys.next((m) => m.jwks!.keys.some((k) => k.kid === kid), "B's key set with A's signing key");
    assert.deepEqual(first.revokedKids, []);
    assert.equal(await outcome(verifier, token), "accepted");

    await a.keyManager!.revoke(kid!);
    const active = a.keyManager!.records().find((r) => r.state === "active")!.kid;
    assert.notEqual(active, kid);
    const changed = await keys.next((m) => m.revokedKids.includes(kid!), "the revoked kid on B's WatchKeys");
    const published = changed.jwks!.keys.map((k) => k.kid);
    assert.ok(!published.includes(kid!), "B no longer publishes the revoked key");
    assert.ok(published.includes(active), "B publishes the key A signs with now");
    await refusedSoon(verifier, token, "the verifier on B to refuse the revoked key's token");
    // B reloaded the ring: it signs with A's new key, and the verifier accepts that (pushed, not refetched).
    const fresh = await issue(b.httpUrl);
    assert.equal(decodeProtectedHeader(fresh).kid, active);
    assert.equal(await outcome(verifier, fresh), "accepted");
  });

  test("a stream cut resumes from its cursor; after a replica restart the verifier resumes or starts over from a snapshot; nothing is lost", async () => {
    const { config, ports, replicas } = await deployment(2);
    const [a, b] = replicas as [TesseraServer, TesseraServer];
    const proxy = await startTcpProxy(ports[0]!);
    cleanups.push(() => proxy.close());
    const feed = new StreamRevocationFeed({
      sources: [tokenServiceStreams(url(proxy.port), { credentials: WATCHER, issuer: ISSUER })],
      heartbeatMs: HEARTBEAT_MS,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 200,
    });
    const verifier = new TokenVerifier({
      issuer: ISSUER,
      keys: new RemoteKeySet({ fetch: httpJwksFetcher(`${a.httpUrl}/.well-known/jwks.json`) }),
      revocations: feed,
    });
    cleanups.push(() => verifier.stop());
    await verifier.start();
    await verifier.revocationsLoaded();
    const first = await issue(b.httpUrl);
    await revoke(b.httpUrl, first);
    await until(async () => ((await outcome(verifier, first)) === "revoked" ? true : undefined), "the first revocation");
    assert.equal(feed.stats.snapshots, 1);

    // The link drops, the replica stays: the verifier comes back with its cursor and gets only what it missed.
    proxy.cut();
    const missed = await issue(b.httpUrl);
    await revoke(b.httpUrl, missed);
    proxy.restore();
    await until(async () => ((await outcome(verifier, missed)) === "revoked" ? true : undefined), "the missed revocation", 10_000);
    assert.ok(feed.stats.breaks >= 1);
    assert.equal(feed.stats.snapshots, 1, "resumed from the cursor, no second snapshot");

    // The replica restarts: the cursor comes back; the replica answers with what was missed if its history
    // holds the position, else with a snapshot (docs/revocation-streams.md#the-cursor). Either way nothing is lost.
    proxy.cut();
    await a.stop();
    const whileDown = await issue(b.httpUrl);
    await revoke(b.httpUrl, whileDown);
    await startReplica(config, ports[0]!);
    proxy.restore();
    await until(async () => ((await outcome(verifier, whileDown)) === "revoked" ? true : undefined), "the revocation made while the replica was down", 15_000);
    assert.ok(feed.stats.snapshots <= 2, `${feed.stats.snapshots} snapshots: at most one for the restart`);
    for (const token of [first, missed, whileDown]) assert.equal(await outcome(verifier, token), "revoked");
  });
});
