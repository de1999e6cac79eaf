import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeJwt, decodeProtectedHeader, jwtVerify, createLocalJWKSet } from "jose";
import { InvalidRequestError, TemporarilyUnavailableError, UnauthorizedClientError, UnsupportedGrantTypeError } from "../../src/errors/tessera-error.js";
import { parseBasicAuthorization } from "../../src/issuer/client-authentication/client-credentials-input.js";
import { getJwks } from "../../src/issuer/get-jwks.js";
import { introspectToken } from "../../src/issuer/introspect-token.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { issueToken } from "../../src/issuer/issue-token.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { revokeClientTokens } from "../../src/issuer/revoke-client-tokens.js";
import { revokeToken } from "../../src/issuer/revoke-token.js";
import type { DenyList } from "../../src/store/types.js";
import { basicAuthorization, fixtureContext, SECRETS } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";
import { malleate } from "../helpers/malleate.js";

const clock = new FrozenClock();
const { ctx } = await fixtureContext(clock);

const billing = { basic: parseBasicAuthorization(basicAuthorization("billing", SECRETS.basic)) };
const calendar = { basic: parseBasicAuthorization(basicAuthorization("calendar", SECRETS.other)) };
const reporter = { clientId: "reporter", clientSecret: SECRETS.post };
const norights = { clientId: "norights", clientSecret: SECRETS.other };

async function billingToken(resource = "https://calendar.example.com", scopes = ["event.view"]) {
  return issueToken(ctx, { grantType: "client_credentials", credentials: billing, resource, scopes });
}

describe("issueToken", () => {
  test("an RFC 9068 token: header and every claim", async () => {
    const issued = await billingToken();
    const header = decodeProtectedHeader(issued.accessToken);
    assert.equal(header.typ, "at+jwt");
    assert.equal(header.alg, "ES256");
    assert.equal(header.kid, ctx.keys.signingKey().kid);
    const claims = decodeJwt(issued.accessToken);
    assert.equal(claims.iss, ctx.issuer);
    assert.equal(claims.sub, "billing");
    assert.equal(claims.client_id, "billing");
    assert.equal(claims.aud, "https://calendar.example.com");
    assert.equal(claims.scope, "event.view");
    assert.equal(claims.iat, clock.seconds());
    assert.equal(claims.nbf, clock.seconds());
    assert.equal(claims.exp, clock.seconds() + 300);
    assert.equal(typeof claims.jti, "string");
    assert.ok((claims.jti as string).length >= 22);
    assert.deepEqual(
      { tokenType: issued.tokenType, expiresIn: issued.expiresIn, scopes: issued.scopes },
      { tokenType: "Bearer", expiresIn: 300, scopes: ["event.view"] },
    );
    const verified = await jwtVerify(issued.accessToken, createLocalJWKSet(getJwks(ctx)), {
      typ: "at+jwt",
      issuer: ctx.issuer,
      currentDate: new Date(clock.now()),
    });
    assert.equal(verified.payload.jti, claims.jti);
  });

  test("each token has a fresh jti", async () => {
    const a = decodeJwt((await billingToken()).accessToken).jti;
    const b = decodeJwt((await billingToken()).accessToken).jti;
    assert.notEqual(a, b);
  });

  test("per-client lifetime", async () => {
    const issued = await issueToken(ctx, { grantType: "client_credentials", credentials: reporter });
    assert.equal(issued.expiresIn, 120);
    assert.equal(issued.audience, "https://calendar.example.com", "single grant is the default audience");
  });

  test("grant types: only client_credentials is served; a client without it is unauthorized_client", async () => {
    await assert.rejects(issueToken(ctx, { grantType: "password", credentials: billing }), UnsupportedGrantTypeError);
    await assert.rejects(issueToken(ctx, { grantType: "client_credentials", credentials: norights }), UnauthorizedClientError);
  });

  test("a malformed request is refused before the client is authenticated", async () => {
    await assert.rejects(issueToken(ctx, { grantType: "client_credentials", credentials: {}, resource: "relative/path" }), { error: "invalid_target" });
  });
});

describe("introspectToken (RFC 7662)", () => {
  test("the resource server sees its own tokens, active, with the RFC 7662 members", async () => {
    const issued = await billingToken();
    const result = await introspectToken(ctx, { credentials: calendar, token: issued.accessToken });
    assert.equal(result.active, true);
    if (!result.active) return;
    assert.equal(result.client_id, "billing");
    assert.equal(result.sub, "billing");
    assert.equal(result.aud, "https://calendar.example.com");
    assert.equal(result.scope, "event.view");
    assert.equal(result.token_type, "Bearer");
    assert.equal(result.iss, ctx.issuer);
    assert.equal(result.exp, clock.seconds() + 300);
  });

  test("a token for another audience is exactly { active: false }", async () => {
    const files = await billingToken("https://files.example.com", ["file.view"]);
    assert.deepEqual(await introspectToken(ctx, { credentials: calendar, token: files.accessToken }), { active: false });
  });

  test("garbage, foreign, expired and unknown tokens are exactly { active: false }", async () => {
    for (const token of ["", "garbage", "a.b.c", malleate((await billingToken()).accessToken).replace(/^./, "x")]) {
      assert.deepEqual(await introspectToken(ctx, { credentials: calendar, token }), { active: false });
    }
    const issued = await billingToken();
    const later = new FrozenClock(clock.now() + 301_000);
    assert.deepEqual(await introspectToken({ ...ctx, clock: later }, { credentials: calendar, token: issued.accessToken }), { active: false });
  });

  test("the caller must be allowed to introspect", async () => {
    const issued = await billingToken();
    await assert.rejects(introspectToken(ctx, { credentials: norights, token: issued.accessToken }), UnauthorizedClientError);
    await assert.rejects(introspectToken(ctx, { credentials: {}, token: issued.accessToken }), { error: "invalid_client" });
    await assert.rejects(introspectToken(ctx, { credentials: calendar, token: undefined }), InvalidRequestError);
  });

  test("a deny-list outage is an error, never active:false", async () => {
    const down: DenyList = {
      revoke: async () => {
        throw new TemporarilyUnavailableError("store down");
      },
      isRevoked: async () => {
        throw new TemporarilyUnavailableError("store down");
      },
      revokeClient: async () => {
        throw new TemporarilyUnavailableError("store down");
      },
      isClientRevoked: async () => {
        throw new TemporarilyUnavailableError("store down");
      },
    };
    const broken: IssuerContext = { ...ctx, denyList: down };
    const issued = await billingToken();
    await assert.rejects(introspectToken(broken, { credentials: calendar, token: issued.accessToken }), TemporarilyUnavailableError);
    await assert.rejects(revokeToken(broken, { credentials: billing, token: issued.accessToken }), TemporarilyUnavailableError);
  });
});

describe("revokeToken (RFC 7009)", () => {
  test("a revoked token is inactive, also when its signature is re-encoded", async () => {
    const issued = await billingToken();
    const twin = malleate(issued.accessToken);
    assert.notEqual(twin, issued.accessToken);
    assert.equal((await introspectToken(ctx, { credentials: calendar, token: twin })).active, true, "the twin is a valid signature");
    await revokeToken(ctx, { credentials: billing, token: issued.accessToken });
    assert.deepEqual(await introspectToken(ctx, { credentials: calendar, token: issued.accessToken }), { active: false });
    assert.deepEqual(await introspectToken(ctx, { credentials: calendar, token: twin }), { active: false });
  });

  test("a client cut-off makes the client's earlier tokens inactive", async () => {
    const own: IssuerContext = { ...ctx, denyList: new MemoryDenyList(ctx.clock) };
    const issued = await billingToken();
    assert.equal((await introspectToken(own, { credentials: calendar, token: issued.accessToken })).active, true);
    const before = await revokeClientTokens(own, "billing");
    assert.ok(before > (decodeJwt(issued.accessToken).iat as number));
    assert.deepEqual(await introspectToken(own, { credentials: calendar, token: issued.accessToken }), { active: false });
    assert.equal(
      (await introspectToken(own, { credentials: calendar, token: (await billingToken()).accessToken })).active,
      false,
      "the clock is frozen: a token of the same second is covered too",
    );
  });

  test("a client revokes only its own tokens", async () => {
    const issued = await billingToken();
    await assert.rejects(revokeToken(ctx, { credentials: calendar, token: issued.accessToken }), UnauthorizedClientError);
    assert.equal((await introspectToken(ctx, { credentials: calendar, token: issued.accessToken })).active, true);
  });

  test("unknown and garbage tokens are accepted silently; the caller must still authenticate", async () => {
    await revokeToken(ctx, { credentials: billing, token: "garbage" });
    await revokeToken(ctx, { credentials: billing, token: "" });
    await assert.rejects(revokeToken(ctx, { credentials: { clientId: "billing", clientSecret: "wrong" }, token: "garbage" }), { error: "invalid_client" });
  });

  test("the revocation lasts until the token expires, then is forgotten", async () => {
    const issued = await billingToken();
    const jti = decodeJwt(issued.accessToken).jti as string;
    await revokeToken(ctx, { credentials: billing, token: issued.accessToken });
    assert.equal(await ctx.denyList.isRevoked(ctx.issuer, jti), true);
    clock.advance(300 + 61);
    assert.equal(await ctx.denyList.isRevoked(ctx.issuer, jti), false);
  });
});

describe("getJwks", () => {
  test("public members only, with kid, alg and use", () => {
    const { keys } = getJwks(ctx);
    assert.equal(keys.length, 1);
    const [jwk] = keys;
    for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) assert.ok(!(member in jwk!), member);
    assert.equal(jwk!.kid, ctx.keys.signingKey().kid);
    assert.equal(jwk!.alg, "ES256");
    assert.equal(jwk!.use, "sig");
  });
});

describe("signing algorithms", () => {
  for (const alg of ["EdDSA", "RS256"] as const) {
    test(`${alg} keys sign tokens that verify against the JWKS`, async () => {
      const { MemoryKeyStore } = await import("../../src/keys/key-store.js");
      const { generateSigningKey } = await import("../../src/keys/signing-key.js");
      const other: IssuerContext = { ...ctx, keys: MemoryKeyStore.single(await generateSigningKey(alg)) };
      const issued = await issueToken(other, { grantType: "client_credentials", credentials: reporter });
      assert.equal(decodeProtectedHeader(issued.accessToken).alg, alg);
      const { payload } = await jwtVerify(issued.accessToken, createLocalJWKSet(getJwks(other)), { typ: "at+jwt", currentDate: new Date(clock.now()) });
      assert.equal(payload.client_id, "reporter");
      const introspected = await introspectToken(other, { credentials: calendar, token: issued.accessToken });
      assert.equal(introspected.active, true);
    });
  }
});
