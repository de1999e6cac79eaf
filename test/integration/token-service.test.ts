import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTHeaderParameters } from "jose";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { ServiceError } from "@grpc/grpc-js";
import { AuthErrorDetailSchema, IntrospectResponseSchema, TokenService, type IntrospectResponse } from "../../gen/tessera/v1/token_service_pb.js";
import type { TesseraConfig } from "../../src/config/types.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { CLIENT_ASSERTION_TYPE, clientAssertion } from "../helpers/assertions.js";
import { REPO_ROOT } from "../helpers/child-process.js";
import { SECRETS, basicAuthorization, type ClientKeyPair } from "../helpers/fixtures.js";
import { startFixtureServer } from "../helpers/start-server.js";
import { callFails, connectApi, grpcJsApi, type CallError, type TokenServiceApi } from "../helpers/token-service-clients.js";

const CALENDAR = "https://calendar.example.com";
const FILES = "https://files.example.com";
const TOKEN_SERVICE = TokenService.typeName;
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** gRPC status codes (the same numbers in grpc-js and Connect). */
const Code = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16 } as const;

const billing = () => basicAuthorization("billing", SECRETS.basic);
const calendar = () => basicAuthorization("calendar", SECRETS.other);

let server: TesseraServer;
let config: TesseraConfig;
let keyPair: ClientKeyPair;
const opened = new Map<string, TokenServiceApi>();

/** Every client library and protocol the token service must answer, each made on first use. */
const TRANSPORTS: { name: string; make: () => TokenServiceApi }[] = [
  { name: "grpc-js → grpc listener", make: () => grpcJsApi(server.grpcAddress) },
  { name: "connect-node gRPC (h2c) → http listener", make: () => connectApi(server.httpUrl, "grpc") },
  { name: "connect-node Connect HTTP/1.1 → http listener", make: () => connectApi(server.httpUrl, "connect-h1") },
  { name: "connect-node Connect HTTP/2 (h2c) → http listener", make: () => connectApi(server.httpUrl, "connect-h2") },
  { name: "connect-node Connect JSON HTTP/1.1 → http listener", make: () => connectApi(server.httpUrl, "connect-h1", { binary: false }) },
  { name: "connect-node gRPC-Web HTTP/1.1 → http listener", make: () => connectApi(server.httpUrl, "grpc-web") },
  {
    name: "connect-node gRPC (h2c) → grpc listener",
    make: () => connectApi(`http://${server.grpcAddress}`, "grpc", { listener: "grpc" }),
  },
];

function api(name: string): TokenServiceApi {
  let found = opened.get(name);
  if (found === undefined) {
    const transport = TRANSPORTS.find((t) => t.name === name);
    if (transport === undefined) throw new Error(`no transport ${name}`);
    found = transport.make();
    opened.set(name, found);
  }
  return found;
}

const grpcJs = () => api(TRANSPORTS[0]!.name);
const connectGrpc = () => api(TRANSPORTS[1]!.name);

before(async () => {
  ({ server, config, keyPair } = await startFixtureServer());
});

after(async () => {
  await Promise.all([...opened.values()].map((a) => a.close()));
  await server?.stop();
});

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

async function verifyWithJwks(
  a: TokenServiceApi,
  token: string,
  audience: string,
): Promise<{ payload: JWTPayload; protectedHeader: JWTHeaderParameters; jwks: JSONWebKeySet }> {
  const jwks = JSON.parse((await a.getJwks()).jwksJson) as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    typ: "at+jwt",
    issuer: config.issuer,
    audience,
    algorithms: ["ES256"],
  });
  return { payload, protectedHeader, jwks };
}

function assertAuthError(err: CallError, code: number, error: string): void {
  assert.equal(err.code, code, `code (message: ${err.message})`);
  assert.ok(err.detail, "the error carries a tessera.v1.AuthErrorDetail");
  assert.equal(err.detail.error, error);
  assert.equal(err.detail.errorDescription, err.message);
  for (const secret of Object.values(SECRETS)) assert.ok(!err.message.includes(secret), "the message never echoes a secret");
}

function assertInactive(a: TokenServiceApi, response: IntrospectResponse): void {
  assert.equal(response.active, false, `${a.name}: inactive`);
  // Exactly {active:false}: no other member set.
  assert.deepEqual(toJson(IntrospectResponseSchema, response), {});
}

for (const { name } of TRANSPORTS) {
  describe(name, () => {
    test("IssueToken with client_secret_basic returns an RFC 9068 token that verifies against GetJwks", async () => {
      const a = api(name);
      const t0 = nowSeconds();
      const res = await a.issueToken({ resource: CALENDAR, scopes: ["event.view"] }, billing());
      const t1 = nowSeconds();
      assert.equal(res.tokenType, "Bearer");
      assert.equal(res.expiresIn, 300n);
      assert.deepEqual(res.scopes, ["event.view"]);
      assert.equal(res.audience, CALENDAR);

      const { payload, protectedHeader, jwks } = await verifyWithJwks(a, res.accessToken, CALENDAR);
      assert.equal(protectedHeader.typ, "at+jwt");
      assert.equal(protectedHeader.alg, "ES256");
      assert.ok(typeof protectedHeader.kid === "string" && protectedHeader.kid.length > 0);
      assert.ok(
        jwks.keys.some((k) => k.kid === protectedHeader.kid),
        "kid names a published key",
      );
      assert.equal(payload.iss, config.issuer);
      assert.equal(payload.sub, "billing");
      assert.equal(payload.aud, CALENDAR);
      assert.equal(payload.client_id, "billing");
      assert.equal(payload.scope, "event.view");
      assert.ok(typeof payload.iat === "number" && payload.iat >= t0 && payload.iat <= t1, "iat is now");
      assert.equal(payload.nbf, payload.iat);
      assert.equal(payload.exp! - payload.iat, 300);
      assert.ok(typeof payload.jti === "string" && payload.jti.length >= 16);
      assert.deepEqual(Object.keys(payload).sort(), ["aud", "client_id", "exp", "iat", "iss", "jti", "nbf", "scope", "sub"]);

      const again = await a.issueToken({ resource: CALENDAR, scopes: ["event.view"] }, billing());
      assert.notEqual(decodeJwt(again.accessToken).jti, payload.jti, "every token has its own jti");
    });

    test("IssueToken with Basic and no scopes grants every scope of the resource", async () => {
      const res = await api(name).issueToken({ resource: CALENDAR }, billing());
      assert.deepEqual(res.scopes, ["event.view", "event.create"]);
      assert.equal(decodeJwt(res.accessToken).scope, "event.view event.create");
    });

    test("GetJwks publishes public keys with kid, alg and use, and no private member", async () => {
      const res = await api(name).getJwks();
      const jwks = JSON.parse(res.jwksJson) as JSONWebKeySet;
      assert.ok(jwks.keys.length >= 1);
      for (const key of jwks.keys) {
        assert.ok(key.kid, "kid");
        assert.equal(key.alg, "ES256");
        assert.equal(key.use, "sig");
        assert.equal(key.kty, "EC");
        for (const member of PRIVATE_JWK_MEMBERS) assert.ok(!(member in key), `no private member ${member}`);
      }
      assert.equal(res.keys.length, jwks.keys.length);
      res.keys.forEach((key, i) => {
        const json = jwks.keys[i]!;
        assert.ok(key.kid && key.alg && key.use, "kid, alg and use set");
        assert.deepEqual([key.kid, key.kty, key.alg, key.use, key.crv, key.x, key.y], [json.kid, json.kty, json.alg, json.use, json.crv, json.x, json.y]);
        assert.equal(key.n, "");
        assert.equal(key.e, "");
      });
    });

    test("Introspect by the audience's resource server, Revoke by the owner, then inactive", async () => {
      const a = api(name);
      const { accessToken } = await a.issueToken({ resource: CALENDAR, scopes: ["event.view"] }, billing());
      const claims = decodeJwt(accessToken);

      const active = await a.introspect({ token: accessToken }, calendar());
      assert.equal(active.active, true);
      assert.equal(active.scope, "event.view");
      assert.equal(active.clientId, "billing");
      assert.equal(active.tokenType, "Bearer");
      assert.equal(active.sub, "billing");
      assert.equal(active.aud, CALENDAR);
      assert.equal(active.iss, config.issuer);
      assert.equal(active.jti, claims.jti);
      assert.equal(active.exp, BigInt(claims.exp!));
      assert.equal(active.iat, BigInt(claims.iat!));
      assert.equal(active.nbf, BigInt(claims.nbf!));

      assert.deepEqual(toJson(TokenService.method.revoke.output, await a.revoke({ token: accessToken }, billing())), {});
      assertInactive(a, await a.introspect({ token: accessToken }, calendar()));
      // Revoking again, or revoking garbage, is accepted silently (RFC 7009 §2.2).
      await a.revoke({ token: accessToken }, billing());
      await a.revoke({ token: "not-a-token" }, billing());
    });

    test("Introspect of unknown or garbage tokens is exactly {active:false}", async () => {
      const a = api(name);
      assertInactive(a, await a.introspect({ token: "garbage" }, calendar()));
      const { accessToken } = await a.issueToken({ resource: CALENDAR }, billing());
      const [h, p, s] = accessToken.split(".");
      const tampered = `${h}.${p}.${s!.startsWith("A") ? "B" : "A"}${s!.slice(1)}`;
      assertInactive(a, await a.introspect({ token: tampered }, calendar()));
    });

    test("client authentication failures: UNAUTHENTICATED invalid_client, the same answer whatever the reason", async () => {
      const a = api(name);
      const wrongSecret = await callFails(a, a.issueToken({ resource: CALENDAR }, basicAuthorization("billing", `${SECRETS.basic}x`)));
      assertAuthError(wrongSecret, Code.UNAUTHENTICATED, "invalid_client");
      const unknownClient = await callFails(a, a.issueToken({ resource: CALENDAR }, basicAuthorization("nobody", SECRETS.basic)));
      assertAuthError(unknownClient, Code.UNAUTHENTICATED, "invalid_client");
      assert.equal(unknownClient.message, wrongSecret.message);
      assert.deepEqual(unknownClient.detail, wrongSecret.detail);
      // A secret client using the method it is not registered for (reporter is client_secret_post).
      const wrongMethod = await callFails(a, a.issueToken({ resource: CALENDAR }, basicAuthorization("reporter", SECRETS.post)));
      assert.deepEqual([wrongMethod.code, wrongMethod.message, wrongMethod.detail], [wrongSecret.code, wrongSecret.message, wrongSecret.detail]);
      // No credentials at all.
      assertAuthError(await callFails(a, a.issueToken({ resource: CALENDAR })), Code.UNAUTHENTICATED, "invalid_client");
      // The same on Introspect and Revoke.
      assertAuthError(await callFails(a, a.introspect({ token: "x" }, basicAuthorization("calendar", "wrong"))), Code.UNAUTHENTICATED, "invalid_client");
      assertAuthError(await callFails(a, a.revoke({ token: "x" }, basicAuthorization("billing", "wrong"))), Code.UNAUTHENTICATED, "invalid_client");
    });

    test("a scope outside the grant is PERMISSION_DENIED invalid_scope, never dropped", async () => {
      const a = api(name);
      const err = await callFails(a, a.issueToken({ resource: CALENDAR, scopes: ["event.view", "event.delete"] }, billing()));
      assertAuthError(err, Code.PERMISSION_DENIED, "invalid_scope");
      // A scope granted for another of the client's resources is outside this one's grant too.
      assertAuthError(await callFails(a, a.issueToken({ resource: FILES, scopes: ["event.view"] }, billing())), Code.PERMISSION_DENIED, "invalid_scope");
    });

    test("a malformed resource is INVALID_ARGUMENT invalid_target; an ungranted one PERMISSION_DENIED", async () => {
      const a = api(name);
      assertAuthError(await callFails(a, a.issueToken({ resource: "not a uri" }, billing())), Code.INVALID_ARGUMENT, "invalid_target");
      assertAuthError(await callFails(a, a.issueToken({ resource: `${CALENDAR}#frag` }, billing())), Code.INVALID_ARGUMENT, "invalid_target");
      // Exact match only: no prefix match, no case folding.
      assertAuthError(await callFails(a, a.issueToken({ resource: `${CALENDAR}/x` }, billing())), Code.PERMISSION_DENIED, "invalid_target");
      assertAuthError(await callFails(a, a.issueToken({ resource: CALENDAR.toUpperCase() }, billing())), Code.PERMISSION_DENIED, "invalid_target");
    });

    test("Basic and a client_secret in the message together are INVALID_ARGUMENT invalid_request", async () => {
      const a = api(name);
      const err = await callFails(a, a.issueToken({ resource: CALENDAR, client: { clientId: "billing", clientSecret: SECRETS.basic } }, billing()));
      assertAuthError(err, Code.INVALID_ARGUMENT, "invalid_request");
    });

    test("a client without the client_credentials grant type is PERMISSION_DENIED unauthorized_client", async () => {
      const a = api(name);
      const err = await callFails(a, a.issueToken({ resource: CALENDAR, client: { clientId: "norights", clientSecret: SECRETS.other } }));
      assertAuthError(err, Code.PERMISSION_DENIED, "unauthorized_client");
    });

    test("a client may revoke only its own tokens", async () => {
      const a = api(name);
      const { accessToken } = await a.issueToken({ resource: CALENDAR }, billing());
      assertAuthError(await callFails(a, a.revoke({ token: accessToken }, calendar())), Code.PERMISSION_DENIED, "unauthorized_client");
      const norights = { clientId: "norights", clientSecret: SECRETS.other };
      assertAuthError(await callFails(a, a.revoke({ token: accessToken, client: norights })), Code.PERMISSION_DENIED, "unauthorized_client");
      const still = await a.introspect({ token: accessToken }, calendar());
      assert.equal(still.active, true, "the token stays active");
      assert.equal(still.jti, decodeJwt(accessToken).jti);
    });

    test("Introspect by a client that may not introspect is refused", async () => {
      const a = api(name);
      const { accessToken } = await a.issueToken({ resource: CALENDAR }, billing());
      const err = await callFails(a, a.introspect({ token: accessToken, client: { clientId: "norights", clientSecret: SECRETS.other } }));
      assertAuthError(err, Code.PERMISSION_DENIED, "unauthorized_client");
    });

    test("Introspect of a token for another audience is exactly {active:false}", async () => {
      const a = api(name);
      const { accessToken } = await a.issueToken({ resource: FILES, scopes: ["file.view"] }, billing());
      assertInactive(a, await a.introspect({ token: accessToken }, calendar()));
    });

    test("client_secret_post: client fields in the message; the client's token lifetime (120 s)", async () => {
      const a = api(name);
      const res = await a.issueToken({ client: { clientId: "reporter", clientSecret: SECRETS.post }, scopes: ["event.view"] });
      assert.equal(res.expiresIn, 120n);
      assert.equal(res.audience, CALENDAR);
      const { payload } = await verifyWithJwks(a, res.accessToken, CALENDAR);
      assert.equal(payload.exp! - payload.iat!, 120);
      assert.equal(payload.client_id, "reporter");
      assertAuthError(
        await callFails(a, a.issueToken({ client: { clientId: "reporter", clientSecret: SECRETS.basic } })),
        Code.UNAUTHENTICATED,
        "invalid_client",
      );
    });

    test("private_key_jwt: an assertion signed with the client's key, aud = issuer", async () => {
      const a = api(name);
      const assertion = await clientAssertion({
        clientId: "keyed",
        audience: config.issuer,
        key: keyPair.privateKey,
        alg: "ES256",
        now: nowSeconds(),
        kid: keyPair.publicJwk.kid!,
      });
      const res = await a.issueToken({
        audience: "calendar",
        scopes: ["event.delete"],
        client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion },
      });
      assert.deepEqual(res.scopes, ["event.delete"]);
      const { payload } = await verifyWithJwks(a, res.accessToken, "calendar");
      assert.equal(payload.sub, "keyed");
      assert.equal(payload.client_id, "keyed");
      // Used once: the same assertion again is refused.
      const replay = await callFails(
        a,
        a.issueToken({ audience: "calendar", client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion } }),
      );
      assertAuthError(replay, Code.UNAUTHENTICATED, "invalid_client");
      // aud must be the issuer.
      const wrongAud = await clientAssertion({
        clientId: "keyed",
        audience: `${config.issuer}/oauth2/token`,
        key: keyPair.privateKey,
        alg: "ES256",
        now: nowSeconds(),
      });
      assertAuthError(
        await callFails(a, a.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: wrongAud } })),
        Code.UNAUTHENTICATED,
        "invalid_client",
      );
    });

    test("client_secret_jwt: an HS256 assertion with the shared secret", async () => {
      const a = api(name);
      const key = new TextEncoder().encode(SECRETS.jwt);
      const assertion = await clientAssertion({ clientId: "signer", audience: config.issuer, key, alg: "HS256", now: nowSeconds() });
      const res = await a.issueToken({
        resource: CALENDAR,
        client: { clientId: "signer", clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion },
      });
      const { payload } = await verifyWithJwks(a, res.accessToken, CALENDAR);
      assert.equal(payload.sub, "signer");
      assert.equal(payload.scope, "event.view");
      // A wrong HMAC key fails like any other client authentication failure.
      const forged = await clientAssertion({
        clientId: "signer",
        audience: config.issuer,
        key: new TextEncoder().encode(`${SECRETS.jwt}-wrong`),
        alg: "HS256",
        now: nowSeconds(),
      });
      assertAuthError(
        await callFails(a, a.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: forged } })),
        Code.UNAUTHENTICATED,
        "invalid_client",
      );
    });

    test("grpc.health.v1.Health Check", async () => {
      const a = api(name);
      assert.equal((await a.healthCheck("")).status, ServingStatus.SERVING);
      assert.equal((await a.healthCheck(TOKEN_SERVICE)).status, ServingStatus.SERVING);
      // grpc.health.v1: Check of an unknown service fails with NOT_FOUND.
      for (const other of ["tessera.v1.Unknown", "grpc.health.v1.Health", TOKEN_SERVICE.toLowerCase()]) {
        assert.equal((await callFails(a, a.healthCheck(other))).code, 5, other);
      }
    });

    test("an oversized request (200 KB of scopes) is refused with RESOURCE_EXHAUSTED", async () => {
      const a = api(name);
      const scopes = Array.from({ length: 2000 }, (_, i) => `scope.${i}.${"x".repeat(95)}`);
      let thrown: unknown;
      try {
        await a.issueToken({ resource: CALENDAR, scopes }, billing());
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown !== undefined, "the oversized request must fail");
      const code = (thrown as { code?: unknown }).code;
      assert.equal(code, Code.RESOURCE_EXHAUSTED, `code of ${String(thrown)}`);
      // The listener still serves afterwards.
      assert.equal((await a.issueToken({ resource: CALENDAR }, billing())).tokenType, "Bearer");
    });
  });
}

describe("client assertion jti is single-use under concurrency", () => {
  async function fiftyParallel(a: TokenServiceApi): Promise<void> {
    const assertion = await clientAssertion({ clientId: "keyed", audience: config.issuer, key: keyPair.privateKey, alg: "ES256", now: nowSeconds() });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => a.issueToken({ client: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion } })),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => a.callError(r.reason));
    assert.equal(ok.length, 1, "exactly one token");
    assert.equal(failed.length, 49);
    for (const err of failed) assertAuthError(err, Code.UNAUTHENTICATED, "invalid_client");
    const token = (ok[0] as PromiseFulfilledResult<{ accessToken: string }>).value.accessToken;
    assert.equal((await verifyWithJwks(a, token, "calendar")).payload.sub, "keyed");
  }

  test("50 parallel IssueToken calls with one assertion over grpc-js: one token, 49 UNAUTHENTICATED", () => fiftyParallel(grpcJs()));
  test("the same over Connect gRPC on the HTTP listener", () => fiftyParallel(connectGrpc()));

  test("an assertion used on one listener is refused on the other", async () => {
    const assertion = await clientAssertion({ clientId: "keyed", audience: config.issuer, key: keyPair.privateKey, alg: "ES256", now: nowSeconds() });
    const client = { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion };
    await grpcJs().issueToken({ client });
    assertAuthError(await callFails(connectGrpc(), connectGrpc().issueToken({ client })), Code.UNAUTHENTICATED, "invalid_client");
  });

  test("a revocation on one listener is seen on the other", async () => {
    const { accessToken } = await connectGrpc().issueToken({ resource: CALENDAR }, billing());
    assert.equal((await grpcJs().introspect({ token: accessToken }, calendar())).active, true);
    await grpcJs().revoke({ token: accessToken }, billing());
    assertInactive(connectGrpc(), await connectGrpc().introspect({ token: accessToken }, calendar()));
  });
});

describe("h2c on the HTTP listener", () => {
  test("sequential calls do not stall on Nagle + delayed ACK (~40 ms each)", async () => {
    const a = api(TRANSPORTS[3]!.name); // Connect over HTTP/2, same session for every call
    await a.getJwks(); // session set up
    const durations: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      await a.getJwks();
      durations.push(performance.now() - t);
    }
    durations.sort((x, y) => x - y);
    const median = durations[10]!;
    assert.ok(median < 25, `median h2c call took ${median.toFixed(1)} ms`);
  });
});

describe("grpc-js error trailers", () => {
  test("invalid_client over Basic carries a Basic challenge and a google.rpc.Status with the same code", async () => {
    const a = grpcJs();
    let thrown: unknown;
    try {
      await a.issueToken({ resource: CALENDAR }, basicAuthorization("billing", "wrong"));
    } catch (err) {
      thrown = err;
    }
    const err = thrown as ServiceError;
    assert.equal(err.code, Code.UNAUTHENTICATED);
    assert.match(String(err.metadata.get("www-authenticate")[0]), /^Basic realm="tessera"/);
    // callError decodes grpc-status-details-bin and checks that its code and message match the status.
    assert.equal(a.callError(err).detail?.error, "invalid_client");
  });
});

describe("buf curl", () => {
  const run = promisify(execFile);
  const buf = (args: string[]) =>
    run("npx", ["--no", "buf", "curl", "--schema", join(REPO_ROOT, "proto"), ...args], { cwd: REPO_ROOT, timeout: 20_000, maxBuffer: 1 << 20 });

  const cases: { name: string; args: () => string[] }[] = [
    { name: "gRPC → grpc listener", args: () => ["--protocol", "grpc", "--http2-prior-knowledge", `http://${server.grpcAddress}`] },
    { name: "Connect HTTP/1.1 → http listener", args: () => ["--protocol", "connect", server.httpUrl] },
    { name: "gRPC h2c → http listener", args: () => ["--protocol", "grpc", "--http2-prior-knowledge", server.httpUrl] },
  ];

  for (const c of cases) {
    test(`${c.name}: GetJwks and IssueToken`, async () => {
      const [flags, base] = [c.args().slice(0, -1), c.args().at(-1)!];
      // The two calls are independent: run them side by side to keep the file fast.
      const [jwksOut, issued] = await Promise.all([
        buf([...flags, "-d", "{}", `${base}/tessera.v1.TokenService/GetJwks`]),
        buf([
          ...flags,
          "-H",
          `authorization: ${billing()}`,
          "-d",
          JSON.stringify({ resource: CALENDAR, scopes: ["event.view"] }),
          `${base}/tessera.v1.TokenService/IssueToken`,
        ]),
      ]);
      const jwksRes = JSON.parse(jwksOut.stdout) as { jwksJson: string; keys: { kid: string }[] };
      const jwks = JSON.parse(jwksRes.jwksJson) as JSONWebKeySet;
      assert.equal(jwksRes.keys[0]?.kid, jwks.keys[0]?.kid);
      const res = JSON.parse(issued.stdout) as { accessToken: string; tokenType: string; expiresIn: string; scopes: string[]; audience: string };
      assert.equal(res.tokenType, "Bearer");
      assert.equal(res.expiresIn, "300");
      assert.deepEqual(res.scopes, ["event.view"]);
      const { payload } = await jwtVerify(res.accessToken, createLocalJWKSet(jwks), { typ: "at+jwt", issuer: config.issuer, audience: CALENDAR });
      assert.equal(payload.sub, "billing");
    });
  }

  test("an error comes back with its code and AuthErrorDetail", async () => {
    const failed = await buf([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-H",
      `authorization: ${basicAuthorization("billing", "wrong")}`,
      "-d",
      JSON.stringify({ resource: CALENDAR }),
      `http://${server.grpcAddress}/tessera.v1.TokenService/IssueToken`,
    ]).then(
      () => undefined,
      (err: { code?: unknown; stderr?: string }) => err,
    );
    assert.ok(failed, "buf curl fails");
    assert.notEqual(failed.code, 0);
    const body = JSON.parse(failed.stderr!.slice(failed.stderr!.indexOf("{"))) as {
      code: string;
      message: string;
      details?: { type: string; value: string }[];
    };
    assert.equal(body.code, "unauthenticated");
    assert.equal(body.message, "client authentication failed");
    assert.equal(body.details?.length, 1);
    assert.equal(body.details[0]!.type, "tessera.v1.AuthErrorDetail");
    const detail = fromBinary(AuthErrorDetailSchema, Buffer.from(body.details[0]!.value, "base64"));
    assert.equal(detail.error, "invalid_client");
    assert.equal(detail.errorDescription, body.message);
  });
});

describe("plain HTTP on the HTTP listener", () => {
  test("GET /healthz is 200", async () => {
    const res = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  test("GET /readyz is 200 while serving", async () => {
    const res = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  test("an unknown path is 404, and so is an unknown RPC", async () => {
    for (const path of ["/nope", "/tessera.v1.TokenService/Nope", "/tessera.v1.Nope/IssueToken"]) {
      const res = await fetch(
        `${server.httpUrl}${path}`,
        path === "/nope" ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
      );
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
  });
});
