import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { InsufficientScopeError, InvalidRequestError, InvalidTokenError, TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { RemoteKeySet } from "../../src/keys/remote-key-set.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { bearerToken } from "../../src/verifier/bearer-token.js";
import { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const ISS = "https://tessera.example";
const key = await generateSigningKey("ES256");
const keys = { resolve: async (h: { kid?: string }) => (h.kid === key.kid ? key.publicKey : undefined) };
const rule = { kind: "bearer", audience: "svc", allOf: ["a"], anyOf: [["b"], ["c", "d"]], source: "method" } as const;

async function token(clock: FrozenClock, claims: Record<string, unknown> = {}): Promise<string> {
  const now = clock.seconds();
  return new SignJWT({ client_id: "caller", scope: "a b", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" })
    .setIssuer(ISS)
    .setSubject("caller")
    .setAudience((claims.aud as string) ?? "svc")
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti((claims.jti as string) ?? `j-${Math.random()}`)
    .sign(key.privateKey);
}

/** A token with the given iat and exp (epoch seconds). */
async function signed(times: { iat: number; exp: number }): Promise<string> {
  return new SignJWT({ client_id: "caller", scope: "a b" })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" })
    .setIssuer(ISS)
    .setSubject("caller")
    .setAudience("svc")
    .setIssuedAt(times.iat)
    .setExpirationTime(times.exp)
    .setJti(`j-${Math.random()}`)
    .sign(key.privateKey);
}

describe("TokenVerifier", () => {
  test("revocations: fail-closed until loaded (UNAVAILABLE), fail-open when asked", async () => {
    const clock = new FrozenClock();
    const feed = new MemoryDenyList(clock);
    const closed = new TokenVerifier({ issuer: ISS, keys, revocations: feed, clock });
    await assert.rejects(closed.verify(await token(clock)), TemporarilyUnavailableError);
    await closed.start();
    assert.ok(await closed.verify(await token(clock)));
    const open = new TokenVerifier({ issuer: ISS, keys, revocations: feed, revocationPolicy: "fail-open", clock });
    assert.ok(await open.verify(await token(clock)));
  });

  test("a pushed revocation applies at once, also to a token already in the cache", async () => {
    const clock = new FrozenClock();
    const feed = new MemoryDenyList(clock);
    await feed.revoke(ISS, "revoked-before", clock.seconds() + 300);
    const verifier = new TokenVerifier({ issuer: ISS, keys, revocations: feed, clock });
    await verifier.start();
    await assert.rejects(verifier.verify(await token(clock, { jti: "revoked-before" })), /revoked/, "revocations in force are loaded at start");
    const t = await token(clock, { jti: "live" });
    await verifier.verify(t);
    await feed.revoke(ISS, "live", clock.seconds() + 300);
    await assert.rejects(verifier.verify(t), InvalidTokenError);
  });

  test("a client cut-off refuses the client's tokens issued before it, not later ones nor other clients'", async () => {
    const clock = new FrozenClock();
    const feed = new MemoryDenyList(clock);
    const verifier = new TokenVerifier({ issuer: ISS, keys, revocations: feed, clock });
    await verifier.start();
    const before = await token(clock);
    const other = await token(clock, { client_id: "other" });
    const claims = await verifier.verify(before);
    const reasons: string[] = [];
    verifier.watch(claims, (r) => reasons.push(r));
    clock.advance(2);
    await feed.revokeClient(ISS, "caller", clock.seconds(), clock.seconds() + 600);
    await assert.rejects(verifier.verify(before), /client has had its tokens revoked/, "also once cached");
    assert.deepEqual(reasons, ["revoked"]);
    assert.ok(await verifier.verify(other), "another client's token");
    assert.ok(await verifier.verify(await token(clock)), "a token issued at the cut-off");
  });

  test("the cache never serves an expired token and stays bounded", async () => {
    const clock = new FrozenClock();
    const verifier = new TokenVerifier({ issuer: ISS, keys, clock, cacheSize: 2, clockToleranceSeconds: 30 });
    const t = await token(clock);
    await verifier.verify(t);
    for (let i = 0; i < 5; i++) await verifier.verify(await token(clock));
    clock.advance(331);
    await assert.rejects(verifier.verify(t), /expired/);
  });

  test("authorize: the audience, then all-of plus one any-of alternative, exact match", async () => {
    const clock = new FrozenClock();
    const verifier = new TokenVerifier({ issuer: ISS, keys, clock });
    assert.ok(await verifier.check(`Bearer ${await token(clock)}`, rule));
    assert.ok(await verifier.check(`Bearer ${await token(clock, { scope: "a c d" })}`, rule));
    for (const scope of ["a", "a c", "b", "a B", "a bb"]) {
      await assert.rejects(verifier.check(`Bearer ${await token(clock, { scope })}`, rule), InsufficientScopeError, scope);
    }
    await assert.rejects(verifier.check(`Bearer ${await token(clock, { aud: "other" })}`, rule), (err: InsufficientScopeError) => {
      assert.equal(err.requiredAudience, "svc");
      assert.deepEqual(err.requiredScopes, ["a", "b"]);
      return true;
    });
    assert.equal(await verifier.check(undefined, { kind: "public", source: "method" }), undefined);
  });

  test("no token, other schemes and malformed bearer headers", async () => {
    const clock = new FrozenClock();
    const verifier = new TokenVerifier({ issuer: ISS, keys, clock });
    await assert.rejects(verifier.check(undefined, rule), (err: InvalidTokenError) => err.tokenSent === false);
    await assert.rejects(verifier.check("", rule), (err: InvalidTokenError) => err.tokenSent === false);
    assert.equal(bearerToken("bearer abc.def.ghi"), "abc.def.ghi", "the scheme is case-insensitive");
    for (const header of ["Basic abc", "Bearer", "Bearer a b", "Token abc"]) {
      assert.throws(() => bearerToken(header), InvalidTokenError, header);
    }
  });

  test("two credentials: two values, or one joining two with a comma → invalid_request, whichever is valid", async () => {
    const clock = new FrozenClock();
    const verifier = new TokenVerifier({ issuer: ISS, keys, clock });
    const good = await token(clock);
    await verifier.check(`Bearer ${good}`, rule); // verified and cached: the fast path must refuse too
    for (const header of [
      [`Bearer ${good}`, `Bearer ${good}`],
      [`Bearer ${good}`, "Bearer garbage"],
      [`Bearer ${good}`, ""],
      `Bearer ${good}, Bearer ${good}`,
      `Bearer ${good},Bearer ${good}`,
      "Bearer a,b",
      `Basic abc, Bearer ${good}`,
    ]) {
      await assert.rejects(verifier.check(header, rule), InvalidRequestError, JSON.stringify(header).slice(0, 40));
      assert.throws(() => verifier.checkNow(header, rule), InvalidRequestError);
    }
    assert.ok(await verifier.check([`Bearer ${good}`], rule), "one value in a list is one credential");
  });

  test("documented bounds: clock leeway (30 s), lifetime cap (3600 s), token size cap (8192 bytes)", async () => {
    const clock = new FrozenClock();
    const verifier = new TokenVerifier({ issuer: ISS, keys, clock, cacheSize: 0 });
    const issued = async (claims: Record<string, unknown>) => token(clock, claims);
    const at = (iat: number, exp: number) => ({ iat, exp });
    const now = clock.seconds();
    // Leeway: expired 29 s ago passes, 31 s ago does not; issued 29 s in the future passes, 31 s does not.
    assert.ok(await verifier.verify(await signed(at(now - 300, now - 29))));
    await assert.rejects(verifier.verify(await signed(at(now - 300, now - 31))), /expired/);
    assert.ok(await verifier.verify(await signed(at(now + 29, now + 300))));
    await assert.rejects(verifier.verify(await signed(at(now + 31, now + 300))), /future/);
    // Lifetime: exp − iat of 3600 s passes, 3601 s does not.
    assert.ok(await verifier.verify(await signed(at(now, now + 3600))));
    await assert.rejects(verifier.verify(await signed(at(now, now + 3601))), /lifetime/);
    // Size: a token of exactly 8192 bytes is parsed and verified; one byte more is refused unparsed.
    const base = await issued({});
    /** A token of exactly `bytes`: base64url skips some lengths, so the jti's length varies too (bounded search). */
    const padTo = async (bytes: number) => {
      for (const jti of ["size-a", "size-ab", "size-abc"]) {
        for (let pad = Math.floor(((bytes - base.length) * 3) / 4) - 8; pad < Math.floor(((bytes - base.length) * 3) / 4) + 8; pad++) {
          const t = await issued({ jti, pad: "x".repeat(pad) });
          if (t.length === bytes) return t;
        }
      }
      throw new Error(`no token of ${bytes} bytes`);
    };
    const max = await padTo(8192);
    assert.ok(await verifier.verify(max));
    const over = await padTo(8193);
    await assert.rejects(verifier.verify(over), /larger than accepted/);
    await assert.rejects(verifier.check(`Bearer ${over}`, rule), /larger than accepted/);
    const roomy = new TokenVerifier({ issuer: ISS, keys, clock, maxTokenBytes: 16_384 });
    assert.ok(await roomy.verify(over), "the cap is configurable");
  });

  test("out-of-range options are refused at construction, e.g. milliseconds given for seconds", () => {
    for (const bad of [
      { clockToleranceSeconds: 30_000 },
      { clockToleranceSeconds: -1 },
      { maxLifetimeSeconds: 0 },
      { maxLifetimeSeconds: 3_600_000 },
      { maxTokenBytes: 100 },
      { maxTokenBytes: Number.NaN },
      { revocationStaleAfterSeconds: 0 },
      { revocationStaleAfterSeconds: 30_000 },
    ]) {
      assert.throws(() => new TokenVerifier({ issuer: ISS, keys, ...bad }), RangeError, JSON.stringify(bad));
    }
    assert.ok(new TokenVerifier({ issuer: ISS, keys, clockToleranceSeconds: 0, maxLifetimeSeconds: 86_400, maxTokenBytes: 65_536 }));
  });

  test("watch ends at expiry or revocation, once", async () => {
    const clock = new FrozenClock(Date.now());
    const feed = new MemoryDenyList(clock);
    const verifier = new TokenVerifier({ issuer: ISS, keys, revocations: feed, clock });
    await verifier.start();
    const claims = await verifier.verify(await token(clock, { jti: "watched" }));
    const reasons: string[] = [];
    verifier.watch(claims, (r) => reasons.push(r));
    await feed.revoke(ISS, "watched", claims.exp);
    await feed.revoke(ISS, "watched", claims.exp);
    assert.deepEqual(reasons, ["revoked"]);
    assert.equal(verifier.stillValid(claims), false);
  });

  test("concurrent first sights of one token share one verification; a failure reaches them all and is not kept", async () => {
    const clock = new FrozenClock();
    let resolved = 0;
    const counting = { resolve: async (h: { kid?: string }) => (resolved++, keys.resolve(h)) };
    const verifier = new TokenVerifier({ issuer: ISS, keys: counting, clock });
    const t = await token(clock);
    const all = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(t)));
    assert.equal(resolved, 1, "one verification for 50 concurrent calls");
    assert.ok(all.every((claims) => claims === all[0]));
    await verifier.verify(t);
    assert.equal(resolved, 1, "then served from the cache");

    const forged = `${t.slice(0, t.lastIndexOf(".") + 1)}${"A".repeat(86)}`;
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => verifier.verify(forged)));
    assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof InvalidTokenError));
    assert.equal(resolved, 2);
    await assert.rejects(verifier.verify(forged), InvalidTokenError);
    assert.equal(resolved, 3, "a failed verification is not remembered");
  });

  test("checkNow verifies a new token at once when its key is at hand, and refuses a bad one the same way", async () => {
    const clock = new FrozenClock();
    let fetches = 0;
    const remote = new RemoteKeySet({ fetch: async () => (fetches++, { keys: [{ ...key.publicJwk }] }), clock });
    const verifier = new TokenVerifier({ issuer: ISS, keys: remote, clock });
    await verifier.start();
    const first = await token(clock, { jti: "first" });
    assert.equal(verifier.checkNow(`Bearer ${first}`, rule), undefined, "the key is not known before the set was fetched");
    await verifier.check(`Bearer ${first}`, rule);

    const second = await token(clock, { jti: "second" });
    const now = verifier.checkNow(`Bearer ${second}`, rule);
    assert.equal(now?.principal?.claims.jti, "second", "a first sight with the key at hand needs no promise");
    assert.equal(verifier.checkNow(`Bearer ${second}`, rule)?.principal, now?.principal, "and it is cached like any other");
    const [h, p, sig] = (await token(clock, { jti: "third" })).split(".") as [string, string, string];
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), scope: "a b c d" })).toString("base64url")}.${sig}`;
    assert.throws(() => verifier.checkNow(`Bearer ${forged}`, rule), InvalidTokenError, "a bad signature is refused synchronously too");
    await assert.rejects(verifier.check(`Bearer ${forged}`, rule), InvalidTokenError, "as check() refuses it");
    assert.throws(() => verifier.checkNow(`Bearer ${second}`, { ...rule, allOf: ["z"] }), InsufficientScopeError);
    assert.equal(fetches, 1);

    clock.advance(301);
    const later = await token(clock, { jti: "later" });
    assert.equal(verifier.checkNow(`Bearer ${later}`, rule), undefined, "a set due for refresh goes through check()");
  });

  test("checkNow answers without waiting only what needs no verification, exactly as check() does", async () => {
    const clock = new FrozenClock();
    const feed = new MemoryDenyList(clock);
    const verifier = new TokenVerifier({ issuer: ISS, keys, revocations: feed, clock });
    await verifier.start();
    const t = await token(clock, { jti: "now-1" });
    const publicRule = { kind: "public", source: "method" } as const;
    assert.deepEqual(verifier.checkNow(undefined, publicRule), { principal: undefined });
    assert.equal(verifier.checkNow(`Bearer ${t}`, rule), undefined, "a token not yet verified needs check()");
    assert.throws(
      () => verifier.checkNow(undefined, rule),
      (e) => e instanceof InvalidTokenError && e.tokenSent === false,
    );
    assert.throws(() => verifier.checkNow("Bearer not a token", rule), /malformed/);
    assert.throws(() => verifier.checkNow(`Basic ${t}`, rule), /Bearer scheme/);

    const checked = await verifier.check(`Bearer ${t}`, rule);
    const now = verifier.checkNow(`Bearer ${t}`, rule);
    assert.equal(now?.principal, checked, "the principal of a verified token comes from the cache");
    assert.throws(() => verifier.checkNow(`Bearer ${t}`, { ...rule, audience: "other" }), InsufficientScopeError);
    assert.throws(() => verifier.checkNow(`Bearer ${t}`, { ...rule, allOf: ["z"] }), InsufficientScopeError);

    await feed.revoke(ISS, "now-1", clock.seconds() + 300);
    assert.throws(() => verifier.checkNow(`Bearer ${t}`, rule), /revoked/, "a revocation applies to the cached token at once");
    clock.advance(331);
    const expired = await token(clock, { jti: "now-2" });
    await verifier.check(`Bearer ${expired}`, rule);
    clock.advance(331);
    assert.equal(verifier.checkNow(`Bearer ${expired}`, rule), undefined, "an expired token is not served from the cache");
  });
});
