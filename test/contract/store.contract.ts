// One contract for every implementation of the store interfaces (src/store/types.ts):
// run against the memory store, a real standalone redis-server and a real Cluster.
// Time rules run on the real clock with sub-second lifetimes; waits poll with a deadline.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import type {
  AuthThrottle,
  DenyList,
  IntrospectionCache,
  IntrospectionCacheLookup,
  RateLimiter,
  ReplayGuard,
  RevocationEvent,
  RevocationFeed,
} from "../../src/store/types.js";
import { until } from "../helpers/wait.js";

/** The stores under test, over one fresh key space. */
export interface Stores {
  replay: ReplayGuard;
  denyList: DenyList & RevocationFeed;
  introspectionCache: IntrospectionCache;
  authThrottle: AuthThrottle;
  rateLimiter: RateLimiter;
  /** Counters of the feed, where the implementation keeps them. */
  feedStats?: () => { resyncs: number; readErrors: number };
}

export interface StoreSettings {
  /** Introspection cache TTL, seconds. */
  cacheSeconds: number;
  failures: number;
  windowSeconds: number;
  /** Length of the revocation feed (Redis). */
  feedLength?: number;
}

export interface StoreHarness {
  /** Fresh stores that share nothing with earlier ones. */
  create(settings: StoreSettings): Promise<Stores>;
  /** Stores of another replica over the same state as `stores` (Redis: same key prefix, its own connection); absent for memory. */
  replica?: (stores: Stores, settings: StoreSettings) => Promise<Stores>;
  /** Cuts the connections of these stores' feed subscribers (Redis: CLIENT KILL); absent for memory. */
  disconnectSubscribers?: (stores: Stores) => Promise<void>;
  /** Restarts the server, keeping its data (AOF); absent where it cannot be done. */
  restart?: () => Promise<void>;
}

/** The cached value of a lookup, undefined when revoked or missing. */
const cached = (found: IntrospectionCacheLookup) => (found.revoked ? undefined : found.value);

const DEFAULTS: StoreSettings = { cacheSeconds: 60, failures: 3, windowSeconds: 60 };
const nowSeconds = () => Date.now() / 1000;
const ISS = "https://issuer.example";

/** A listener that records events and lets a test wait for some. */
function recorder() {
  const events: RevocationEvent[] = [];
  return {
    events,
    listener: (event: RevocationEvent) => void events.push(event),
    jtis: () => new Set(events.map((e) => e.jti)),
    has: (jti: string) => events.some((e) => e.jti === jti),
    waitFor: (jtis: readonly string[], what: string) => until(() => (jtis.every((j) => events.some((e) => e.jti === j)) ? true : undefined), what, 10_000),
  };
}

export function storeContract(name: string, harness: StoreHarness): void {
  const fresh = (settings: Partial<StoreSettings> = {}) => harness.create({ ...DEFAULTS, ...settings });

  describe(`store contract: ${name}`, { concurrency: true }, () => {
    describe("replay guard", { concurrency: true }, () => {
      test("50 parallel claims of one record: exactly one wins", async () => {
        const { replay } = await fresh();
        const expiresAt = nowSeconds() + 60;
        const results = await Promise.all(Array.from({ length: 50 }, () => replay.claim("client-assertion:c:jti-1", expiresAt)));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await replay.claim("client-assertion:c:jti-1", expiresAt), false);
        assert.equal(await replay.claim("client-assertion:c:jti-2", expiresAt), true, "another record is independent");
        assert.equal(await replay.claim("jwt-bearer:{x}:jti-1", expiresAt), true, "braces in a record are no hash tag");
      });

      test("a record lives until its expiry, then can be claimed again", async () => {
        const { replay } = await fresh();
        const start = nowSeconds();
        const expiresAt = start + 1.2;
        assert.equal(await replay.claim("r", expiresAt), true);
        assert.equal(await replay.claim("r", expiresAt), false);
        await until(async () => ((await replay.claim("r", expiresAt + 60)) ? true : undefined), "the record to expire", 5000, 50);
        assert.ok(nowSeconds() >= expiresAt - 0.05, "not before its expiry");
      });
    });

    describe("deny-list", { concurrency: true }, () => {
      test("revoke then isRevoked, keyed on exactly (issuer, jti)", async () => {
        const { denyList } = await fresh();
        const exp = nowSeconds() + 60;
        assert.equal(await denyList.isRevoked(ISS, "a"), false);
        await denyList.revoke(ISS, "a", exp);
        assert.equal(await denyList.isRevoked(ISS, "a"), true);
        assert.equal(await denyList.isRevoked(ISS, "b"), false);
        assert.equal(await denyList.isRevoked("https://other.example", "a"), false);
        await denyList.revoke("a:b", "c", exp);
        assert.equal(await denyList.isRevoked("a", "b:c"), false, "no ambiguity in how the pair is joined");
        await denyList.revoke(ISS, "{rev}x", exp);
        assert.equal(await denyList.isRevoked(ISS, "{rev}x"), true);
        await denyList.revoke(ISS, "a", exp);
        assert.equal(await denyList.isRevoked(ISS, "a"), true, "revoking twice is harmless");
      });

      test("a revocation ends at its expiry; one already expired records nothing", async () => {
        const { denyList } = await fresh();
        // Wide enough that the three calls before the first check fit on a loaded Cluster.
        const expiresAt = nowSeconds() + 1.5;
        await denyList.revoke(ISS, "short", expiresAt);
        await denyList.revoke(ISS, "past", nowSeconds() - 1);
        assert.equal(await denyList.isRevoked(ISS, "short"), true);
        assert.equal(await denyList.isRevoked(ISS, "past"), false);
        await until(async () => ((await denyList.isRevoked(ISS, "short")) ? undefined : true), "the revocation to end", 5000, 50);
        assert.ok(nowSeconds() >= expiresAt - 0.05);
      });
    });

    describe("client cut-offs", { concurrency: true }, () => {
      test("tokens of the client issued strictly before the time are revoked; other clients and issuers are not", async () => {
        const { denyList } = await fresh();
        const t = Math.floor(nowSeconds());
        assert.equal(await denyList.isClientRevoked(ISS, "billing", t - 10), false);
        await denyList.revokeClient(ISS, "billing", t, t + 300);
        assert.equal(await denyList.isClientRevoked(ISS, "billing", t - 1), true);
        assert.equal(await denyList.isClientRevoked(ISS, "billing", t), false, "iat equal to the cut-off is not before it");
        assert.equal(await denyList.isClientRevoked(ISS, "billing", t + 1), false);
        assert.equal(await denyList.isClientRevoked(ISS, "calendar", t - 1), false);
        assert.equal(await denyList.isClientRevoked("https://other.example", "billing", t - 1), false);
        assert.equal(await denyList.isRevoked(ISS, "billing"), false, "no token entry is made");
      });

      test("a later cut-off moves the time forward, an earlier one never moves it back", async () => {
        const { denyList } = await fresh();
        const t = Math.floor(nowSeconds());
        await denyList.revokeClient(ISS, "billing", t - 100, t + 200);
        await denyList.revokeClient(ISS, "billing", t, t + 300);
        assert.equal(await denyList.isClientRevoked(ISS, "billing", t - 50), true);
        await denyList.revokeClient(ISS, "billing", t - 100, t + 200);
        assert.equal(await denyList.isClientRevoked(ISS, "billing", t - 50), true, "still cut off at the later time");
      });

      test("a cut-off ends at its end", async () => {
        const { denyList } = await fresh();
        const t = nowSeconds();
        // Wide enough that the three calls before the first check fit on a loaded Cluster.
        await denyList.revokeClient(ISS, "short", t, t + 1.5);
        await denyList.revokeClient(ISS, "past", t, t - 1);
        assert.equal(await denyList.isClientRevoked(ISS, "short", t - 1), true);
        assert.equal(await denyList.isClientRevoked(ISS, "past", t - 1), false);
        await until(async () => ((await denyList.isClientRevoked(ISS, "short", t - 1)) ? undefined : true), "the cut-off to end", 5000, 50);
      });

      test("subscribers get cut-offs in force and new ones, with issuedBefore; a newer one supersedes in the snapshot", async () => {
        const { denyList } = await fresh();
        const t = Math.floor(nowSeconds());
        await denyList.revokeClient(ISS, "billing", t - 100, t + 200);
        await denyList.revokeClient(ISS, "billing", t - 10, t + 290);
        const seen = recorder();
        const unsubscribe = await denyList.subscribe(seen.listener);
        const inForce = seen.events.filter((e) => e.jti === "client:billing");
        assert.equal(inForce.length, 1, "one entry per client in force");
        assert.equal(inForce[0]!.issuedBefore, t - 10);
        assert.ok(Math.abs(inForce[0]!.expiresAt - (t + 290)) < 0.01);
        await denyList.revokeClient(ISS, "calendar", t, t + 300);
        await seen.waitFor(["client:calendar"], "the new cut-off to be pushed");
        assert.equal(seen.events.find((e) => e.jti === "client:calendar")!.issuedBefore, t);
        unsubscribe();
      });
    });

    describe("revocation feed", { concurrency: true }, () => {
      test("in force first (before subscribe resolves), then each new one; unsubscribe stops it", async () => {
        const { denyList } = await fresh();
        await denyList.revoke(ISS, "a", nowSeconds() + 60);
        await denyList.revoke("https://other.example", "b", nowSeconds() + 60);
        await denyList.revoke(ISS, "gone", nowSeconds() - 1);
        const first = recorder();
        const unsubscribe = await denyList.subscribe(first.listener);
        assert.deepEqual(first.jtis(), new Set(["a", "b"]), "the revocations in force, delivered before subscribe resolved");
        const a = first.events.find((e) => e.jti === "a")!;
        assert.equal(a.issuer, ISS);
        assert.ok(Math.abs(a.expiresAt - (nowSeconds() + 60)) < 5);

        await denyList.revoke(ISS, "c", nowSeconds() + 60);
        await first.waitFor(["c"], "the new revocation to be pushed");
        unsubscribe();
        const second = recorder();
        const stopSecond = await denyList.subscribe(second.listener);
        await denyList.revoke(ISS, "d", nowSeconds() + 60);
        await second.waitFor(["d"], "the next revocation to reach a live subscriber");
        assert.equal(first.has("d"), false, "nothing after unsubscribe");
        assert.deepEqual(second.jtis(), new Set(["a", "b", "c", "d"]));
        stopSecond();
      });

      test("positions: the snapshot's, then each new revocation's just before it, the same for every subscriber", async () => {
        const { denyList } = await fresh();
        await denyList.revoke(ISS, "before", nowSeconds() + 60);
        const logs: string[][] = [[], []];
        const stops = await Promise.all(
          logs.map((log) =>
            denyList.subscribe((e) => void log.push(`event ${e.jti}`), { onPosition: (p, kind) => void log.push(`${kind} ${p.feed} ${p.seq}`) }),
          ),
        );
        const snapshot = logs[0]!.find((l) => l.startsWith("snapshot "));
        assert.ok(snapshot !== undefined, "the snapshot's position");
        assert.deepEqual(logs[0], ["event before", snapshot], "after the revocations in force");
        const seq = Number(snapshot.split(" ")[2]);
        await denyList.revoke(ISS, "next", nowSeconds() + 60);
        await until(() => (logs.every((log) => log.includes("event next")) ? true : undefined), "the new revocation on both subscribers");
        const feed = snapshot.split(" ")[1];
        for (const log of logs) assert.deepEqual(log.slice(-2), [`entry ${feed} ${seq + 1}`, "event next"]);
        for (const stop of stops) stop();
      });

      if (harness.disconnectSubscribers !== undefined) {
        test("a subscriber cut off catches up on what it missed", async () => {
          const stores = await fresh();
          const seen = recorder();
          const unsubscribe = await stores.denyList.subscribe(seen.listener);
          await harness.disconnectSubscribers!(stores);
          const missed = Array.from({ length: 5 }, (_, i) => `missed-${i}`);
          for (const jti of missed) await stores.denyList.revoke(ISS, jti, nowSeconds() + 60);
          await seen.waitFor(missed, "the missed revocations after the reconnect");
          await stores.denyList.revoke(ISS, "after", nowSeconds() + 60);
          await seen.waitFor(["after"], "live revocations again");
          unsubscribe();
        });

        test("a subscriber further behind than the feed keeps starts over from the revocations in force", async () => {
          const stores = await fresh({ feedLength: 3 });
          const seen = recorder();
          const unsubscribe = await stores.denyList.subscribe(seen.listener);
          await harness.disconnectSubscribers!(stores);
          const missed = Array.from({ length: 10 }, (_, i) => `trimmed-${i}`);
          for (const jti of missed) await stores.denyList.revoke(ISS, jti, nowSeconds() + 60);
          await seen.waitFor(missed, "every missed revocation, although the feed keeps 3");
          await stores.denyList.revoke(ISS, "after", nowSeconds() + 60);
          await seen.waitFor(["after"], "live revocations again");
          if (stores.feedStats) assert.ok(stores.feedStats().resyncs >= 1, "the subscriber started over from a snapshot");
          unsubscribe();
        });
      }
    });

    describe("introspection cache", { concurrency: true }, () => {
      const ISSUED_AT = Math.floor(nowSeconds()) - 60;
      const key = (jti: string, caller = "rs", client = { id: "billing", issuedAt: ISSUED_AT }) => ({ issuer: ISS, jti, caller, client });

      test("a stored answer is found for the same token and caller only", async () => {
        const { introspectionCache: cache } = await fresh();
        assert.deepEqual(await cache.lookup(key("t")), { revoked: false, value: undefined });
        assert.equal(await cache.store(key("t"), "answer:1", nowSeconds() + 60), true);
        assert.deepEqual(await cache.lookup(key("t")), { revoked: false, value: "answer:1" });
        assert.deepEqual(await cache.lookup(key("t", "other-rs")), { revoked: false, value: undefined });
        assert.deepEqual(await cache.lookup(key("u")), { revoked: false, value: undefined });
        assert.deepEqual(await cache.lookup({ ...key("t"), issuer: "https://other.example" }), { revoked: false, value: undefined });
      });

      test("an entry never outlives the token's exp, nor the configured TTL", async () => {
        // Wide enough that three round trips to a loaded Cluster fit before exp.
        const { introspectionCache: cache } = await fresh({ cacheSeconds: 1.5 });
        const exp = nowSeconds() + 1;
        await cache.store(key("exp"), "v", exp);
        await cache.store(key("ttl"), "v", nowSeconds() + 60);
        await cache.store(key("expired"), "v", nowSeconds() - 1);
        assert.equal(cached(await cache.lookup(key("exp"))), "v");
        assert.equal(cached(await cache.lookup(key("ttl"))), "v");
        assert.deepEqual(await cache.lookup(key("expired")), { revoked: false, value: undefined });
        await until(async () => (cached(await cache.lookup(key("exp"))) === undefined ? true : undefined), "exp to end the entry", 5000, 20);
        assert.ok(nowSeconds() >= exp - 0.05, "gone at exp, not before");
        await until(async () => (cached(await cache.lookup(key("ttl"))) === undefined ? true : undefined), "the TTL to end the entry", 5000, 20);
      });

      test("a revocation blocks and removes the entry; a fill after it caches nothing", async () => {
        const { introspectionCache: cache, denyList } = await fresh();
        await cache.store(key("t"), "v", nowSeconds() + 60);
        await cache.store(key("t", "rs2"), "v", nowSeconds() + 60);
        const revocationEnds = nowSeconds() + 1;
        await denyList.revoke(ISS, "t", revocationEnds);
        assert.deepEqual(await cache.lookup(key("t")), { revoked: true }, "the deny-list is consulted first");
        assert.equal(await cache.store(key("t"), "v", nowSeconds() + 60), false, "no fill for a revoked token");
        // Once the revocation ends (here, before exp: it never does in Tessera), nothing cached may resurface.
        await until(async () => ((await denyList.isRevoked(ISS, "t")) ? undefined : true), "the revocation to end", 5000, 20);
        assert.deepEqual(await cache.lookup(key("t")), { revoked: false, value: undefined });
        assert.deepEqual(await cache.lookup(key("t", "rs2")), { revoked: false, value: undefined });
      });

      test("a cut-off of the token's client covering its iat blocks the entry and any fill; later tokens and other clients are served", async () => {
        const { introspectionCache: cache, denyList } = await fresh();
        const before = { id: "billing", issuedAt: ISSUED_AT };
        const after = { id: "billing", issuedAt: ISSUED_AT + 10 };
        const other = { id: "calendar", issuedAt: ISSUED_AT };
        await cache.store(key("old", "rs", before), "v", nowSeconds() + 60);
        await cache.store(key("new", "rs", after), "v", nowSeconds() + 60);
        await cache.store(key("theirs", "rs", other), "v", nowSeconds() + 60);
        await denyList.revokeClient(ISS, "billing", ISSUED_AT + 10, nowSeconds() + 60);
        assert.deepEqual(await cache.lookup(key("old", "rs", before)), { revoked: true }, "a token issued before the cut-off is revoked, cached or not");
        assert.deepEqual(await cache.lookup(key("unseen", "rs", before)), { revoked: true });
        assert.equal(await cache.store(key("unseen", "rs", before), "v", nowSeconds() + 60), false, "no fill under a cut-off");
        assert.deepEqual(await cache.lookup(key("new", "rs", after)), { revoked: false, value: "v" }, "iat equal to the cut-off is not before it");
        assert.deepEqual(await cache.lookup(key("theirs", "rs", other)), { revoked: false, value: "v" });
        assert.equal(await cache.store(key("theirs2", "rs", other), "v", nowSeconds() + 60), true);
      });

      test("a cut-off racing fills never leaves an active entry behind", async () => {
        const { introspectionCache: cache, denyList } = await fresh();
        const jtis = Array.from({ length: 40 }, () => randomUUID());
        const client = { id: randomUUID(), issuedAt: ISSUED_AT };
        await Promise.all([
          ...jtis.map((jti) => cache.store(key(jti, "rs", client), "v", nowSeconds() + 60)),
          denyList.revokeClient(ISS, client.id, ISSUED_AT + 1, nowSeconds() + 60),
        ]);
        for (const jti of jtis) assert.deepEqual(await cache.lookup(key(jti, "rs", client)), { revoked: true });
      });

      test("a revocation racing a fill never leaves an active entry behind", async () => {
        const { introspectionCache: cache, denyList } = await fresh();
        const jtis = Array.from({ length: 60 }, () => randomUUID());
        // The 120 racing calls and 60 lookups must all land before the revocations end, on a loaded Cluster too.
        const revocationEnds = nowSeconds() + 2;
        await Promise.all(
          jtis.map((jti, i) => {
            const fill = () => cache.store(key(jti), "v", nowSeconds() + 60);
            const revoke = () => denyList.revoke(ISS, jti, revocationEnds);
            return i % 2 === 0 ? Promise.all([fill(), revoke()]) : Promise.all([revoke(), fill()]);
          }),
        );
        for (const jti of jtis) assert.deepEqual(await cache.lookup(key(jti)), { revoked: true });
        await until(async () => ((await denyList.isRevoked(ISS, jtis[0]!)) ? undefined : true), "the revocations to end", 5000, 20);
        const left: string[] = [];
        for (const jti of jtis) {
          const found = await cache.lookup(key(jti));
          if (found.revoked || found.value !== undefined) left.push(jti);
        }
        assert.deepEqual(left, [], "no entry outlived its revocation");
      });
    });

    describe("failed-authentication throttle", { concurrency: true }, () => {
      test("the threshold refuses the pair, not the client from elsewhere nor other clients", async () => {
        const { authThrottle } = await fresh({ failures: 3, windowSeconds: 60 });
        for (let i = 0; i < 2; i++) await authThrottle.recordFailure("billing", "10.0.0.1");
        assert.equal(await authThrottle.retryAfter("billing", "10.0.0.1"), 0, "under the threshold");
        await authThrottle.recordFailure("billing", "10.0.0.1");
        const wait = await authThrottle.retryAfter("billing", "10.0.0.1");
        assert.ok(wait > 0 && wait <= 60, `retry after ${wait} s, within the window`);
        assert.equal(await authThrottle.retryAfter("billing", "10.0.0.2"), 0, "another source is not locked out");
        assert.equal(await authThrottle.retryAfter("reporter", "10.0.0.1"), 0, "another client is not affected");
      });

      if (harness.replica !== undefined) {
        test("a pair blocked on one replica is refused by another, without a round trip there", async () => {
          const settings = { ...DEFAULTS, failures: 3, windowSeconds: 60 };
          const a = await harness.create(settings);
          const b = await harness.replica!(a, settings);
          for (let i = 0; i < 2; i++) await a.authThrottle.recordFailure("billing", "10.0.0.7");
          await b.authThrottle.recordFailure("billing", "10.0.0.7");
          assert.ok((await b.authThrottle.retryAfter("billing", "10.0.0.7")) > 0, "the replica that counted the last failure knows at once");
          await until(
            async () => ((await a.authThrottle.retryAfter("billing", "10.0.0.7")) > 0 ? true : undefined),
            "the block to reach the other replica",
            5000,
            5,
          );
          const later = await harness.replica!(a, settings);
          assert.equal(await later.authThrottle.retryAfter("billing", "10.0.0.7"), 0, "a replica started since has not heard yet (it fails open)");
          await a.authThrottle.recordFailure("billing", "10.0.0.7");
          await until(
            async () => ((await later.authThrottle.retryAfter("billing", "10.0.0.7")) > 0 ? true : undefined),
            "the next failure to tell it",
            5000,
            5,
          );
          assert.equal(await later.authThrottle.retryAfter("billing", "10.0.0.8"), 0, "another source is not locked out");
        });
      }

      test("the window ends: the pair may try again", async () => {
        const { authThrottle } = await fresh({ failures: 2, windowSeconds: 0.5 });
        await authThrottle.recordFailure("c", "s");
        await authThrottle.recordFailure("c", "s");
        assert.ok((await authThrottle.retryAfter("c", "s")) > 0);
        await until(async () => ((await authThrottle.retryAfter("c", "s")) === 0 ? true : undefined), "the window to end", 5000, 50);
      });
    });

    describe("rate limiter", { concurrency: true }, () => {
      test("up to the limit per (name, subject) within the window, then the seconds left; other names and subjects apart", async () => {
        const { rateLimiter } = await fresh();
        for (let i = 0; i < 3; i++) assert.equal(await rateLimiter.hit("revocations", "billing", 3, 60), 0, `request ${i + 1} of 3`);
        const wait = await rateLimiter.hit("revocations", "billing", 3, 60);
        assert.ok(wait >= 1 && wait <= 60, `retry after ${wait} s, within the window`);
        assert.ok((await rateLimiter.hit("revocations", "billing", 3, 60)) > 0, "still over");
        assert.equal(await rateLimiter.hit("introspections", "billing", 3, 60), 0, "another limit of the same subject is apart");
        assert.equal(await rateLimiter.hit("revocations", "reporter", 3, 60), 0, "another subject is apart");
        assert.equal(await rateLimiter.hit("revocations", "{billing}", 3, 60), 0, "braces in a subject are no hash tag, and no other subject");
      });

      test("50 parallel requests against a limit of 10: exactly 10 admitted", async () => {
        const { rateLimiter } = await fresh();
        const results = await Promise.all(Array.from({ length: 50 }, () => rateLimiter.hit("introspections", "rs", 10, 60)));
        assert.equal(results.filter((r) => r === 0).length, 10);
      });

      test("a large limit (leased in slices where shared) admits exactly the limit", async () => {
        const { rateLimiter } = await fresh();
        let admitted = 0;
        for (let i = 0; i < 1100; i++) if ((await rateLimiter.hit("introspections", "busy", 1000, 60)) === 0) admitted++;
        assert.equal(admitted, 1000);
      });

      test("the window ends: the subject may go on", async () => {
        const { rateLimiter } = await fresh();
        assert.equal(await rateLimiter.hit("revocations", "c", 1, 0.5), 0);
        assert.ok((await rateLimiter.hit("revocations", "c", 1, 0.5)) >= 1);
        await until(async () => ((await rateLimiter.hit("revocations", "c", 1, 0.5)) === 0 ? true : undefined), "the window to end", 5000, 50);
      });

      if (harness.replica !== undefined) {
        test("replicas share the count", async () => {
          const a = await harness.create(DEFAULTS);
          const b = await harness.replica!(a, DEFAULTS);
          assert.equal(await a.rateLimiter.hit("revocations", "billing", 3, 60), 0);
          assert.equal(await b.rateLimiter.hit("revocations", "billing", 3, 60), 0);
          assert.equal(await a.rateLimiter.hit("revocations", "billing", 3, 60), 0);
          assert.ok((await b.rateLimiter.hit("revocations", "billing", 3, 60)) > 0, "the fourth, on the other replica, is over");
        });

        test("replicas leasing slices of a large limit admit no more than it together", async () => {
          const a = await harness.create(DEFAULTS);
          const b = await harness.replica!(a, DEFAULTS);
          const count = async (stores: Stores, n: number) => {
            let admitted = 0;
            for (let i = 0; i < n; i++) if ((await stores.rateLimiter.hit("introspections", "busy", 1000, 60)) === 0) admitted++;
            return admitted;
          };
          const first = await count(a, 600);
          const second = await count(b, 600);
          assert.equal(first, 600);
          assert.equal(first + second, 1000, "the second replica gets what the first did not lease");
        });
      }
    });
  });

  if (harness.restart !== undefined) {
    describe(`store contract: ${name}, across a restart of the server`, () => {
      test("revocations, replay records and the feed survive; a subscriber resumes", async () => {
        const stores = await fresh();
        await stores.denyList.revoke(ISS, "before", nowSeconds() + 60);
        await stores.replay.claim("used-before", nowSeconds() + 60);
        const seen = recorder();
        const unsubscribe = await stores.denyList.subscribe(seen.listener);
        await harness.restart!();
        await until(async () => ((await stores.denyList.isRevoked(ISS, "before")) ? true : undefined), "the store to answer again", 10_000, 50);
        assert.equal(await stores.replay.claim("used-before", nowSeconds() + 60), false);
        await stores.denyList.revoke(ISS, "after-restart", nowSeconds() + 60);
        await seen.waitFor(["after-restart"], "the subscriber to resume after the restart");
        unsubscribe();
      });
    });
  }
}
