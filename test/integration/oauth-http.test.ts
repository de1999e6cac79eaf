// Every STANDARDS rule of the OAuth HTTP endpoints, at the HTTP level, over
// HTTP/1.1 (fetch) and h2c (node:http2) on the shared HTTP listener.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Agent, createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { connect, constants as h2 } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { validateConfig } from "../../src/config/validate.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { CLIENT_ASSERTION_TYPE, clientAssertion } from "../helpers/assertions.js";
import { basicAuthorization, fixtureConfig, SECRETS, type ClientKeyPair } from "../helpers/fixtures.js";

let server: TesseraServer;
let keyPair: ClientKeyPair;

before(async () => {
  const fixture = await fixtureConfig({ issuerFromListener: true });
  keyPair = fixture.keyPair;
  server = await startCapturedServer({ config: fixture.config });
});
after(() => server.stop());

const FORM = "application/x-www-form-urlencoded";
const billingBasic = () => basicAuthorization("billing", SECRETS.basic);

async function post(path: string, form: string | Record<string, string>, headers: Record<string, string> = {}) {
  const body = typeof form === "string" ? form : new URLSearchParams(form).toString();
  const response = await fetch(`${server.httpUrl}${path}`, { method: "POST", headers: { "content-type": FORM, ...headers }, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function token(form: Record<string, string>, headers: Record<string, string> = { authorization: billingBasic() }) {
  return post("/oauth2/token", { grant_type: "client_credentials", ...form }, headers);
}

describe("token endpoint", () => {
  test("success: access_token, Bearer, expires_in, scope; no refresh token; no-store", async () => {
    const r = await token({ resource: "https://calendar.example.com", scope: "event.view" });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json!).sort(), ["access_token", "expires_in", "scope", "token_type"]);
    assert.equal(r.json!.token_type, "Bearer");
    assert.equal(r.json!.expires_in, 300);
    assert.equal(r.json!.scope, "event.view");
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal(r.headers.get("pragma"), "no-cache");
    assert.match(r.headers.get("content-type")!, /^application\/json/);
  });

  test("no scope requested: every scope of the grant, returned in scope", async () => {
    const r = await token({ resource: "https://calendar.example.com" });
    assert.equal(r.json!.scope, "event.view event.create");
  });

  test("the audience alias is accepted", async () => {
    const r = await token({ audience: "https://files.example.com" });
    assert.equal(decodeJwt(r.json!.access_token as string).aud, "https://files.example.com");
  });

  test("POST only", async () => {
    const r = await fetch(`${server.httpUrl}/oauth2/token`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "POST");
  });

  test("form-encoded only", async () => {
    const r = await post("/oauth2/token", JSON.stringify({ grant_type: "client_credentials" }), {
      "content-type": "application/json",
      authorization: billingBasic(),
    });
    assert.equal(r.status, 400);
    assert.equal(r.json!.error, "invalid_request");
  });

  test("a parameter sent twice is refused; a repeated resource (or audience) is invalid_target (RFC 8707)", async () => {
    for (const body of ["grant_type=client_credentials&scope=event.view&scope=event.create", "grant_type=client_credentials&grant_type=client_credentials"]) {
      const r = await post("/oauth2/token", body, { authorization: billingBasic() });
      assert.equal(r.status, 400, body);
      assert.equal(r.json!.error, "invalid_request");
    }
    const calendar = "resource=https%3A%2F%2Fcalendar.example.com";
    for (const body of [
      `grant_type=client_credentials&${calendar}&resource=https%3A%2F%2Ffiles.example.com`,
      `grant_type=client_credentials&${calendar}&${calendar}`,
      "grant_type=client_credentials&audience=calendar&audience=files",
    ]) {
      const r = await post("/oauth2/token", body, { authorization: billingBasic() });
      assert.equal(r.status, 400, body);
      assert.equal(r.json!.error, "invalid_target", body);
    }
  });

  test("credentials never in the query string", async () => {
    const r = await fetch(`${server.httpUrl}/oauth2/token?client_id=reporter&client_secret=${SECRETS.post}`, {
      method: "POST",
      headers: { "content-type": FORM },
      body: "grant_type=client_credentials",
    });
    assert.equal(r.status, 400);
    const body = await r.text();
    assert.ok(!body.includes(SECRETS.post));
  });

  test("grant_type is required; unknown grant types are unsupported_grant_type", async () => {
    assert.equal((await post("/oauth2/token", { scope: "event.view" }, { authorization: billingBasic() })).json!.error, "invalid_request");
    const r = await token({ grant_type: "password", username: "a", password: "b" });
    assert.equal(r.status, 400);
    assert.equal(r.json!.error, "unsupported_grant_type");
    assert.equal((await token({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: "x" })).json!.error, "unsupported_grant_type");
  });

  test("exactly one client authentication method", async () => {
    const r = await token({ client_id: "billing", client_secret: SECRETS.basic });
    assert.equal(r.status, 400);
    assert.equal(r.json!.error, "invalid_request");
  });

  test("unknown client and wrong secret: the same 401, with a Basic challenge when Basic was used", async () => {
    const wrong = await token({}, { authorization: basicAuthorization("billing", "wrong") });
    const unknown = await token({}, { authorization: basicAuthorization("nobody", "wrong") });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.text, unknown.text);
    assert.equal(wrong.json!.error, "invalid_client");
    assert.match(wrong.headers.get("www-authenticate")!, /^Basic realm="tessera"/);
    assert.equal(unknown.headers.get("www-authenticate"), wrong.headers.get("www-authenticate"));
    const post401 = await token({ client_id: "reporter", client_secret: "wrong" }, {});
    assert.equal(post401.status, 401);
    assert.equal(post401.headers.get("www-authenticate"), null);
    assert.equal(post401.text, (await token({ client_id: "nobody", client_secret: "wrong" }, {})).text);
  });

  test("a client may use only its registered method", async () => {
    const r = await token({ client_id: "billing", client_secret: SECRETS.basic }, {});
    assert.equal(r.status, 401);
    assert.equal(r.json!.error, "invalid_client");
  });

  test("resource: absolute URI, no fragment, exact match", async () => {
    assert.equal((await token({ resource: "calendar/events" })).json!.error, "invalid_target");
    assert.equal((await token({ resource: "https://calendar.example.com#frag" })).json!.error, "invalid_target");
    for (const resource of ["https://calendar.example.com/", "https://CALENDAR.example.com", "https://calendar.example.co"]) {
      const r = await token({ resource });
      assert.equal(r.status, 400, resource);
      assert.equal(r.json!.error, "invalid_target", resource);
    }
  });

  test("scopes: outside the grant refused, never dropped; two audiences without resource refused", async () => {
    const outside = await token({ resource: "https://calendar.example.com", scope: "event.view event.delete" });
    assert.equal(outside.status, 400);
    assert.equal(outside.json!.error, "invalid_scope");
    const spanning = await token({ scope: "event.view file.view" });
    assert.equal(spanning.json!.error, "invalid_scope");
    const malformed = await token({ resource: "https://calendar.example.com", scope: 'event.view "quoted"' });
    assert.equal(malformed.json!.error, "invalid_scope");
  });

  test("a client without the grant type is unauthorized_client", async () => {
    const r = await token({ client_id: "norights", client_secret: SECRETS.other }, {});
    assert.equal(r.status, 400);
    assert.equal(r.json!.error, "unauthorized_client");
  });

  test("private_key_jwt: 50 parallel copies of one assertion yield exactly one token", async () => {
    const assertion = await clientAssertion({
      clientId: "keyed",
      audience: server.issuer,
      key: keyPair.privateKey,
      alg: "ES256",
      now: Math.floor(Date.now() / 1000),
      kid: keyPair.publicJwk.kid!,
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => token({ client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, audience: "calendar" }, {})),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.equal(results.filter((r) => r.status === 401 && r.json!.error === "invalid_client").length, 49);
  });

  test("an oversized body is refused with 413", async () => {
    const r = await token({ resource: "https://calendar.example.com", scope: "x".repeat(64 * 1024) });
    assert.equal(r.status, 413);
  });

  test("an oversized chunked body (no Content-Length) is refused with 413, and the keep-alive connection serves the next request", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const send = (chunks: string[]) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          `${server.httpUrl}/oauth2/token`,
          { method: "POST", agent, headers: { "content-type": FORM, authorization: billingBasic() } },
          (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("socket", (socket) => sockets.add(socket));
        req.on("error", reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    try {
      const big = await send(["grant_type=client_credentials&scope=", ...Array.from({ length: 20 }, () => "x".repeat(4096))]);
      assert.equal(big.status, 413);
      const next = await send(["grant_type=client_credentials&resource=https%3A%2F%2Fcalendar.example.com&scope=event.view"]);
      assert.equal(next.status, 200, next.body);
      assert.equal(sockets.size, 1, "both requests on one connection");
    } finally {
      agent.destroy();
    }
  });

  test("errors never echo secrets or tokens", async () => {
    const r = await token({}, { authorization: basicAuthorization("billing", "s3cr3t-value-that-must-not-leak") });
    assert.ok(!r.text.includes("s3cr3t"));
  });
});

describe("introspection endpoint (RFC 7662)", () => {
  async function billingToken(resource = "https://calendar.example.com") {
    return (await token({ resource })).json!.access_token as string;
  }
  const calendarBasic = () => basicAuthorization("calendar", SECRETS.other);

  test("active token: RFC 7662 members, no-store", async () => {
    const r = await post("/oauth2/introspect", { token: await billingToken() }, { authorization: calendarBasic() });
    assert.equal(r.status, 200);
    assert.equal(r.json!.active, true);
    for (const member of ["scope", "client_id", "token_type", "exp", "iat", "sub", "aud", "iss", "jti"]) assert.ok(member in r.json!, member);
    assert.equal(r.headers.get("cache-control"), "no-store");
  });

  test('inactive answers are exactly {"active":false}', async () => {
    for (const t of ["garbage", "a.b.c", await billingToken("https://files.example.com")]) {
      const r = await post("/oauth2/introspect", { token: t }, { authorization: calendarBasic() });
      assert.equal(r.status, 200);
      assert.equal(r.text, '{"active":false}');
    }
  });

  test("the caller must authenticate and be allowed to introspect", async () => {
    const t = await billingToken();
    const anonymous = await post("/oauth2/introspect", { token: t });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json!.error, "invalid_client");
    const notAllowed = await post("/oauth2/introspect", { token: t, client_id: "norights", client_secret: SECRETS.other });
    assert.equal(notAllowed.status, 400);
    assert.equal(notAllowed.json!.error, "unauthorized_client");
    assert.equal((await post("/oauth2/introspect", {}, { authorization: calendarBasic() })).json!.error, "invalid_request");
  });
});

describe("revocation endpoint (RFC 7009)", () => {
  test("200 with an empty body; the token is then inactive", async () => {
    const t = (await token({ resource: "https://calendar.example.com" })).json!.access_token as string;
    const r = await post("/oauth2/revoke", { token: t, token_type_hint: "access_token" }, { authorization: billingBasic() });
    assert.equal(r.status, 200);
    assert.equal(r.text, "");
    const i = await post("/oauth2/introspect", { token: t }, { authorization: basicAuthorization("calendar", SECRETS.other) });
    assert.equal(i.text, '{"active":false}');
  });

  test("garbage and unknown tokens: 200", async () => {
    assert.equal((await post("/oauth2/revoke", { token: "garbage" }, { authorization: billingBasic() })).status, 200);
  });

  test("a client revokes only its own tokens", async () => {
    const t = (await token({ resource: "https://calendar.example.com" })).json!.access_token as string;
    const r = await post("/oauth2/revoke", { token: t }, { authorization: basicAuthorization("calendar", SECRETS.other) });
    assert.equal(r.status, 400);
    assert.equal(r.json!.error, "unauthorized_client");
    const i = await post("/oauth2/introspect", { token: t }, { authorization: basicAuthorization("calendar", SECRETS.other) });
    assert.equal(i.json!.active, true);
  });

  test("the caller must authenticate", async () => {
    assert.equal((await post("/oauth2/revoke", { token: "garbage" })).status, 401);
  });
});

describe("discovery and keys", () => {
  test("RFC 8414 metadata lists only what is allowed", async () => {
    const r = await fetch(`${server.httpUrl}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 200);
    const m = (await r.json()) as Record<string, unknown>;
    assert.equal(m.issuer, server.issuer);
    assert.equal(m.token_endpoint, `${server.issuer}/oauth2/token`);
    assert.equal(m.introspection_endpoint, `${server.issuer}/oauth2/introspect`);
    assert.equal(m.revocation_endpoint, `${server.issuer}/oauth2/revoke`);
    assert.equal(m.jwks_uri, `${server.issuer}/.well-known/jwks.json`);
    assert.deepEqual(m.grant_types_supported, ["client_credentials"]);
    assert.deepEqual(m.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]);
    assert.ok(!(m.token_endpoint_auth_signing_alg_values_supported as string[]).includes("none"));
  });

  test("JWKS: public keys with kid, alg, use; GET only", async () => {
    const r = await fetch(`${server.httpUrl}/.well-known/jwks.json`);
    const { keys } = (await r.json()) as { keys: Record<string, unknown>[] };
    assert.equal(keys.length, 2, "the signing key and the standby published ahead of it");
    assert.ok(keys.some((k) => k.kid === server.context.keys.signingKey().kid));
    for (const key of keys) {
      for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) assert.ok(!(member in key));
      assert.ok(key.kid && key.alg === "ES256" && key.use === "sig");
    }
    assert.equal((await fetch(`${server.httpUrl}/.well-known/jwks.json`, { method: "POST" })).status, 405);
  });

  test("the token endpoint also answers over h2c on the same port", async () => {
    const session = connect(server.httpUrl);
    try {
      const body = new URLSearchParams({ grant_type: "client_credentials", resource: "https://calendar.example.com" }).toString();
      const stream = session.request({
        [h2.HTTP2_HEADER_METHOD]: "POST",
        [h2.HTTP2_HEADER_PATH]: "/oauth2/token",
        "content-type": FORM,
        authorization: billingBasic(),
      });
      stream.end(body);
      const [status, text] = await new Promise<[number, string]>((resolve, reject) => {
        let s = 0;
        let data = "";
        stream.on("response", (headers) => (s = Number(headers[h2.HTTP2_HEADER_STATUS])));
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (data += chunk));
        stream.on("end", () => resolve([s, data]));
        stream.on("error", reject);
      });
      assert.equal(status, 200);
      assert.equal((JSON.parse(text) as { token_type: string }).token_type, "Bearer");
    } finally {
      session.close();
    }
  });
});

describe("jwt-bearer grant over HTTP with a jwks_uri issuer", () => {
  const idpKeys = generateKeyPair("ES256", { extractable: true });
  let idp: Server;
  let tessera: TesseraServer;
  let jwksRequests = 0;
  const IDP = "https://workload-idp.example";
  const SA = "system:serviceaccount:billing:api";

  before(async () => {
    const publicJwk = { ...(await exportJWK((await idpKeys).publicKey)), kid: "idp-1", alg: "ES256" };
    idp = createHttpServer((_req, res) => {
      jwksRequests++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
    const config = validateConfig(
      {
        http: { port: 0 },
        metrics: { enabled: false },
        audit: { enabled: false },
        grpc: { port: 0 },
        clients: [
          {
            id: "billing-api",
            authMethod: "client_secret_basic",
            secretHashes: [hashClientSecret(SECRETS.basic)],
            grantTypes: ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
            grants: [{ audience: "https://ledger.example.com", scopes: ["ledger.read"] }],
          },
        ],
        trustedIssuers: [
          { issuer: IDP, jwksUri: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`, subjects: [{ subject: SA, clientId: "billing-api" }] },
        ],
      },
      {},
      () => "",
    );
    tessera = await startCapturedServer({ config });
  });
  after(async () => {
    await tessera.stop();
    idp.closeAllConnections();
    await new Promise((resolve) => idp.close(resolve));
  });

  async function assertion(claims: Record<string, unknown> = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: IDP, sub: SA, aud: tessera.issuer, iat: now, exp: now + 300, jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
      .sign((await idpKeys).privateKey);
  }

  async function exchange(a: string) {
    const r = await fetch(`${tessera.httpUrl}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": FORM },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: a, scope: "ledger.read" }),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  }

  test("exchanges a workload identity token; the grant is advertised; the JWKS is fetched once", async () => {
    const meta = (await (await fetch(`${tessera.httpUrl}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] };
    assert.ok(meta.grant_types_supported.includes("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    const a = await exchange(await assertion());
    assert.equal(a.status, 200);
    assert.equal(decodeJwt(a.json.access_token as string).sub, "billing-api");
    await exchange(await assertion());
    assert.equal(jwksRequests, 1);
  });

  test("replay, wrong audience, unknown subject: invalid_grant", async () => {
    const once = await assertion();
    assert.equal((await exchange(once)).status, 200);
    for (const a of [once, await assertion({ aud: "https://elsewhere.example" }), await assertion({ sub: "system:serviceaccount:x:y" })]) {
      const r = await exchange(a);
      assert.equal(r.status, 400);
      assert.equal(r.json.error, "invalid_grant");
    }
  });
});
