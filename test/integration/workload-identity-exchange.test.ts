// Workload identity and token exchange against a real server: workload issuers
// made here (their JWKS served on loopback, tokens shaped as Kubernetes
// projected service-account tokens and SPIFFE JWT-SVIDs), clients with no
// secret, and a two-hop delegation over HTTP (openid-client, authlib), gRPC
// (grpc-js) and Connect, with the refusals on each surface.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import * as client from "openid-client";
import type { TesseraConfig } from "../../src/config/types.js";
import { validateConfig } from "../../src/config/validate.js";
import { CLIENT_ASSERTION_TYPE } from "../../src/issuer/client-authentication/authenticate-client.js";
import { TOKEN_TYPE_ACCESS_TOKEN } from "../../src/issuer/token-exchange.js";
import { clientCredentialsFetcher } from "../../src/token-source/client-credentials-fetcher.js";
import { DelegatedTokenSource, tokenExchangeFetcher, type DelegatedTokenFetcher } from "../../src/token-source/delegated-token-source.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { runToEnd, killUnfinished } from "../helpers/child-process.js";
import { callFails, connectApi, grpcJsApi, type TokenServiceApi } from "../helpers/token-service-clients.js";
import { startWorkloadIssuer, type WorkloadIssuer } from "../helpers/workload-issuer.js";

const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const SECRET = "frontend-secret-0123456789abcdef0123456789abcdef";
const ORDERS_SA = { namespace: "shop", serviceAccount: "orders" };
const LEDGER_ID = "spiffe://example.org/ns/ledger/sa/ledger";
const GRPC = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16 };

let k8s: WorkloadIssuer;
let spire: WorkloadIssuer;
let strict: WorkloadIssuer;
let server: TesseraServer;
let apis: TokenServiceApi[];
const work = mkdtempSync(join(tmpdir(), "tessera-exchange-"));

function configFor(): TesseraConfig {
  return validateConfig(
    {
      http: { port: 0 },
      grpc: { port: 0 },
      rateLimit: { failures: 100_000 },
      clients: [
        {
          id: "frontend",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(SECRET)],
          grants: [{ audience: "orders", scopes: ["orders.read", "ledger.read", "ledger.write"] }],
        },
        {
          id: "orders",
          authMethod: "workload_identity",
          grantTypes: ["client_credentials", EXCHANGE],
          tokenExchange: { subjects: ["frontend"] },
          grants: [{ audience: "ledger", scopes: ["ledger.read", "ledger.write", "ledger.admin"] }],
        },
        {
          id: "ledger",
          authMethod: "workload_identity",
          grantTypes: [EXCHANGE],
          tokenExchange: { subjects: ["*"] },
          grants: [{ audience: "audit", scopes: ["ledger.read", "audit.write"] }],
        },
        { id: "batch", authMethod: "workload_identity", grants: [{ audience: "ledger", scopes: ["ledger.read"] }] },
      ],
      trustedIssuers: [
        {
          issuer: k8s.issuer,
          jwksUri: k8s.jwksUri,
          algorithms: ["RS256"],
          replay: "reuse-within-lifetime",
          subjects: [{ subject: "system:serviceaccount:shop:orders", clientId: "orders" }],
        },
        {
          issuer: spire.issuer,
          jwksUri: spire.jwksUri,
          algorithms: ["ES256"],
          replay: "reuse-within-lifetime",
          subjects: [{ subject: LEDGER_ID, clientId: "ledger" }],
        },
        {
          issuer: strict.issuer,
          jwksUri: strict.jwksUri,
          algorithms: ["RS256"],
          subjects: [{ subject: "system:serviceaccount:jobs:batch", clientId: "batch" }],
        },
      ],
    },
    {},
    () => "",
  );
}

before(async () => {
  k8s = await startWorkloadIssuer("https://kubernetes.default.svc.cluster.local");
  spire = await startWorkloadIssuer("https://oidc-discovery.example.org", "ES256");
  strict = await startWorkloadIssuer("https://container.googleapis.com/v1/projects/p/locations/l/clusters/c");
  server = await startCapturedServer({ config: configFor() });
  apis = [grpcJsApi(server.grpcAddress), connectApi(server.httpUrl, "grpc"), connectApi(server.httpUrl, "connect-h1")];
});
after(async () => {
  killUnfinished();
  await Promise.all(apis.map((api) => api.close()));
  await server.stop();
  await Promise.all([k8s.close(), spire.close(), strict.close()]);
  rmSync(work, { recursive: true, force: true });
});

const ordersToken = () => k8s.kubernetesToken({ ...ORDERS_SA, audience: server.issuer });
const ledgerSvid = () => spire.spiffeSvid({ spiffeId: LEDGER_ID, audience: server.issuer });

/** openid-client's client authentication hook, sending the workload token as client_assertion. */
function workloadAuth(token: string): client.ClientAuth {
  return (_as, _client, body) => {
    body.set("client_assertion_type", CLIENT_ASSERTION_TYPE);
    body.set("client_assertion", token);
  };
}

function openidConfig(clientId: string, auth: client.ClientAuth): client.Configuration {
  const config = new client.Configuration({ issuer: server.issuer, token_endpoint: `${server.httpUrl}/oauth2/token` }, clientId, undefined, auth);
  client.allowInsecureRequests(config);
  return config;
}

async function post(params: Record<string, string>, authorization?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.httpUrl}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function frontendToken(scope = "orders.read ledger.read ledger.write"): Promise<string> {
  const tokens = await client.clientCredentialsGrant(openidConfig("frontend", client.ClientSecretBasic(SECRET)), { audience: "orders", scope });
  return tokens.access_token;
}

async function verifyRemote(token: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.httpUrl}/.well-known/jwks.json`));
  return (await jwtVerify(token, jwks, { issuer: server.issuer, audience, typ: "at+jwt" })).payload;
}

describe("workload identity: clients with no secret", () => {
  test("HTTP (openid-client): a Kubernetes service-account token is the client assertion of client_credentials", async () => {
    const tokens = await client.clientCredentialsGrant(openidConfig("orders", workloadAuth(await ordersToken())), { audience: "ledger", scope: "ledger.read" });
    const claims = await verifyRemote(tokens.access_token, "ledger");
    assert.equal(claims.client_id, "orders");
    assert.equal(claims.scope, "ledger.read");
  });

  test("gRPC and Connect: IssueToken with a workload token, the same Kubernetes token again and again; an SVID client without client_credentials is unauthorized_client", async () => {
    const svid = await spire.spiffeSvid({ spiffeId: LEDGER_ID, audience: server.issuer });
    // ledger may only exchange; batch uses client_credentials: use its token shape through the strict issuer below.
    for (const api of apis) {
      const failure = await callFails(
        api,
        api.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: svid }, audience: "audit" }),
      );
      assert.equal(failure.detail?.error, "unauthorized_client", api.name);
      const issued = await api.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: await ordersToken() }, audience: "ledger" });
      assert.deepEqual(issued.scopes, ["ledger.read", "ledger.write", "ledger.admin"], api.name);
    }
    const k8sToken = await ordersToken();
    for (let i = 0; i < 3; i++) {
      for (const api of apis)
        assert.ok(
          (await api.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: k8sToken }, audience: "ledger" })).accessToken,
        );
    }
  });

  test("single-use issuer: a token without jti is refused (invalid_client); with jti it is accepted once, on any surface", async () => {
    const noJti = await strict.kubernetesToken({ namespace: "jobs", serviceAccount: "batch", audience: server.issuer });
    const refused = await post({ grant_type: "client_credentials", client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: noJti });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, "invalid_client");
    const once = await strict.kubernetesToken({ namespace: "jobs", serviceAccount: "batch", audience: server.issuer, jti: randomUUID() });
    const first = await post({ grant_type: "client_credentials", client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: once });
    assert.equal(first.status, 200);
    for (const api of apis) {
      const failure = await callFails(api, api.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: once } }));
      assert.equal(failure.code, GRPC.UNAUTHENTICATED, api.name);
    }
    assert.equal((await post({ grant_type: "client_credentials", client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: once })).status, 401);
  });

  test("a workload token for another audience, or signed by a key the issuer does not publish, is invalid_client", async () => {
    const otherAudience = await k8s.kubernetesToken({ ...ORDERS_SA, audience: "https://kubernetes.default.svc" });
    const unknownKey = await k8s.sign(
      { iss: k8s.issuer, sub: "system:serviceaccount:shop:orders", aud: [server.issuer], exp: Math.floor(Date.now() / 1000) + 600 },
      "rotated-away",
    );
    for (const token of [otherAudience, unknownKey]) {
      const res = await post({ grant_type: "client_credentials", client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token });
      assert.equal(res.status, 401);
      assert.equal(res.body.error, "invalid_client");
    }
  });
});

describe("token exchange (RFC 8693): frontend → orders → ledger → audit", () => {
  test("HTTP (openid-client genericGrantRequest): orders exchanges frontend's token; then ledger exchanges that one; act nests", async () => {
    const subject = await frontendToken();
    const hop1 = await client.genericGrantRequest(openidConfig("orders", workloadAuth(await ordersToken())), EXCHANGE, {
      subject_token: subject,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: "ledger",
    });
    assert.equal(hop1.issued_token_type, TOKEN_TYPE_ACCESS_TOKEN);
    assert.equal(hop1.scope, "ledger.read ledger.write");
    const first = await verifyRemote(hop1.access_token, "ledger");
    assert.equal(first.sub, "frontend");
    assert.deepEqual(first.act, { sub: "orders" });
    assert.ok(first.exp! <= decodeJwt(subject).exp!);

    const hop2 = await client.genericGrantRequest(openidConfig("ledger", workloadAuth(await ledgerSvid())), EXCHANGE, {
      subject_token: hop1.access_token,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: "audit",
    });
    const second = await verifyRemote(hop2.access_token, "audit");
    assert.equal(second.sub, "frontend");
    assert.equal(second.client_id, "ledger");
    assert.deepEqual(second.act, { sub: "ledger", act: { sub: "orders" } });
    assert.equal(second.scope, "ledger.read");

    // audit's verifier (keys from the JWKS over HTTP, revocations from the feed) shows the chain on the principal.
    const verifier = remoteVerifier({ issuer: server.issuer, revocations: server.revocations! });
    await verifier.start();
    try {
      const principal = await verifier.authenticate(`Bearer ${hop2.access_token}`);
      assert.equal(principal.subject, "frontend");
      assert.equal(principal.clientId, "ledger");
      assert.deepEqual(principal.actors, ["ledger", "orders"]);
      assert.deepEqual((await verifier.authenticate(`Bearer ${hop1.access_token}`)).actors, ["orders"]);
    } finally {
      await verifier.stop();
    }
  });

  test("gRPC and Connect: ExchangeToken, then the same refusals with the right codes", async () => {
    for (const api of apis) {
      const subject = await frontendToken();
      const actor = { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: await ordersToken() };
      const exchanged = await api.exchangeToken({
        client: actor,
        subjectToken: subject,
        subjectTokenType: TOKEN_TYPE_ACCESS_TOKEN,
        audience: "ledger",
        scopes: ["ledger.read"],
      });
      assert.equal(exchanged.issuedTokenType, TOKEN_TYPE_ACCESS_TOKEN, api.name);
      assert.equal(exchanged.tokenType, "Bearer");
      assert.deepEqual(exchanged.scopes, ["ledger.read"]);
      assert.deepEqual(decodeJwt(exchanged.accessToken).act, { sub: "orders" });

      const refusals: [string, { subjectToken?: string; audience?: string; scopes?: string[] }, number, string][] = [
        ["escalation: a scope the subject token lacks", { scopes: ["ledger.admin"] }, GRPC.PERMISSION_DENIED, "invalid_scope"],
        ["an audience outside the actor's grant", { audience: "audit" }, GRPC.PERMISSION_DENIED, "invalid_target"],
        ["no subject token", { subjectToken: "" }, GRPC.INVALID_ARGUMENT, "invalid_request"],
        ["a garbage subject token", { subjectToken: "x.y.z" }, GRPC.INVALID_ARGUMENT, "invalid_request"],
        ["a token the actor never received (its own, for ledger)", { subjectToken: exchanged.accessToken }, GRPC.INVALID_ARGUMENT, "invalid_request"],
      ];
      for (const [name, change, code, error] of refusals) {
        const request = { client: actor, subjectToken: subject, subjectTokenType: TOKEN_TYPE_ACCESS_TOKEN, audience: "ledger", ...change };
        const failure = await callFails(api, api.exchangeToken(request));
        assert.equal(failure.code, code, `${api.name}: ${name}`);
        assert.equal(failure.detail?.error, error, `${api.name}: ${name}`);
      }
      // frontend may not exchange at all.
      const failure = await callFails(
        api,
        api.exchangeToken(
          { subjectToken: subject, subjectTokenType: TOKEN_TYPE_ACCESS_TOKEN },
          `Basic ${Buffer.from(`frontend:${SECRET}`).toString("base64")}`,
        ),
      );
      assert.equal(failure.detail?.error, "unauthorized_client", api.name);
    }
  });

  test("HTTP refusals: the RFC 8693 §2.2.2 errors; a revoked subject token is refused", async () => {
    const subject = await frontendToken();
    const auth = { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await ordersToken() };
    const base = { grant_type: EXCHANGE, subject_token: subject, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: "ledger", ...auth };
    const cases: [Record<string, string>, string][] = [
      [{ scope: "ledger.admin" }, "invalid_scope"],
      [{ scope: "orders.read" }, "invalid_scope"],
      [{ audience: "audit" }, "invalid_target"],
      [{ requested_token_type: "urn:ietf:params:oauth:token-type:id_token" }, "invalid_request"],
      [{ subject_token_type: "urn:ietf:params:oauth:token-type:jwt" }, "invalid_request"],
    ];
    for (const [change, error] of cases) {
      const res = await post({ ...base, ...change });
      assert.equal(res.status, 400, JSON.stringify(change));
      assert.equal(res.body.error, error, JSON.stringify(change));
      assert.equal(res.body.access_token, undefined);
    }
    const revoke = await fetch(`${server.httpUrl}/oauth2/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`frontend:${SECRET}`).toString("base64")}` },
      body: new URLSearchParams({ token: subject }),
    });
    assert.equal(revoke.status, 200);
    const refused = await post(base);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, "invalid_request");
  });

  test("tessera/client: clientCredentialsFetcher with workload_identity; DelegatedTokenSource exchanges once per (caller token, audience, scopes)", async () => {
    let reads = 0;
    const auth = {
      method: "workload_identity" as const,
      token: async () => {
        reads++;
        return ordersToken();
      },
    };
    const endpoint = { tokenEndpoint: `${server.httpUrl}/oauth2/token`, issuer: server.issuer, clientId: "orders", auth };
    const own = await clientCredentialsFetcher(endpoint)({ audience: "ledger", scopes: ["ledger.read"] });
    assert.equal(decodeJwt(own.accessToken).client_id, "orders");
    assert.equal(reads, 1, "the workload token is read for each request");

    const exchanges: string[] = [];
    const exchange = tokenExchangeFetcher(endpoint);
    const counted: DelegatedTokenFetcher = (request) => {
      exchanges.push(request.audience);
      return exchange(request);
    };
    const onBehalf = new DelegatedTokenSource({ fetch: counted });
    const alice = await frontendToken();
    const bob = await frontendToken("ledger.read");
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => onBehalf.get(alice, "ledger", ["ledger.read"])));
    assert.equal(new Set(concurrent).size, 1);
    assert.equal(exchanges.length, 1);
    assert.deepEqual(decodeJwt(concurrent[0]!).act, { sub: "orders" });
    assert.equal(await onBehalf.get(alice, "ledger", ["ledger.read"]), concurrent[0]);
    await onBehalf.get(bob, "ledger", ["ledger.read"]);
    assert.equal(exchanges.length, 2, "another caller's token is another exchange");
    // A refusal is not cached: the same request is asked again, and refused again.
    await assert.rejects(onBehalf.get(bob, "ledger", ["ledger.write"]), { error: "invalid_scope" });
    await assert.rejects(onBehalf.get(bob, "ledger", ["ledger.write"]), { error: "invalid_scope" });
    assert.equal(exchanges.length, 4);
  });

  test("authlib (python): the token-exchange grant with a workload client assertion", { timeout: 60_000 }, async () => {
    const script = join(work, "exchange.py");
    writeFileSync(
      script,
      `
import json, sys
from authlib.integrations.requests_client import OAuth2Session
spec = json.load(open(sys.argv[1]))
session = OAuth2Session(client_id="orders", token_endpoint_auth_method="none")
token = session.fetch_token(spec["token_endpoint"], grant_type="${EXCHANGE}",
    subject_token=spec["subject_token"], subject_token_type="${TOKEN_TYPE_ACCESS_TOKEN}", audience="ledger", scope="ledger.read",
    client_assertion_type="${CLIENT_ASSERTION_TYPE}", client_assertion=spec["workload_token"])
print(json.dumps({"issued_token_type": token["issued_token_type"], "scope": token["scope"], "access_token": token["access_token"]}))
`,
    );
    const spec = join(work, "spec.json");
    writeFileSync(
      spec,
      JSON.stringify({ token_endpoint: `${server.httpUrl}/oauth2/token`, subject_token: await frontendToken(), workload_token: await ordersToken() }),
    );
    const run = await runToEnd("/usr/bin/python3", [script, spec], { env: { ...process.env, NO_PROXY: "127.0.0.1" }, timeoutMs: 30_000 });
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { issued_token_type: string; scope: string; access_token: string };
    assert.equal(out.issued_token_type, TOKEN_TYPE_ACCESS_TOKEN);
    assert.equal(out.scope, "ledger.read");
    assert.deepEqual((await verifyRemote(out.access_token, "ledger")).act, { sub: "orders" });
  });
});
