// Tessera's own access tokens as compact JWS (RFC 7515), signed and verified
// synchronously with node:crypto on KeyObjects. jose signs and verifies through
// WebCrypto, asynchronously on libuv's pool: on a small machine the hand-off
// costs more than the signature itself. Only our own fixed-shape tokens go
// through here; jose keeps key generation, import/export, thumbprints, JWKS
// and every JWT that others sign, and is the oracle the tests compare with.
import { KeyObject, sign as cryptoSign, verify as cryptoVerify, type webcrypto } from "node:crypto";
import type { CryptoKey as JoseCryptoKey, KeyObject as JoseKeyObject } from "jose";
import { decodeBase64url, encodeBase64url } from "../internal/base64url.js";
import { InvalidTokenError } from "../errors/tessera-error.js";
import type { SigningAlgorithm } from "../config/types.js";
import type { SigningKey } from "./signing-key.js";

type CryptoKey = webcrypto.CryptoKey;
/** A key as jose's key sets and key stores hand it out: a WebCrypto CryptoKey or a node:crypto KeyObject. */
export type JwsKey = JoseCryptoKey | JoseKeyObject;

/** The `typ` of every token we sign (RFC 9068 §2.1), and the only one we verify. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/**
 * Why a token fails the JWS rules (RFC 7515, RFC 8725), one message per rule.
 * Messages name the rule, never the token.
 */
export const JWS_REFUSALS = {
  parts: "the token is not a JWS compact serialization (three parts)",
  base64url: "the token is not canonical base64url",
  headerJson: "the token's header is not a JSON object",
  headerCrit: "the token's header carries crit, which we never issue",
  headerKey: "the token's header carries a key or key reference (jwk, jku, x5u, x5c), which is never trusted",
  headerMember: "the token's header has a member we never issue",
  headerShape: "the token's header lacks alg, kid or typ as strings",
  typ: "the token is not an access token (typ must be at+jwt)",
  payloadJson: "the token's payload is not a JSON object",
  keyAlgorithm: "the token's algorithm is not the one of its key",
  signature: "the token's signature is invalid",
} as const;
export type JwsRefusal = keyof typeof JWS_REFUSALS;

function refuse(rule: JwsRefusal): never {
  throw new InvalidTokenError(JWS_REFUSALS[rule]);
}

/** The members of a header we issue; any other member is refused. */
export interface AccessTokenJwsHeader {
  readonly alg: string;
  readonly kid: string;
  readonly typ: typeof ACCESS_TOKEN_TYP;
}

/** A compact JWS whose structure and header passed the rules; its signature is not checked yet. */
export interface DecodedJws {
  readonly header: AccessTokenJwsHeader;
  /** The claims: a JSON object. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** ASCII of `header.payload`, as signed. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

const KEY_MEMBERS = new Set(["jwk", "jku", "x5u", "x5c"]);
// Well-formed UTF-8 only, read as jose reads it (a leading BOM is dropped).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function jsonObject(bytes: Buffer, rule: JwsRefusal): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return refuse(rule);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) refuse(rule);
  return value as Record<string, unknown>;
}

/**
 * Decodes one of our access tokens and checks everything but the signature:
 * exactly three parts, each canonical base64url; a header of exactly the
 * members we issue (alg, kid, typ; `crit` and key-carrying members refused)
 * with `typ` exactly `at+jwt`; a JSON object payload. Throws InvalidTokenError
 * naming the rule (JWS_REFUSALS).
 */
export function decodeAccessTokenJws(token: string): DecodedJws {
  const firstDot = token.indexOf(".");
  const lastDot = token.lastIndexOf(".");
  if (firstDot < 0 || firstDot === lastDot || token.indexOf(".", firstDot + 1) !== lastDot) refuse("parts");
  const headerBytes = decodeBase64url(token.slice(0, firstDot));
  const payloadBytes = decodeBase64url(token.slice(firstDot + 1, lastDot));
  const signature = decodeBase64url(token.slice(lastDot + 1));
  if (headerBytes === undefined || payloadBytes === undefined || signature === undefined) return refuse("base64url");
  const header = jsonObject(headerBytes, "headerJson");
  for (const name of Object.keys(header)) {
    if (name === "alg" || name === "kid" || name === "typ") continue;
    if (name === "crit") refuse("headerCrit");
    if (KEY_MEMBERS.has(name)) refuse("headerKey");
    refuse("headerMember");
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== "string" || typeof kid !== "string" || typeof typ !== "string") refuse("headerShape");
  if (typ !== ACCESS_TOKEN_TYP) refuse("typ");
  const payload = jsonObject(payloadBytes, "payloadJson");
  return { header: { alg, kid, typ }, payload, signingInput: Buffer.from(token.slice(0, lastDot), "latin1"), signature };
}

/** How node:crypto signs and verifies each algorithm, as RFC 7518 defines it. */
const ALGORITHMS: Record<SigningAlgorithm, { digest: string | null; dsaEncoding?: "ieee-p1363" }> = {
  // ECDSA signatures in JWS are r || s (IEEE P1363), not DER.
  ES256: { digest: "sha256", dsaEncoding: "ieee-p1363" },
  // Ed25519 hashes internally: no digest.
  EdDSA: { digest: null },
  // RSASSA-PKCS1-v1_5, node's default padding for RSA keys.
  RS256: { digest: "sha256" },
};

/** The one algorithm a key signs or verifies with: its type pins it (RFC 8725 §3.1). */
function algorithmOfKey(key: KeyObject): SigningAlgorithm | undefined {
  const type = key.asymmetricKeyType;
  if (type === "ec") return key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? "ES256" : undefined;
  if (type === "ed25519") return "EdDSA";
  // jose's floor: RSA keys under 2048 bits are refused.
  if (type === "rsa") return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? "RS256" : undefined;
  return undefined;
}

/** A WebCrypto key is pinned by its algorithm too: an RSA-PSS CryptoKey never verifies RS256. */
function webCryptoAlgorithmFits(key: CryptoKey, alg: SigningAlgorithm): boolean {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  if (alg === "ES256") return algorithm.name === "ECDSA" && algorithm.namedCurve === "P-256";
  if (alg === "EdDSA") return algorithm.name === "Ed25519";
  return algorithm.name === "RSASSA-PKCS1-v1_5" && algorithm.hash?.name === "SHA-256";
}

interface PreparedKey {
  readonly key: KeyObject;
  readonly alg: SigningAlgorithm | undefined;
}

/** KeyObjects and their pinned algorithm, by the key given (converted once per key and use). */
const preparedKeys = { public: new WeakMap<JwsKey, PreparedKey>(), private: new WeakMap<JwsKey, PreparedKey>() };

function prepare(key: JwsKey, type: "public" | "private"): PreparedKey {
  let prepared = preparedKeys[type].get(key);
  if (prepared === undefined) {
    const webKey = key instanceof KeyObject ? undefined : (key as CryptoKey);
    const keyObject = webKey === undefined ? (key as KeyObject) : KeyObject.from(webKey);
    let alg = keyObject.type === type ? algorithmOfKey(keyObject) : undefined;
    if (alg !== undefined && webKey !== undefined) {
      const usage = type === "public" ? "verify" : "sign";
      if (!webCryptoAlgorithmFits(webKey, alg) || !webKey.usages.includes(usage)) alg = undefined;
    }
    prepared = { key: keyObject, alg };
    preparedKeys[type].set(key, prepared);
  }
  return prepared;
}

/**
 * Checks a decoded token's signature with the key found for its kid. The key
 * pins the algorithm: the header's `alg` must be the key's own (an EC P-256
 * key verifies only ES256, an Ed25519 key only EdDSA, an RSA key of at least
 * 2048 bits only RS256; `none` and HMAC never). Throws InvalidTokenError.
 */
export function verifyAccessTokenJws(jws: DecodedJws, key: JwsKey): void {
  const prepared = prepare(key, "public");
  if (prepared.alg === undefined || prepared.alg !== jws.header.alg) refuse("keyAlgorithm");
  const { digest, dsaEncoding } = ALGORITHMS[prepared.alg];
  const ok = cryptoVerify(digest, jws.signingInput, dsaEncoding === undefined ? prepared.key : { key: prepared.key, dsaEncoding }, jws.signature);
  if (!ok) refuse("signature");
}

/** Signs claims as one of our access tokens. */
export type AccessTokenSigner = (claims: Readonly<Record<string, unknown>>) => string;

const signers = new WeakMap<SigningKey, AccessTokenSigner>();

/**
 * The signer of a key: its header `{"alg","kid","typ":"at+jwt"}` is encoded
 * once, and each call signs synchronously with node:crypto. One per key.
 */
export function accessTokenSigner(key: SigningKey): AccessTokenSigner {
  let signer = signers.get(key);
  if (signer === undefined) {
    const prepared = prepare(key.privateKey, "private");
    if (prepared.alg !== key.alg) throw new Error(`the private key of ${key.kid} does not sign ${key.alg}`);
    const { digest, dsaEncoding } = ALGORITHMS[key.alg];
    const signingKey = dsaEncoding === undefined ? prepared.key : { key: prepared.key, dsaEncoding };
    const encodedHeader = encodeBase64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP }));
    signer = (claims) => {
      const signingInput = `${encodedHeader}.${encodeBase64url(JSON.stringify(claims))}`;
      return `${signingInput}.${cryptoSign(digest, Buffer.from(signingInput, "latin1"), signingKey).toString("base64url")}`;
    };
    signers.set(key, signer);
  }
  return signer;
}
