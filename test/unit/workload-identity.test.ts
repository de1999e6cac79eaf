// Workload tokens as client authentication (workload_identity) and the replay
// policy of trusted issuers, at the issuer with a frozen clock: the lifetime
// arithmetic of docs/workload-identity.md, single use vs reuse, jti rules.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { validateConfig } from "../../src/config/validate.js";
import { InvalidClientError, InvalidGrantError } from "../../src/errors/tessera-error.js";
import { CLIENT_ASSERTION_TYPE } from "../../src/issuer/client-authentication/authenticate-client.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { issueToken } from "../../src/issuer/issue-token.js";
import { revokeToken } from "../../src/issuer/revoke-token.js";
import { StaticClientRegistry } from "../../src/registry/client-registry.js";
import { configuredTrustedIssuers } from "../../src/registry/configured-trusted-issuers.js";
import { fixtureContext } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const K8S = "https://kubernetes.default.svc.cluster.local";
const SPIRE = "https://oidc.spire.example.org";
const STRICT = "https://idp.strict.example";
const SA = "system:serviceaccount:billing:billing-api";
const SVID = "spiffe://example.org/ns/ledger/sa/ledger-writer";
const clock = new FrozenClock();
const idp = await generateKeyPair("RS256", { extractable: true });
const jwk = { ...(await exportJWK(idp.publicKey)), kid: "k8s-1", alg: "RS256" };
const base = (await fixtureContext(clock)).ctx;
const AUD = "https://ledger.example.com";

const config = validateConfig(
  {
    issuer: base.issuer,
    clients: [
      // No secret anywhere: the workload's own token authenticates it.
      { id: "billing-api", authMethod: "workload_identity", grants: [{ audience: AUD, scopes: ["ledger.read", "ledger.write"] }] },
      { id: "ledger-writer", authMethod: "workload_identity", grants: [{ audience: AUD, scopes: ["ledger.write"] }] },
      // A jwt-bearer-only client: no client authentication method with a secret it would never use.
      { id: "batch", authMethod: "workload_identity", grantTypes: [JWT_BEARER], grants: [{ audience: AUD, scopes: ["ledger.read"] }] },
      { id: "strict-api", authMethod: "workload_identity", grants: [{ audience: AUD, scopes: ["ledger.read"] }] },
    ],
    trustedIssuers: [
      {
        issuer: K8S,
        jwks: { keys: [jwk] },
        replay: "reuse-within-lifetime",
        maxLifetimeSeconds: 7200,
        subjects: [
          { subject: SA, clientId: "billing-api" },
          { subject: "system:serviceaccount:batch:runner", clientId: "batch" },
        ],
      },
      { issuer: SPIRE, jwks: { keys: [jwk] }, replay: "reuse-within-lifetime", subjects: [{ subject: SVID, clientId: "ledger-writer" }] },
      { issuer: STRICT, jwks: { keys: [jwk] }, subjects: [{ subject: SA, clientId: "strict-api" }] },
    ],
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

async function workloadToken(claims: Record<string, unknown> = {}): Promise<string> {
  const now = clock.seconds();
  const payload: Record<string, unknown> = { iss: K8S, sub: SA, aud: [ctx.issuer], iat: now, nbf: now, exp: now + 3600, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: "k8s-1" }).sign(idp.privateKey);
}

function clientCredentials(assertion: string, extra: { scopes?: string[]; clientId?: string } = {}) {
  return issueToken(ctx, {
    grantType: "client_credentials",
    credentials: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion, clientId: extra.clientId },
    scopes: extra.scopes,
  });
}

describe("workload_identity client authentication", () => {
  test("a Kubernetes service-account token (no jti) authenticates its client: client_credentials with no secret", async () => {
    const issued = await clientCredentials(await workloadToken(), { scopes: ["ledger.read"] });
    const claims = decodeJwt(issued.accessToken);
    assert.equal(claims.sub, "billing-api");
    assert.equal(claims.client_id, "billing-api");
    assert.equal(claims.scope, "ledger.read");
    // The audit fact travels with the issued token.
    assert.deepEqual(issued.workload, { issuer: K8S, subject: SA });
    assert.equal(issued.clientId, "billing-api");
    assert.equal(issued.jti, claims.jti);
  });

  test("reuse-within-lifetime: one token buys tokens until its exp + 60 s skew (exclusive), then none", async () => {
    const token = await workloadToken({ exp: clock.seconds() + 600 });
    for (let i = 0; i < 3; i++) assert.ok(await clientCredentials(token));
    clock.advance(600 + 59);
    assert.ok(await clientCredentials(token), "until exp + skew it is still accepted");
    clock.advance(1);
    await assert.rejects(clientCredentials(token), InvalidClientError);
  });

  test("a SPIFFE JWT-SVID without jti authenticates its client, again and again within its lifetime", async () => {
    const now = clock.seconds();
    const svid = await workloadToken({ iss: SPIRE, sub: SVID, iat: now, nbf: undefined, exp: now + 300 });
    const first = await clientCredentials(svid);
    const second = await clientCredentials(svid);
    assert.notEqual(decodeJwt(first.accessToken).jti, decodeJwt(second.accessToken).jti);
    assert.deepEqual(second.workload, { issuer: SPIRE, subject: SVID });
  });

  test("single-use: a token without jti is refused; with jti, accepted once", async () => {
    await assert.rejects(clientCredentials(await workloadToken({ iss: STRICT })), InvalidClientError);
    const once = await workloadToken({ iss: STRICT, jti: randomUUID() });
    assert.ok(await clientCredentials(once));
    await assert.rejects(clientCredentials(once), InvalidClientError);
  });

  test("single-use: 50 parallel copies yield exactly one token; a refused request leaves the jti unused", async () => {
    const token = await workloadToken({ iss: STRICT, jti: randomUUID() });
    await assert.rejects(clientCredentials(token, { scopes: ["ledger.write"] }), { error: "invalid_scope" });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => clientCredentials(token)));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  });

  test("lifetime arithmetic: exp − iat and exp − now within the issuer's maxLifetimeSeconds (+60 s skew on exp − now)", async () => {
    const now = clock.seconds();
    assert.ok(await clientCredentials(await workloadToken({ iat: now, exp: now + 7200 })));
    await assert.rejects(clientCredentials(await workloadToken({ iat: now, exp: now + 7201 })), InvalidClientError);
    assert.ok(await clientCredentials(await workloadToken({ iat: undefined, exp: now + 7260 })));
    await assert.rejects(clientCredentials(await workloadToken({ iat: undefined, exp: now + 7261 })), InvalidClientError);
    // The default cap (3600) applies to an issuer that sets none.
    await assert.rejects(clientCredentials(await workloadToken({ iss: SPIRE, sub: SVID, iat: now, exp: now + 3601 })), InvalidClientError);
  });

  test("every flaw of the workload token is invalid_client, the same answer", async () => {
    const other = await generateKeyPair("RS256");
    const now = clock.seconds();
    const cases: [string, Promise<string>][] = [
      ["aud another service", workloadToken({ aud: ["https://kubernetes.default.svc"] })],
      ["aud with a second audience", workloadToken({ aud: [ctx.issuer, "https://other.example"] })],
      ["no aud", workloadToken({ aud: undefined })],
      ["expired", workloadToken({ iat: now - 4000, exp: now - 3000 })],
      ["issued in the future", workloadToken({ iat: now + 120, exp: now + 600 })],
      ["unmapped subject", workloadToken({ sub: "system:serviceaccount:default:default" })],
      [
        "signed by another key",
        new SignJWT({ iss: K8S, sub: SA, aud: [ctx.issuer], exp: now + 60 }).setProtectedHeader({ alg: "RS256", kid: "k8s-1" }).sign(other.privateKey),
      ],
      [
        "HS256 keyed with the public JWK",
        new SignJWT({ iss: K8S, sub: SA, aud: [ctx.issuer], exp: now + 60 })
          .setProtectedHeader({ alg: "HS256", kid: "k8s-1" })
          .sign(new TextEncoder().encode(JSON.stringify(jwk))),
      ],
      ["malformed jti", workloadToken({ jti: 42 })],
    ];
    for (const [name, token] of cases) await assert.rejects(clientCredentials(await token), InvalidClientError, name);
  });

  test("a body client_id must name the mapped client", async () => {
    assert.ok(await clientCredentials(await workloadToken(), { clientId: "billing-api" }));
    await assert.rejects(clientCredentials(await workloadToken(), { clientId: "ledger-writer" }), { error: "invalid_request" });
  });

  test("a workload token does not authenticate a client registered with another method", async () => {
    const { ctx: fixture } = await fixtureContext(clock);
    const mixed: IssuerContext = {
      ...fixture,
      trustedIssuers: configuredTrustedIssuers([{ ...config.trustedIssuers[0]!, subjects: [{ subject: SA, clientId: "billing" }] }], () => {
        throw new Error("no");
      }),
    };
    const token = await workloadToken();
    await assert.rejects(
      issueToken(mixed, { grantType: "client_credentials", credentials: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: token } }),
      InvalidClientError,
    );
  });

  test("the jwt-bearer grant follows the issuer's replay policy: a reusable token buys a token per audience, more than once", async () => {
    const token = await workloadToken({ sub: "system:serviceaccount:batch:runner" });
    for (let i = 0; i < 2; i++) {
      const issued = await issueToken(ctx, { grantType: JWT_BEARER, assertion: token, credentials: {} });
      assert.equal(decodeJwt(issued.accessToken).sub, "batch");
      assert.deepEqual(issued.workload, { issuer: K8S, subject: "system:serviceaccount:batch:runner" });
    }
    const strict = await workloadToken({ iss: STRICT, jti: randomUUID() });
    const strictCtx: IssuerContext = {
      ...ctx,
      trustedIssuers: configuredTrustedIssuers([{ ...config.trustedIssuers[2]!, subjects: [{ subject: SA, clientId: "batch" }] }], () => {
        throw new Error("no");
      }),
    };
    assert.ok(await issueToken(strictCtx, { grantType: JWT_BEARER, assertion: strict, credentials: {} }));
    await assert.rejects(issueToken(strictCtx, { grantType: JWT_BEARER, assertion: strict, credentials: {} }), InvalidGrantError);
  });

  test("a workload_identity client revokes its own tokens with its workload token", async () => {
    const token = await workloadToken();
    const issued = await clientCredentials(token);
    await revokeToken(ctx, { credentials: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: token }, token: issued.accessToken });
    assert.equal(await ctx.denyList.isRevoked(ctx.issuer, issued.jti), true);
  });

  test("configuration: a workload_identity client must be mapped; a mapped client must allow jwt-bearer or be workload_identity", () => {
    assert.throws(() => validateConfig({ clients: [{ id: "lonely", authMethod: "workload_identity", grants: [] }] }, {}, () => ""), {
      field: "clients[0].authMethod",
    });
    assert.throws(() => validateConfig({ clients: [{ id: "w", authMethod: "workload_identity", secretHashes: ["sha256:x"] }] }, {}, () => ""), /secretHashes/);
  });
});
