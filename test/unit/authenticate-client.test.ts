import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT, type CryptoKey } from "jose";
import { InvalidClientError, InvalidRequestError, TesseraError } from "../../src/errors/tessera-error.js";
import { authenticateClient, consumeClientAssertion } from "../../src/issuer/client-authentication/authenticate-client.js";
import { parseBasicAuthorization } from "../../src/issuer/client-authentication/client-credentials-input.js";
import { issueToken } from "../../src/issuer/issue-token.js";
import { CLIENT_ASSERTION_TYPE, clientAssertion } from "../helpers/assertions.js";
import { basicAuthorization, clientKeyPair, fixtureContext, SECRETS } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const clock = new FrozenClock();
const { ctx, keyPair } = await fixtureContext(clock);
const hmacKey = new TextEncoder().encode(SECRETS.jwt);

function basic(clientId: string, secret: string) {
  return { basic: parseBasicAuthorization(basicAuthorization(clientId, secret)) };
}

async function rejectsWith(promise: Promise<unknown>, type: new (...args: never[]) => TesseraError): Promise<TesseraError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${type.name}, but it succeeded`);
}

async function keyedAssertion(overrides: Partial<Parameters<typeof clientAssertion>[0]> = {}): Promise<string> {
  return clientAssertion({
    clientId: "keyed",
    audience: ctx.issuer,
    key: keyPair.privateKey,
    alg: "ES256",
    now: clock.seconds(),
    kid: keyPair.publicJwk.kid!,
    ...overrides,
  });
}

function assertionInput(assertion: string, clientId?: string) {
  return { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion, ...(clientId ? { clientId } : {}) };
}

describe("client_secret_basic and client_secret_post", () => {
  test("the right secret authenticates with the registered method", async () => {
    assert.equal((await authenticateClient(ctx, basic("billing", SECRETS.basic))).client.id, "billing");
    const post = await authenticateClient(ctx, { clientId: "reporter", clientSecret: SECRETS.post });
    assert.equal(post.client.id, "reporter");
    assert.equal(post.method, "client_secret_post");
  });

  test("either of two registered secrets works (rotation)", async () => {
    assert.equal((await authenticateClient(ctx, basic("billing", SECRETS.basicRotated))).client.id, "billing");
  });

  test("Basic credentials are form-url-decoded before comparison", async () => {
    const authn = await authenticateClient(ctx, basic("odd:client%id", SECRETS.odd));
    assert.equal(authn.client.id, "odd:client%id");
    // Sent without the form-url-encoding, the ':' in the id splits differently and fails.
    const raw = `Basic ${Buffer.from(`odd:client%id:${SECRETS.odd}`).toString("base64")}`;
    await assert.rejects(async () => authenticateClient(ctx, { basic: parseBasicAuthorization(raw) }), TesseraError);
  });

  test("unknown client and wrong secret give the same answer", async () => {
    const wrong = await rejectsWith(authenticateClient(ctx, basic("billing", "not-the-secret")), InvalidClientError);
    const unknown = await rejectsWith(authenticateClient(ctx, basic("nobody", "not-the-secret")), InvalidClientError);
    assert.deepEqual([wrong.message, wrong.status, wrong.grpcCode, wrong.challenge], [unknown.message, unknown.status, unknown.grpcCode, unknown.challenge]);
    assert.equal(wrong.challenge, "Basic");
    const wrongPost = await rejectsWith(authenticateClient(ctx, { clientId: "reporter", clientSecret: "x" }), InvalidClientError);
    const unknownPost = await rejectsWith(authenticateClient(ctx, { clientId: "nobody", clientSecret: "x" }), InvalidClientError);
    assert.deepEqual([wrongPost.message, wrongPost.challenge], [unknownPost.message, unknownPost.challenge]);
    assert.equal(wrongPost.challenge, undefined);
  });

  test("the error never echoes the secret", async () => {
    const err = await rejectsWith(authenticateClient(ctx, basic("billing", "hunter2-very-secret")), InvalidClientError);
    assert.ok(!err.message.includes("hunter2"));
  });

  test("a client may use only the method it is registered for", async () => {
    await rejectsWith(authenticateClient(ctx, { clientId: "billing", clientSecret: SECRETS.basic }), InvalidClientError);
    await rejectsWith(authenticateClient(ctx, basic("reporter", SECRETS.post)), InvalidClientError);
  });

  test("exactly one method per request", async () => {
    await rejectsWith(authenticateClient(ctx, { ...basic("billing", SECRETS.basic), clientSecret: SECRETS.basic, clientId: "billing" }), InvalidRequestError);
    const assertion = await keyedAssertion();
    await rejectsWith(authenticateClient(ctx, { ...basic("billing", SECRETS.basic), ...assertionInput(assertion) }), InvalidRequestError);
    await rejectsWith(authenticateClient(ctx, { clientId: "reporter", clientSecret: SECRETS.post, ...assertionInput(assertion) }), InvalidRequestError);
  });

  test("no credentials at all is invalid_client; a client_id alone does not authenticate", async () => {
    await rejectsWith(authenticateClient(ctx, {}), InvalidClientError);
    await rejectsWith(authenticateClient(ctx, { clientId: "billing" }), InvalidClientError);
  });

  test("client_id in the body must match the Basic credentials", async () => {
    await rejectsWith(authenticateClient(ctx, { ...basic("billing", SECRETS.basic), clientId: "reporter" }), InvalidRequestError);
  });

  test("malformed Basic header is invalid_request; other schemes are ignored", () => {
    assert.throws(() => parseBasicAuthorization("Basic !!!"), InvalidRequestError);
    assert.throws(() => parseBasicAuthorization(`Basic ${Buffer.from("no-colon").toString("base64")}`), InvalidRequestError);
    assert.equal(parseBasicAuthorization("Bearer abc"), undefined);
    assert.equal(parseBasicAuthorization(undefined), undefined);
  });
});

describe("client assertions (RFC 7523)", () => {
  test("private_key_jwt and client_secret_jwt authenticate", async () => {
    const keyed = await authenticateClient(ctx, assertionInput(await keyedAssertion()));
    assert.equal(keyed.client.id, "keyed");
    assert.equal(keyed.method, "private_key_jwt");
    const hmac = await clientAssertion({ clientId: "signer", audience: ctx.issuer, key: hmacKey, alg: "HS256", now: clock.seconds() });
    const signer = await authenticateClient(ctx, assertionInput(hmac, "signer"));
    assert.equal(signer.method, "client_secret_jwt");
  });

  test("aud must be exactly the issuer identifier, as a string (not the token endpoint, not another server, not an array)", async () => {
    for (const audience of [
      `${ctx.issuer}/oauth2/token`,
      "https://other.example.com",
      [ctx.issuer, "https://other.example.com"],
      [ctx.issuer],
      `${ctx.issuer}/`,
    ]) {
      await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ audience }))), InvalidClientError);
    }
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ audience: ctx.issuer }))));
  });

  test("iss and sub must both be the client id", async () => {
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ iss: "billing" }))), InvalidClientError);
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ sub: "billing" }))), InvalidClientError);
  });

  test("a body client_id other than the assertion's subject is invalid_request; the same one is fine", async () => {
    const err = await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion(), "billing")), InvalidRequestError);
    assert.equal(err.error, "invalid_request");
    assert.equal(err.status, 400);
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion(), "keyed")));
  });

  test("iat in the future beyond the clock skew is refused; within it, accepted; iat may be left out", async () => {
    const now = clock.seconds();
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ iat: now + 120, lifetime: 150 }))), InvalidClientError);
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ iat: now + 30, lifetime: 90 }))));
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ iat: null, lifetime: 120 }))));
  });

  test("exp − iat is bounded by the cap even when exp is near, and the cap is configurable", async () => {
    const now = clock.seconds();
    // Issued 400 s ago, expiring in 30 s: exp − now is small, but the assertion lived 430 s.
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ iat: now - 400, now: now - 400, lifetime: 430 }))), InvalidClientError);
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ iat: now - 200, now: now - 200, lifetime: 300 }))));
    const strict = { ...ctx, maxAssertionLifetimeSeconds: 60 };
    await rejectsWith(authenticateClient(strict, assertionInput(await keyedAssertion({ lifetime: 120 }))), InvalidClientError);
    await rejectsWith(authenticateClient(strict, assertionInput(await keyedAssertion({ iat: null, lifetime: 180 }))), InvalidClientError);
    assert.ok(await authenticateClient(strict, assertionInput(await keyedAssertion({ lifetime: 60 }))));
  });

  test("an RSA or EC key registered without alg verifies only its one algorithm (RS256; ES256/384/512 by curve)", async () => {
    const { generateKeyPair, exportJWK, importJWK } = await import("jose");
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const { alg: _alg, ...rsaPublic } = { ...(await exportJWK(rsa.publicKey)), kid: "rsa-no-alg" };
    const rsaCtx = (await fixtureContext(clock, { keyPair: { privateKey: rsa.privateKey, publicJwk: rsaPublic } })).ctx;
    const rsaPrivate = await exportJWK(rsa.privateKey);
    const sign = async (alg: string) =>
      clientAssertion({
        clientId: "keyed",
        audience: rsaCtx.issuer,
        key: (await importJWK(rsaPrivate, alg)) as CryptoKey,
        alg,
        now: clock.seconds(),
        kid: "rsa-no-alg",
      });
    assert.ok(await authenticateClient(rsaCtx, assertionInput(await sign("RS256"))), "RS256, the default for an RSA key without alg");
    for (const alg of ["PS256", "RS512", "PS512"]) {
      await rejectsWith(authenticateClient(rsaCtx, assertionInput(await sign(alg))), InvalidClientError);
    }
    // An RSA key registered with alg PS256 verifies PS256 only.
    const psCtx = (await fixtureContext(clock, { keyPair: { privateKey: rsa.privateKey, publicJwk: { ...rsaPublic, alg: "PS256" } } })).ctx;
    assert.ok(await authenticateClient(psCtx, assertionInput(await sign("PS256"))));
    await rejectsWith(authenticateClient(psCtx, assertionInput(await sign("RS256"))), InvalidClientError);
    // An EC P-256 key without alg: ES256.
    const ec = await clientKeyPair("ES256");
    const { alg: _ecAlg, ...ecPublic } = ec.publicJwk;
    const ecCtx = (await fixtureContext(clock, { keyPair: { privateKey: ec.privateKey, publicJwk: ecPublic } })).ctx;
    assert.ok(
      await authenticateClient(
        ecCtx,
        assertionInput(
          await clientAssertion({ clientId: "keyed", audience: ecCtx.issuer, key: ec.privateKey, alg: "ES256", now: clock.seconds(), kid: ec.publicJwk.kid! }),
        ),
      ),
    );
  });

  test("exp is required and at most 5 minutes away", async () => {
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ omitExp: true }))), InvalidClientError);
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ lifetime: 3600 }))), InvalidClientError);
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ lifetime: 300 }))));
  });

  test("about 60 s of clock skew is tolerated, more is not", async () => {
    const now = clock.seconds();
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ now: now - 100, lifetime: 60 }))), "expired 40 s ago");
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ now: now - 200, lifetime: 60 }))), InvalidClientError);
    assert.ok(await authenticateClient(ctx, assertionInput(await keyedAssertion({ now: now + 30, lifetime: 60 }))), "issued 30 s ahead");
  });

  test("jti is required", async () => {
    await rejectsWith(authenticateClient(ctx, assertionInput(await keyedAssertion({ jti: null }))), InvalidClientError);
  });

  test("jti is single-use once consumed", async () => {
    const assertion = await keyedAssertion();
    const first = await authenticateClient(ctx, assertionInput(assertion));
    await consumeClientAssertion(ctx, first);
    const second = await authenticateClient(ctx, assertionInput(assertion));
    await rejectsWith(consumeClientAssertion(ctx, second), InvalidClientError);
  });

  test("the algorithm must match the client's registered key type", async () => {
    // An HS256 assertion for a key-pair client, keyed with the public JWK's bytes (algorithm confusion).
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("keyed")
      .setSubject("keyed")
      .setAudience(ctx.issuer)
      .setIssuedAt(clock.seconds())
      .setExpirationTime(clock.seconds() + 60)
      .setJti("confused")
      .sign(new TextEncoder().encode(JSON.stringify(keyPair.publicJwk)));
    await rejectsWith(authenticateClient(ctx, assertionInput(confused)), InvalidClientError);
    // An asymmetric assertion for an HMAC client.
    const other = await clientKeyPair();
    const asymmetric = await clientAssertion({ clientId: "signer", audience: ctx.issuer, key: other.privateKey, alg: "ES256", now: clock.seconds() });
    await rejectsWith(authenticateClient(ctx, assertionInput(asymmetric)), InvalidClientError);
  });

  test("alg none and unsigned assertions are refused", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = clock.seconds();
    const unsigned = `${b64({ alg: "none" })}.${b64({ iss: "keyed", sub: "keyed", aud: ctx.issuer, exp: now + 60, jti: "n" })}.`;
    await rejectsWith(authenticateClient(ctx, assertionInput(unsigned)), InvalidClientError);
  });

  test("an assertion signed by another key fails", async () => {
    const other = await clientKeyPair();
    const forged = await keyedAssertion({ key: other.privateKey });
    await rejectsWith(authenticateClient(ctx, assertionInput(forged)), InvalidClientError);
  });

  test("wrong client_assertion_type is invalid_request; garbage is invalid_client", async () => {
    await rejectsWith(authenticateClient(ctx, { clientAssertionType: "urn:other", clientAssertion: await keyedAssertion() }), InvalidRequestError);
    await rejectsWith(authenticateClient(ctx, assertionInput("not.a.jwt")), InvalidClientError);
  });
});

describe("assertion jti recorded before minting", () => {
  test("50 parallel copies of one assertion yield exactly one token", async () => {
    const assertion = await keyedAssertion();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => issueToken(ctx, { grantType: "client_credentials", credentials: assertionInput(assertion), scopes: ["event.view"] })),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected" && r.reason instanceof InvalidClientError);
    assert.equal(ok.length, 1);
    assert.equal(refused.length, 49);
  });

  test("a request refused for its scope leaves the assertion unused", async () => {
    const assertion = await keyedAssertion();
    await assert.rejects(issueToken(ctx, { grantType: "client_credentials", credentials: assertionInput(assertion), scopes: ["event.create"] }), {
      error: "invalid_scope",
    });
    const issued = await issueToken(ctx, { grantType: "client_credentials", credentials: assertionInput(assertion), scopes: ["event.view"] });
    assert.deepEqual(issued.scopes, ["event.view"]);
  });
});
