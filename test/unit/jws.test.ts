// The strict rules of our own compact JWS (src/keys/jws.ts), one test each.
// Each refused token is otherwise valid: jose, verifying with our profile's
// options, accepts it; so only the rule under test stands between it and
// acceptance, and removing the rule makes its test fail.
import assert from "node:assert/strict";
import { createHmac, createSecretKey, generateKeyPairSync, KeyObject, sign as cryptoSign, type webcrypto } from "node:crypto";
import { describe, test } from "node:test";
import { jwtVerify, type CryptoKey } from "jose";
import { InvalidTokenError } from "../../src/errors/tessera-error.js";
import { accessTokenSigner, decodeAccessTokenJws, JWS_REFUSALS, verifyAccessTokenJws, type JwsKey, type JwsRefusal } from "../../src/keys/jws.js";
import { generateSigningKey, type SigningKey } from "../../src/keys/signing-key.js";
import { verifyAccessToken, type VerifyAccessTokenOptions } from "../../src/verifier/verify-access-token.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const ISS = "https://tessera.example";
const AUD = "calendar";
const clock = new FrozenClock();
const es256 = await generateSigningKey("ES256");
const ed25519 = await generateSigningKey("EdDSA");
const rs256 = await generateSigningKey("RS256");
const options: VerifyAccessTokenOptions = { issuer: ISS, algorithms: ["ES256", "EdDSA", "RS256"], clockToleranceSeconds: 30, maxLifetimeSeconds: 3600, clock };

function claims(): Record<string, unknown> {
  const now = clock.seconds();
  return { iss: ISS, sub: "billing", aud: AUD, iat: now, nbf: now, exp: now + 300, jti: "j-1", client_id: "billing", scope: "event.view" };
}

const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** Signs any header and payload text as given, with node:crypto (jose will not sign some of these). */
function handSigned(headerText: string, payloadText = JSON.stringify(claims()), key: SigningKey = es256, encode: (t: string) => string = b64): string {
  const input = `${encode(headerText)}.${encode(payloadText)}`;
  const privateKey = KeyObject.from(key.privateKey as unknown as webcrypto.CryptoKey);
  const data = Buffer.from(input);
  const signature =
    key.alg === "ES256"
      ? cryptoSign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" })
      : cryptoSign(key.alg === "EdDSA" ? null : "sha256", data, privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

const header = (extra: Record<string, unknown> = {}, key: SigningKey = es256) => JSON.stringify({ alg: key.alg, kid: key.kid, typ: "at+jwt", ...extra });

async function joseAccepts(token: string, key: SigningKey = es256): Promise<void> {
  await jwtVerify(token, key.publicKey, {
    algorithms: [key.alg],
    typ: "at+jwt",
    issuer: ISS,
    audience: AUD,
    clockTolerance: 30,
    currentDate: new Date(clock.now()),
  });
}

function refusedFor(rule: JwsRefusal, run: () => unknown): void {
  assert.throws(run, (err: unknown) => err instanceof InvalidTokenError && err.message === JWS_REFUSALS[rule]);
}

/** Refused by our decoder for `rule`, while jose accepts the same token. */
async function stricterThanJose(rule: JwsRefusal, token: string, key: SigningKey = es256): Promise<void> {
  await joseAccepts(token, key);
  refusedFor(rule, () => decodeAccessTokenJws(token));
  await assert.rejects(
    verifyAccessToken(token, async (kid) => (kid === key.kid ? key.publicKey : undefined), options),
    (err: unknown) => err instanceof InvalidTokenError && err.message === JWS_REFUSALS[rule],
  );
}

describe("our compact JWS (RFC 7515, RFC 8725): strict rules", () => {
  test("what we sign, jose verifies, and so do we, for every algorithm", async () => {
    for (const key of [es256, ed25519, rs256]) {
      const token = accessTokenSigner(key)(claims());
      await joseAccepts(token, key);
      const jws = decodeAccessTokenJws(token);
      assert.deepEqual(jws.header, { alg: key.alg, kid: key.kid, typ: "at+jwt" });
      assert.equal(token.split(".")[0], b64(header({}, key)), "the header is exactly alg, kid, typ");
      verifyAccessTokenJws(jws, key.publicKey);
      assert.equal((await verifyAccessToken(token, async () => key.publicKey, options)).sub, "billing");
    }
  });

  test("exactly three parts", () => {
    const token = accessTokenSigner(es256)(claims());
    const [h, p, s] = token.split(".") as [string, string, string];
    for (const bad of [`${h}.${p}`, `${token}.`, `${h}.${p}.${s}.${s}`, `${h}..${p}.${s}`, h, "", `${token}.e30`]) {
      refusedFor("parts", () => decodeAccessTokenJws(bad));
    }
  });

  test("canonical base64url: no padding", async () => {
    // Header and payload re-signed as sent; jose decodes padding and signs over the text.
    const padded = (t: string) => Buffer.from(t).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    const payloads = ["j", "j-", "j-1"].map((jti) => JSON.stringify({ ...claims(), jti }));
    const payloadText = payloads.find((text) => padded(text).endsWith("="))!;
    await stricterThanJose("base64url", handSigned(header(), payloadText, es256, padded));
  });

  test("canonical base64url: no unused bits set in the last character", async () => {
    const token = accessTokenSigner(es256)(claims());
    const [h, p, s] = token.split(".") as [string, string, string];
    // 64 signature bytes: 86 characters, the last carrying 2 unused bits; the same bytes, another spelling.
    const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(s.at(-1)!);
    const variant = `${h}.${p}.${s.slice(0, -1)}${"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]}`;
    assert.notEqual(variant, token);
    await stricterThanJose("base64url", variant);
  });

  test("canonical base64url: no stray characters", async () => {
    const token = accessTokenSigner(es256)(claims());
    const [h, p, s] = token.split(".") as [string, string, string];
    for (const bad of [`${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`, `${h}.${p}.${s}\n`, `${h}.${p}+.${s}`, `${h}.${p}.${s.slice(0, -2)}/A`]) {
      refusedFor("base64url", () => decodeAccessTokenJws(bad));
    }
    // atob, which jose uses on Node 20, skips ASCII whitespace: a signature with a space inside verifies there.
    await stricterThanJose("base64url", `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`);
  });

  test("the header is a JSON object", () => {
    for (const text of ["[]", '"at+jwt"', "null", "{", `${header()} x`]) refusedFor("headerJson", () => decodeAccessTokenJws(handSigned(text)));
    refusedFor("headerJson", () => decodeAccessTokenJws(`${b64(header()).slice(0, -2)}_w.${b64("{}")}.AA`));
  });

  test("crit is refused, even crit: [b64] that jose understands", async () => {
    await stricterThanJose("headerCrit", handSigned(header({ crit: ["b64"], b64: true })));
  });

  test("key-carrying members (jwk, jku, x5u, x5c) are refused", async () => {
    const jwk = es256.publicJwk;
    for (const extra of [{ jwk }, { jku: "https://evil.example/jwks" }, { x5u: "https://evil.example/cert" }, { x5c: ["MIIB"] }]) {
      await stricterThanJose("headerKey", handSigned(header(extra)));
    }
  });

  test("no member but alg, kid and typ", async () => {
    for (const extra of [{ cty: "JWT" }, { b64: true }, { zip: "DEF" }, { "urn:example:x": 1 }, { __proto__x: 1 }]) {
      await stricterThanJose("headerMember", handSigned(header(extra)));
    }
    await stricterThanJose("headerMember", handSigned(`{"__proto__":{"x":1},${header().slice(1)}`));
  });

  test("alg, kid and typ are all there, as strings", async () => {
    // jose needs no kid when it is handed the key.
    await stricterThanJose("headerShape", handSigned(JSON.stringify({ alg: "ES256", typ: "at+jwt" })));
    refusedFor("headerShape", () => decodeAccessTokenJws(handSigned(JSON.stringify({ alg: "ES256", kid: 7, typ: "at+jwt" }))));
    refusedFor("headerShape", () => decodeAccessTokenJws(handSigned(JSON.stringify({ kid: es256.kid, typ: "at+jwt" }))));
  });

  test("typ is exactly at+jwt", async () => {
    // jose normalizes media types: application/at+jwt and AT+JWT pass there.
    for (const typ of ["application/at+jwt", "AT+JWT", "application/AT+JWT"]) await stricterThanJose("typ", handSigned(header({ typ })));
    for (const typ of ["JWT", "at+jwt ", ""]) refusedFor("typ", () => decodeAccessTokenJws(handSigned(header({ typ }))));
  });

  test("duplicate header members: the last one counts, as RFC 7515 §4 allows and as jose reads it", async () => {
    const token = handSigned(`{"alg":"none","typ":"JWT",${header().slice(1)}`);
    await joseAccepts(token);
    assert.equal(decodeAccessTokenJws(token).header.alg, "ES256");
  });

  test("the payload is a JSON object", () => {
    for (const text of ["[]", "1", '"x"', "null", "{"]) refusedFor("payloadJson", () => decodeAccessTokenJws(handSigned(header(), text)));
  });

  test("the key pins the algorithm: a kid's key verifies only with its own alg", () => {
    // A resolver that answers by kid alone hands the ES256 key to an EdDSA-signed token.
    const signedByEd = decodeAccessTokenJws(handSigned(header({ alg: "EdDSA" }), JSON.stringify(claims()), ed25519));
    refusedFor("keyAlgorithm", () => verifyAccessTokenJws(signedByEd, es256.publicKey));
    verifyAccessTokenJws(signedByEd, ed25519.publicKey);
    for (const [alg, key] of [
      ["RS256", es256],
      ["ES256", rs256],
      ["ES256", ed25519],
      ["EdDSA", rs256],
    ] as const) {
      refusedFor("keyAlgorithm", () => verifyAccessTokenJws(decodeAccessTokenJws(handSigned(header({ alg }))), key.publicKey));
    }
  });

  test("none and HMAC never verify, whatever key is handed over", () => {
    const none = decodeAccessTokenJws(`${b64(header({ alg: "none" }))}.${b64(JSON.stringify(claims()))}.`);
    const secret = Buffer.from(JSON.stringify(es256.publicJwk));
    const hsInput = `${b64(header({ alg: "HS256" }))}.${b64(JSON.stringify(claims()))}`;
    const hs = decodeAccessTokenJws(`${hsInput}.${createHmac("sha256", secret).update(hsInput).digest("base64url")}`);
    for (const jws of [none, hs]) {
      for (const key of [es256.publicKey, createSecretKey(secret), ed25519.publicKey] as JwsKey[])
        refusedFor("keyAlgorithm", () => verifyAccessTokenJws(jws, key));
    }
  });

  test("a key unfit for any of our algorithms verifies nothing: private keys, P-384, RSA under 2048 bits, RSA-PSS", async () => {
    const token = decodeAccessTokenJws(handSigned(header()));
    refusedFor("keyAlgorithm", () => verifyAccessTokenJws(token, es256.privateKey));
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey;
    refusedFor("keyAlgorithm", () => verifyAccessTokenJws(token, p384));
    const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    refusedFor("keyAlgorithm", () => verifyAccessTokenJws(decodeAccessTokenJws(handSigned(header({ alg: "RS256" }))), rsa1024));
    const pss = await crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, [
      "sign",
      "verify",
    ]);
    refusedFor("keyAlgorithm", () => verifyAccessTokenJws(decodeAccessTokenJws(handSigned(header({ alg: "RS256" }))), pss.publicKey as CryptoKey));
    // The same key as a KeyObject verifies what it signed: the refusals above are the key's type.
    verifyAccessTokenJws(token, KeyObject.from(es256.publicKey as unknown as webcrypto.CryptoKey));
  });

  test("the signature covers header and payload as sent", () => {
    const token = accessTokenSigner(es256)(claims());
    const [h, p, s] = token.split(".") as [string, string, string];
    const flipped = Buffer.from(s, "base64url");
    flipped[5]! ^= 1;
    refusedFor("signature", () => verifyAccessTokenJws(decodeAccessTokenJws(`${h}.${p}.${flipped.toString("base64url")}`), es256.publicKey));
    const other = b64(JSON.stringify({ ...claims(), scope: "admin" }));
    refusedFor("signature", () => verifyAccessTokenJws(decodeAccessTokenJws(`${h}.${other}.${s}`), es256.publicKey));
    refusedFor("signature", () => verifyAccessTokenJws(decodeAccessTokenJws(`${h}.${p}.${s.slice(0, 40)}`), es256.publicKey));
  });

  test("a signer refuses a key whose private half is not of its algorithm", async () => {
    const mismatched = { ...rs256, alg: "ES256" as const };
    assert.throws(() => accessTokenSigner(mismatched), /does not sign ES256/);
  });
});
