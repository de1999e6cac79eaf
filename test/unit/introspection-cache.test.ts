// The issuer with an introspection cache and a failed-authentication throttle (memory
// implementations, frozen clock): the rules that do not depend on where the state lives.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RateLimitedError, TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { authenticateClient } from "../../src/issuer/client-authentication/authenticate-client.js";
import { parseBasicAuthorization } from "../../src/issuer/client-authentication/client-credentials-input.js";
import { introspectToken } from "../../src/issuer/introspect-token.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { issueToken } from "../../src/issuer/issue-token.js";
import { revokeToken } from "../../src/issuer/revoke-token.js";
import { revokeClientTokens } from "../../src/issuer/revoke-client-tokens.js";
import { MemoryAuthThrottle } from "../../src/store/memory/auth-throttle.js";
import { MemoryIntrospectionCache } from "../../src/store/memory/introspection-cache.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import type { AuthThrottle, IntrospectionCache } from "../../src/store/types.js";
import { basicAuthorization, fixtureContext, SECRETS } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";
import { malleate } from "../helpers/malleate.js";

const billing = { basic: parseBasicAuthorization(basicAuthorization("billing", SECRETS.basic)) };
const calendar = { basic: parseBasicAuthorization(basicAuthorization("calendar", SECRETS.other)) };

/** A context whose cache counts fills and lookups that found a value. */
async function cachedContext(cacheSeconds = 60) {
  const clock = new FrozenClock();
  const { ctx: base } = await fixtureContext(clock);
  const denyList = new MemoryDenyList(clock);
  const inner = new MemoryIntrospectionCache(denyList, { ttlSeconds: cacheSeconds, clock });
  const stats = { hits: 0, fills: 0 };
  const cache: IntrospectionCache = {
    lookup: async (key) => {
      const found = await inner.lookup(key);
      if (!found.revoked && found.value !== undefined) stats.hits++;
      return found;
    },
    store: async (key, value, expiresAt) => {
      stats.fills++;
      return inner.store(key, value, expiresAt);
    },
  };
  const ctx: IssuerContext = { ...base, denyList, introspectionCache: cache };
  const token = async () =>
    (await issueToken(ctx, { grantType: "client_credentials", credentials: billing, resource: "https://calendar.example.com", scopes: ["event.view"] }))
      .accessToken;
  const introspect = (t: string, credentials = calendar) => introspectToken(ctx, { credentials, token: t });
  return { ctx, clock, stats, token, introspect };
}

/** The signature replaced by garbage of the same length: same header and claims, not a token of ours. */
function forge(token: string): string {
  const [h, p, sig] = token.split(".") as [string, string, string];
  return `${h}.${p}.${Buffer.alloc(Buffer.from(sig, "base64url").length, 7).toString("base64url")}`;
}

describe("introspection with a cache", () => {
  test("an active answer is cached per caller and served again, identical", async () => {
    const { token, introspect, stats } = await cachedContext();
    const t = await token();
    const first = await introspect(t);
    assert.equal(first.active, true);
    assert.equal(stats.fills, 1);
    assert.deepEqual(await introspect(t), first);
    assert.equal(stats.hits, 1);
  });

  test("a cached answer is only for the very token it was made for: a forged signature with the same jti is inactive", async () => {
    const { token, introspect, stats } = await cachedContext();
    const t = await token();
    await introspect(t);
    assert.deepEqual(await introspect(forge(t)), { active: false });
    assert.equal(stats.hits, 1, "the cache held an answer for this (iss, jti, caller), and it was not used");
  });

  test("a re-encoded signature does not bypass a revocation", async () => {
    const { ctx, token, introspect } = await cachedContext();
    const t = await token();
    const twin = malleate(t);
    assert.equal((await introspect(twin)).active, true, "(r, n−s) is a valid signature too");
    await revokeToken(ctx, { credentials: billing, token: t });
    assert.deepEqual(await introspect(twin), { active: false });
    assert.deepEqual(await introspect(t), { active: false });
  });

  test("revoked after caching: inactive at once", async () => {
    const { ctx, token, introspect } = await cachedContext();
    const t = await token();
    await introspect(t);
    await revokeToken(ctx, { credentials: billing, token: t });
    assert.deepEqual(await introspect(t), { active: false });
  });

  test("a client cut-off after caching: the client's earlier tokens inactive at once, its later ones active", async () => {
    const { ctx, clock, token, introspect, stats } = await cachedContext();
    const t = await token();
    assert.equal((await introspect(t)).active, true);
    assert.equal((await introspect(t)).active, true);
    assert.equal(stats.hits, 1, "the answer was cached");
    await revokeClientTokens(ctx, "billing");
    assert.deepEqual(await introspect(t), { active: false });
    assert.deepEqual(await introspect(malleate(t)), { active: false }, "nor verified afresh under another encoding");
    clock.advance(2);
    const later = await token();
    assert.equal((await introspect(later)).active, true);
    assert.equal((await introspect(later)).active, true);
    assert.equal(stats.hits, 2, "a later token's answer is cached and served");
  });

  test("never served past the token's exp, even within the cache TTL", async () => {
    const { clock, token, introspect } = await cachedContext(3600);
    const t = await token();
    await introspect(t);
    clock.advance(299);
    assert.equal((await introspect(t)).active, true);
    clock.advance(2);
    assert.deepEqual(await introspect(t), { active: false });
  });

  test("the cache is not shared between callers (each has its own audiences)", async () => {
    const { ctx, token, introspect, stats } = await cachedContext();
    const t = await token();
    await introspect(t);
    const foreign = { ...ctx.clients.get("calendar")!, id: "other-rs", resourceAudiences: new Set(["https://files.example.com"]) };
    const ctx2: IssuerContext = { ...ctx, clients: { get: (id: string) => (id === "other-rs" ? foreign : ctx.clients.get(id)) } as IssuerContext["clients"] };
    const other = await introspectToken(ctx2, { credentials: { basic: { clientId: "other-rs", clientSecret: SECRETS.other } }, token: t });
    assert.deepEqual(other, { active: false });
    assert.equal(stats.hits, 0);
  });

  test("a cache that is down is an error (503), never inactive", async () => {
    const { ctx, token } = await cachedContext();
    const t = await token();
    const down: IntrospectionCache = {
      lookup: async () => {
        throw new TemporarilyUnavailableError("down");
      },
      store: async () => {
        throw new TemporarilyUnavailableError("down");
      },
    };
    await assert.rejects(introspectToken({ ...ctx, introspectionCache: down }, { credentials: calendar, token: t }), TemporarilyUnavailableError);
  });
});

describe("failed-authentication throttle in the issuer", () => {
  const wrong = (source?: string) => ({ basic: { clientId: "billing", clientSecret: "wrong" }, ...(source ? { source } : {}) });
  const right = (source?: string) => ({ ...billing, ...(source ? { source } : {}) });

  test("after the threshold the (client, source) pair is refused before its credentials are checked", async () => {
    const clock = new FrozenClock();
    const { ctx: base } = await fixtureContext(clock);
    const ctx: IssuerContext = { ...base, authThrottle: new MemoryAuthThrottle({ failures: 2, windowSeconds: 30 }, clock) };
    for (let i = 0; i < 2; i++) await assert.rejects(authenticateClient(ctx, wrong("10.0.0.1")), { error: "invalid_client" });
    await assert.rejects(authenticateClient(ctx, right("10.0.0.1")), (err: unknown) => err instanceof RateLimitedError && err.retryAfterSeconds === 30);
    assert.equal((await authenticateClient(ctx, right("10.0.0.2"))).client.id, "billing", "another source is not locked out");
    assert.equal((await authenticateClient(ctx, right("::ffff:10.0.0.3"))).client.id, "billing");
    clock.advance(30);
    assert.equal((await authenticateClient(ctx, right("10.0.0.1"))).client.id, "billing", "the window ended");
  });

  test("a client assertion is counted against its sub; IPv6 sources by /64", async () => {
    const clock = new FrozenClock();
    const { ctx: base } = await fixtureContext(clock);
    const ctx: IssuerContext = { ...base, authThrottle: new MemoryAuthThrottle({ failures: 1, windowSeconds: 30 }, clock) };
    const bad = {
      clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      clientAssertion: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiaWxsaW5nIn0.sig",
      source: "2001:db8:1:2::10",
    };
    await assert.rejects(authenticateClient(ctx, bad), { error: "invalid_client" });
    await assert.rejects(authenticateClient(ctx, { ...billing, source: "2001:db8:1:2:ffff::1" }), RateLimitedError);
    assert.equal((await authenticateClient(ctx, { ...billing, source: "2001:db8:1:3::10" })).client.id, "billing");
  });

  test("fails open: a throttle that is down lets requests through", async () => {
    const clock = new FrozenClock();
    const { ctx: base } = await fixtureContext(clock);
    const down: AuthThrottle = {
      retryAfter: async () => {
        throw new TemporarilyUnavailableError("down");
      },
      recordFailure: async () => {
        throw new TemporarilyUnavailableError("down");
      },
    };
    const ctx: IssuerContext = { ...base, authThrottle: down };
    await assert.rejects(authenticateClient(ctx, wrong("10.0.0.1")), { error: "invalid_client" });
    assert.equal((await authenticateClient(ctx, right("10.0.0.1"))).client.id, "billing");
  });
});
