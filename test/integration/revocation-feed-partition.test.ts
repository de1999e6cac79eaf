// A verifier following the Redis revocation feed across a real network
// partition: a TCP proxy on loopback between the verifier's connection and
// redis-server, cut and restored by the test. Revocations are written straight
// to Redis, as another Tessera replica would.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { SignJWT } from "jose";
import { CalendarService } from "../../examples/gen/example/calendar/v1/calendar_pb.js";
import { calendarConnect } from "../../examples/mesh/calendar-service.js";
import { protect } from "../../src/interceptors/connect/server.js";
import { createHttpListener } from "../../src/server/http-listener.js";
import { Redis } from "ioredis";
import { InvalidTokenError, TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { withDeadline } from "../../src/store/redis/redis-call.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import { RedisDenyList } from "../../src/store/redis/deny-list.js";
import { KeyLayout } from "../../src/store/redis/key-layout.js";
import { fastFailOptions } from "../../src/store/redis/redis-client.js";
import { TokenVerifier, type TokenVerifierOptions } from "../../src/verifier/token-verifier.js";
import { FrozenClock } from "../helpers/frozen-clock.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { until } from "../helpers/wait.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const ISS = "https://tessera.example";
const STALE_AFTER_SECONDS = 3;
const key = await generateSigningKey("ES256");
const keys = { resolve: async (h: { kid?: string }) => (h.kid === key.kid ? key.publicKey : undefined) };

let redis: RedisServer;
let proxy: TcpProxy;
let direct: Redis;
const cleanups: (() => unknown)[] = [];

before(async () => {
  redis = await startRedisServer();
  proxy = await startTcpProxy(redis.port);
  direct = new Redis(redis.url, fastFailOptions(1000));
  direct.on("error", () => {});
  await until(() => (direct.status === "ready" ? true : undefined), "the direct Redis connection");
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  direct.disconnect();
  await proxy.close();
  await redis.destroy();
});

/** A deny-list writer straight to Redis and a feed reached through the proxy, under a fresh key prefix. */
function feedPair(): { writer: RedisDenyList; feed: () => RedisDenyList } {
  const layout = new KeyLayout(`partition-${randomUUID().slice(0, 8)}:`);
  const writer = new RedisDenyList(direct, layout, { commandTimeoutMs: 1000 });
  const feed = () => {
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, fastFailOptions(500));
    client.on("error", () => {});
    cleanups.push(() => client.disconnect());
    // A short heartbeat (250 ms) lets the test use a short staleness bound (3 s), measured in real time.
    const denyList = new RedisDenyList(client, layout, { commandTimeoutMs: 500, feedBlockMs: 250 });
    cleanups.push(() => denyList.close());
    return denyList;
  };
  return { writer, feed };
}

function verifierOver(feed: RedisDenyList, clock: FrozenClock, extra: Partial<TokenVerifierOptions> = {}): TokenVerifier {
  const verifier = new TokenVerifier({ issuer: ISS, keys, revocations: feed, clock, revocationStaleAfterSeconds: STALE_AFTER_SECONDS, ...extra });
  cleanups.push(() => verifier.stop());
  return verifier;
}

async function token(clock: FrozenClock, jti: string = randomUUID(), audience = "svc"): Promise<string> {
  const now = clock.seconds();
  return new SignJWT({ client_id: "caller", scope: "a event.view" })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" })
    .setIssuer(ISS)
    .setSubject("caller")
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(jti)
    .sign(key.privateKey);
}

async function refusedAsRevoked(verifier: TokenVerifier, t: string): Promise<true | undefined> {
  try {
    await verifier.verify(t);
    return undefined;
  } catch (err) {
    return err instanceof InvalidTokenError && /revoked/.test(err.message) ? true : undefined;
  }
}

describe("a verifier whose revocation feed is partitioned (real TCP cut)", () => {
  test("start() with the feed unreachable resolves, answers UNAVAILABLE, and loads in the background once it is back", async () => {
    proxy.cut();
    try {
      const clock = new FrozenClock(Date.now()); // Redis expires entries by its own clock
      const { writer, feed } = feedPair();
      await writer.revoke(ISS, "revoked-early", clock.seconds() + 300);
      const verifier = verifierOver(feed(), clock);
      await verifier.start(); // must not throw: the service must not crash because Redis is down
      assert.equal(verifier.revocationStatus, "loading");
      await assert.rejects(verifier.verify(await token(clock)), TemporarilyUnavailableError, "fail closed until the deny set is loaded");

      // The same through a protected Connect service: 503 / unavailable, never a security answer.
      const http = createHttpListener(connectNodeAdapter({ routes: protect(verifier, (router) => router.service(CalendarService, calendarConnect())) }));
      cleanups.push(() => http.close());
      const { port } = await http.listen("127.0.0.1", 0);
      const call = await fetch(`http://127.0.0.1:${port}/${CalendarService.typeName}/ListEvents`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await token(clock, randomUUID(), CalendarService.typeName)}` },
        body: "{}",
      });
      assert.equal(call.status, 503);
      assert.equal(((await call.json()) as { code: string }).code, "unavailable");
      proxy.restore();
      await withDeadline(() => verifier.revocationsLoaded(), 15_000);
      assert.equal(verifier.revocationStatus, "current");
      assert.ok(await verifier.verify(await token(clock)));
      await assert.rejects(verifier.verify(await token(clock, "revoked-early")), /revoked/, "the revocations in force were loaded");
      const admitted = await fetch(`http://127.0.0.1:${port}/${CalendarService.typeName}/ListEvents`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await token(clock, randomUUID(), CalendarService.typeName)}` },
        body: "{}",
      });
      assert.equal(admitted.status, 200, await admitted.text());
    } finally {
      proxy.restore();
    }
  });

  test("keeps its deny set, fails closed (or open, when configured) past the staleness bound, and catches up on reconnect", async (t) => {
    const clock = new FrozenClock(Date.now()); // Redis expires entries by its own clock
    const { writer, feed } = feedPair();
    const closedFeed = feed();
    const openFeed = feed();
    const closed = verifierOver(closedFeed, clock);
    const open = verifierOver(openFeed, clock, { revocationPolicy: "fail-open" });
    await closed.start();
    await open.start();
    assert.equal(closed.revocationStatus, "current");

    const before = await token(clock, "revoked-before");
    await writer.revoke(ISS, "revoked-before", clock.seconds() + 300);
    await until(() => refusedAsRevoked(closed, before), "the revocation to reach the fail-closed verifier");
    await until(() => refusedAsRevoked(open, before), "the revocation to reach the fail-open verifier");

    const errorsBefore = [closedFeed.stats.readErrors, openFeed.stats.readErrors];
    proxy.cut();
    try {
      // Both subscriptions noticed the lost connection: nothing read before the cut is still on its way.
      await until(
        () => (closedFeed.stats.readErrors > errorsBefore[0]! && openFeed.stats.readErrors > errorsBefore[1]! ? true : undefined),
        "both feed connections to fail",
      );
      const during = await token(clock, "revoked-during");
      await writer.revoke(ISS, "revoked-during", clock.seconds() + 300);

      // Within the bound: the deny set is kept and trusted.
      await assert.rejects(closed.verify(before), /revoked/, "a revocation known before the cut stays enforced");
      assert.ok(await closed.verify(during), "within the staleness bound the verifier still serves from its deny set");

      // Past the bound: nothing can confirm the deny set while the link is cut.
      await until(() => (closed.revocationStatus === "stale" && open.revocationStatus === "stale" ? true : undefined), "the deny sets to go stale", 10_000);
      await assert.rejects(closed.verify(await token(clock)), TemporarilyUnavailableError, "fail closed past the bound");
      await assert.rejects(closed.verify(during), TemporarilyUnavailableError, "no token is admitted on a stale deny set");
      assert.ok(await open.verify(await token(clock)), "fail-open: a valid token is admitted past the bound");
      await assert.rejects(open.verify(before), /revoked/, "fail-open still refuses what it knows is revoked");
    } finally {
      proxy.restore();
    }

    // Catch-up: the revocation made during the partition arrives after the reconnect.
    await until(async () => refusedAsRevoked(closed, await token(clock, "revoked-during")), "the missed revocation after the reconnect", 15_000);
    await until(async () => refusedAsRevoked(open, await token(clock, "revoked-during")), "the missed revocation (fail-open verifier)", 15_000);
    assert.equal(closed.revocationStatus, "current");
    assert.ok(await closed.verify(await token(clock)), "in sync again: valid tokens are admitted");
    t.diagnostic(`feed read errors during the partition: ${closedFeed.stats.readErrors - errorsBefore[0]!}`);
  });

  test("a staleness bound shorter than two feed heartbeats is refused at construction", () => {
    const feed = new RedisDenyList(direct, new KeyLayout("heartbeat:"), { commandTimeoutMs: 1000 }); // heartbeat: feedBlockMs, 5 s by default
    assert.throws(() => new TokenVerifier({ issuer: ISS, keys, revocations: feed, revocationStaleAfterSeconds: 9 }), /twice the feed's heartbeat/);
    assert.ok(new TokenVerifier({ issuer: ISS, keys, revocations: feed, revocationStaleAfterSeconds: 10 }));
  });
});
