import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { validateConfig } from "../../src/config/validate.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { InvalidGrantError, UnauthorizedClientError, UnsupportedGrantTypeError } from "../../src/errors/tessera-error.js";
import { parseBasicAuthorization } from "../../src/issuer/client-authentication/client-credentials-input.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { issueToken } from "../../src/issuer/issue-token.js";
import { StaticClientRegistry } from "../../src/registry/client-registry.js";
import { configuredTrustedIssuers } from "../../src/registry/configured-trusted-issuers.js";
import { basicAuthorization, fixtureContext } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const IDP = "https://idp.cluster.local";
const SA = "system:serviceaccount:billing:billing-api";
const clock = new FrozenClock();
const idp = await generateKeyPair("ES256", { extractable: true });
const idpJwk = { ...(await exportJWK(idp.publicKey)), kid: "idp-1", alg: "ES256" };
const base = (await fixtureContext(clock)).ctx;
const secret = "workload-secret-0123456789abcdef0123456789abcd";

const config = validateConfig(
  {
    issuer: base.issuer,
    clients: [
      {
        id: "billing-api",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(secret)],
        grantTypes: [JWT_BEARER],
        grants: [{ audience: "https://ledger.example.com", scopes: ["ledger.read", "ledger.write"] }],
      },
      {
        id: "other",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(secret)],
        grants: [{ audience: "https://ledger.example.com", scopes: ["ledger.read"] }],
      },
    ],
    trustedIssuers: [{ issuer: IDP, jwks: { keys: [idpJwk] }, subjects: [{ subject: SA, clientId: "billing-api" }] }],
  },
  {},
  () => "",
);
const ctx: IssuerContext = {
  ...base,
  clients: new StaticClientRegistry(config.clients),
  trustedIssuers: configuredTrustedIssuers(config.trustedIssuers, () => {
    throw new Error("no remote key sets here");
  }),
};

async function grant(claims: Record<string, unknown> = {}, key: CryptoKey = idp.privateKey, kid = "idp-1"): Promise<string> {
  const now = clock.seconds();
  const payload: Record<string, unknown> = { iss: IDP, sub: SA, aud: ctx.issuer, iat: now, exp: now + 600, jti: randomUUID(), ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid }).sign(key);
}

function exchange(assertion: string, extra: { scopes?: string[]; credentials?: Parameters<typeof issueToken>[1]["credentials"] } = {}) {
  return issueToken(ctx, { grantType: JWT_BEARER, assertion, credentials: extra.credentials ?? {}, scopes: extra.scopes });
}

describe("jwt-bearer grant (RFC 7523 §2.1)", () => {
  test("a workload identity token becomes a token for the mapped client", async () => {
    const issued = await exchange(await grant(), { scopes: ["ledger.read"] });
    const claims = decodeJwt(issued.accessToken);
    assert.equal(claims.sub, "billing-api");
    assert.equal(claims.client_id, "billing-api");
    assert.equal(claims.aud, "https://ledger.example.com");
    assert.equal(claims.scope, "ledger.read");
  });

  test("the grant is authorized against the mapped client's grants", async () => {
    await assert.rejects(exchange(await grant(), { scopes: ["ledger.admin"] }), { error: "invalid_scope" });
  });

  test("jti is single-use; a refused request leaves it unused", async () => {
    const assertion = await grant();
    await assert.rejects(exchange(assertion, { scopes: ["ledger.admin"] }), { error: "invalid_scope" });
    await exchange(assertion);
    await assert.rejects(exchange(assertion), InvalidGrantError);
  });

  test("50 parallel copies yield exactly one token", async () => {
    const assertion = await grant();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => exchange(assertion)));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.equal(results.filter((r) => r.status === "rejected" && r.reason instanceof InvalidGrantError).length, 49);
  });

  test("every flaw of the assertion is invalid_grant", async () => {
    const other = await generateKeyPair("ES256");
    const now = clock.seconds();
    const cases: [string, Promise<string>][] = [
      ["untrusted issuer", grant({ iss: "https://evil.example" })],
      ["aud is not our issuer", grant({ aud: "https://other.example" })],
      ["aud is the token endpoint", grant({ aud: `${ctx.issuer}/oauth2/token` })],
      ["lifetime over one hour", grant({ iat: now, exp: now + 3700 })],
      ["issued over an hour before exp, although exp is near", grant({ iat: now - 3590, exp: now + 60 })],
      ["issued in the future beyond the clock skew", grant({ iat: now + 120, exp: now + 600 })],
      ["aud an array with another audience", grant({ aud: [ctx.issuer, "https://other.example"] })],
      ["expired", grant({ iat: now - 4000, exp: now - 3000 })],
      ["no jti", grant({ jti: undefined })],
      ["no exp", grant({ exp: undefined })],
      ["unmapped subject", grant({ sub: "system:serviceaccount:default:default" })],
      ["signed by another key", grant({}, other.privateKey)],
      ["unknown kid", grant({}, other.privateKey, "idp-2")],
      ["garbage", Promise.resolve("not-a-jwt")],
    ];
    for (const [name, assertion] of cases) {
      await assert.rejects(exchange(await assertion), InvalidGrantError, name);
    }
  });

  test("an HS256 assertion keyed with the issuer's public key is refused", async () => {
    const now = clock.seconds();
    const forged = await new SignJWT({ iss: IDP, sub: SA, aud: ctx.issuer, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: "HS256", kid: "idp-1" })
      .sign(new TextEncoder().encode(JSON.stringify(idpJwk)));
    await assert.rejects(exchange(forged), InvalidGrantError);
  });

  test("client credentials, when sent, must be the mapped client's", async () => {
    const own = { basic: parseBasicAuthorization(basicAuthorization("billing-api", secret)) };
    assert.ok(await exchange(await grant(), { credentials: own }));
    const other = { basic: parseBasicAuthorization(basicAuthorization("other", secret)) };
    await assert.rejects(exchange(await grant(), { credentials: other }), InvalidGrantError);
    const wrong = { basic: parseBasicAuthorization(basicAuthorization("billing-api", "wrong")) };
    await assert.rejects(exchange(await grant(), { credentials: wrong }), { error: "invalid_client" });
  });

  test("the mapped client must allow the grant; the server must trust an issuer", async () => {
    assert.throws(
      () =>
        validateConfig(
          {
            clients: [{ id: "x", authMethod: "client_secret_basic", secretHashes: [hashClientSecret(secret)], grants: [] }],
            trustedIssuers: [{ issuer: IDP, jwks: { keys: [idpJwk] }, subjects: [{ subject: SA, clientId: "x" }] }],
          },
          {},
          () => "",
        ),
      { field: "trustedIssuers[0].subjects[0].clientId" },
    );
    await assert.rejects(issueToken(base, { grantType: JWT_BEARER, assertion: await grant(), credentials: {} }), UnsupportedGrantTypeError);
    // billing-api may not use client_credentials.
    await assert.rejects(
      issueToken(ctx, { grantType: "client_credentials", credentials: { basic: parseBasicAuthorization(basicAuthorization("billing-api", secret)) } }),
      UnauthorizedClientError,
    );
  });
});
