import assert from "node:assert/strict";
import { KeyObject, sign as cryptoSign } from "node:crypto";
import { describe, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { InvalidTokenError } from "../../src/errors/tessera-error.js";
import { generateSigningKey, type SigningKey } from "../../src/keys/signing-key.js";
import { verifyAccessToken, type VerificationKeyResolver, type VerifyAccessTokenOptions } from "../../src/verifier/verify-access-token.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const ISS = "https://tessera.example.com";
const clock = new FrozenClock();
const key: SigningKey = await generateSigningKey("ES256");
const options: VerifyAccessTokenOptions = { issuer: ISS, algorithms: ["ES256", "EdDSA", "RS256"], clockToleranceSeconds: 30, maxLifetimeSeconds: 3600, clock };

let resolverCalls = 0;
const resolver: VerificationKeyResolver = async (kid, alg) => {
  resolverCalls++;
  return kid === key.kid && alg === key.alg ? key.publicKey : undefined;
};

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = clock.seconds();
  const payload: Record<string, unknown> = {
    iss: ISS,
    sub: "billing",
    aud: "calendar",
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: "j1",
    client_id: "billing",
    scope: "event.view event.create",
    ...overrides,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return payload as JWTPayload;
}

async function sign(payload: JWTPayload = claims(), header: Record<string, unknown> = {}, signWith: CryptoKey | Uint8Array = key.privateKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt", ...header } as { alg: string }).sign(signWith);
}

async function refused(token: string, reason?: RegExp): Promise<void> {
  await assert.rejects(verifyAccessToken(token, resolver, options), (err: unknown) => {
    assert.ok(err instanceof InvalidTokenError, String(err));
    if (reason) assert.match(err.message, reason);
    assert.ok(!err.message.includes(token.slice(0, 20)), "the token must not be echoed");
    return true;
  });
}

describe("verifyAccessToken (RFC 9068 §4, RFC 8725)", () => {
  test("a valid token yields its claims", async () => {
    const verified = await verifyAccessToken(await sign(), resolver, options);
    assert.equal(verified.sub, "billing");
    assert.equal(verified.aud, "calendar");
    assert.equal(verified.clientId, "billing");
    assert.deepEqual(verified.scopes, ["event.view", "event.create"]);
  });

  test("typ must be exactly at+jwt, the only typ Tessera issues", async () => {
    await refused(await sign(claims(), { typ: "application/at+jwt" }), /typ/);
    await refused(await sign(claims(), { typ: "AT+JWT" }), /typ/);
    await refused(await sign(claims(), { typ: "JWT" }), /typ/);
    await refused(await sign(claims(), { typ: undefined }), /typ/);
  });

  test("alg none is never accepted", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    await refused(`${b64({ alg: "none", typ: "at+jwt", kid: key.kid })}.${b64(claims())}.`, /algorithm/);
  });

  test("HS256 keyed with the public key (algorithm confusion) is refused", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    await refused(await sign(claims(), { alg: "HS256" }, secret), /algorithm/);
  });

  test("an algorithm outside the allow-list is refused", async () => {
    await assert.rejects(verifyAccessToken(await sign(), resolver, { ...options, algorithms: ["EdDSA"] }), InvalidTokenError);
  });

  test("the key comes only from the resolver by exact kid: headers carrying a key are refused outright", async () => {
    const attacker = await generateKeyPair("ES256", { extractable: true });
    const jwk = await exportJWK(attacker.publicKey);
    await refused(await sign(claims(), { kid: "attacker", jwk, jku: "https://evil.example/jwks" }, attacker.privateKey), /key reference/);
    await refused(await sign(claims(), { jwk, jku: "https://evil.example/jwks", x5u: "https://evil.example/x" }, attacker.privateKey), /key reference/);
    await refused(await sign(claims(), { kid: "attacker" }, attacker.privateKey), /unknown key/);
    await refused(await sign(claims(), {}, attacker.privateKey), /signature/);
    await refused(await sign(claims(), { kid: key.kid.toUpperCase() }), /unknown key/);
  });

  test("a tampered payload fails the signature", async () => {
    const [h, , s] = (await sign()).split(".");
    const payload = Buffer.from(JSON.stringify(claims({ scope: "admin" }))).toString("base64url");
    await refused(`${h}.${payload}.${s}`, /signature/);
  });

  test("iss must match exactly", async () => {
    await refused(await sign(claims({ iss: `${ISS}/` })), /issuer/);
    await refused(await sign(claims({ iss: ISS.toUpperCase() })), /issuer/);
  });

  test("exp with leeway; expired tokens never reach the key resolver", async () => {
    const now = clock.seconds();
    assert.ok(await verifyAccessToken(await sign(claims({ iat: now - 320, nbf: now - 320, exp: now - 20 })), resolver, options));
    const before = resolverCalls;
    await refused(await sign(claims({ iat: now - 400, exp: now - 31 })), /expired/);
    await refused(await sign(claims({ iss: "https://evil.example" })), /issuer/);
    await refused("garbage", /compact serialization/);
    assert.equal(resolverCalls, before, "no key lookup for tokens that fail cheaper checks");
  });

  test("nbf and iat in the future are refused beyond the leeway", async () => {
    const now = clock.seconds();
    await refused(await sign(claims({ nbf: now + 60 })), /not valid yet/);
    await refused(await sign(claims({ iat: now + 60, nbf: now, exp: now + 300 })), /future/);
  });

  test("a lifetime above the cap is refused", async () => {
    const now = clock.seconds();
    await refused(await sign(claims({ exp: now + 7200 })), /lifetime/);
  });

  test("exp, iat, jti, sub and client_id are required; one audience", async () => {
    await refused(await sign(claims({ exp: undefined })));
    await refused(await sign(claims({ jti: undefined })));
    await refused(await sign(claims({ client_id: undefined })), /client_id/);
    await refused(await sign(claims({ aud: ["a", "b"] })), /audience/);
  });

  test("an unknown crit header is refused", async () => {
    // jose will not sign with an unknown crit, so sign by hand with node:crypto.
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const handSigned = (header: object) => {
      const input = `${b64(header)}.${b64(claims())}`;
      const signature = cryptoSign("sha256", Buffer.from(input), { key: KeyObject.from(key.privateKey), dsaEncoding: "ieee-p1363" });
      return `${input}.${signature.toString("base64url")}`;
    };
    assert.ok(await verifyAccessToken(handSigned({ alg: "ES256", kid: key.kid, typ: "at+jwt" }), resolver, options));
    await refused(handSigned({ alg: "ES256", kid: key.kid, typ: "at+jwt", crit: ["urn:example:unknown"], "urn:example:unknown": true }));
  });
});
