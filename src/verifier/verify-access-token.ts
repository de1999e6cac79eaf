import type { CryptoKey, JWTPayload, KeyObject } from "jose";
import { InvalidTokenError } from "../errors/tessera-error.js";
import type { Clock } from "../internal/clock.js";
import { decodeAccessTokenJws, verifyAccessTokenJws, type DecodedJws } from "../keys/jws.js";
import type { AccessTokenClaims } from "./access-token-claims.js";
import { actorChain } from "./actor-chain.js";

/** Finds the verification key for an exact `kid`; resolves undefined when no such key is known. */
export type VerificationKeyResolver = (kid: string, alg: string) => Promise<CryptoKey | KeyObject | undefined>;

/** Options of verifyAccessToken. */
export interface VerifyAccessTokenOptions {
  /** The expected `iss`, compared exactly. */
  issuer: string;
  /** Accepted `alg` values; `none` and HMAC are never accepted whatever is listed. */
  algorithms: readonly string[];
  /** Seconds of clock skew tolerated on exp, nbf and iat. */
  clockToleranceSeconds: number;
  /** Upper bound for exp − iat, in seconds: a token that claims to live longer is refused. */
  maxLifetimeSeconds: number;
  /** Longest token accepted, in bytes; a longer one is refused before it is parsed. Default 8192. */
  maxTokenBytes?: number;
  clock: Clock;
}

/** The default of VerifyAccessTokenOptions.maxTokenBytes. */
export const DEFAULT_MAX_TOKEN_BYTES = 8192;

function reject(reason: string): never {
  throw new InvalidTokenError(reason);
}

function numericClaim(payload: JWTPayload, name: "exp" | "iat" | "nbf"): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) reject(`the token's ${name} claim is malformed`);
  return value;
}

/**
 * The checks that need no key: size, structure, typ, alg allow-list, iss, exp,
 * nbf and lifetime. They run before any key lookup, so that an expired or foreign token
 * never causes a JWKS fetch.
 */
export function precheckAccessToken(token: string, options: VerifyAccessTokenOptions): { kid: string; alg: string; payload: JWTPayload; jws: DecodedJws } {
  // A JWS compact serialization is ASCII: its length in characters is its size in bytes.
  if (token.length > (options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES)) reject("the token is larger than accepted");
  // Structure and header (three canonical base64url parts; alg, kid and typ at+jwt only): keys/jws.ts.
  const jws = decodeAccessTokenJws(token);
  const { header } = jws;
  const payload = jws.payload as JWTPayload;
  const alg = header.alg;
  if (alg === "none" || alg.startsWith("HS") || !options.algorithms.includes(alg)) {
    reject("the token's signing algorithm is not accepted");
  }
  if (header.kid.length === 0) reject("the token has no key id");
  if (payload.iss !== options.issuer) reject("the token was not issued by the expected issuer");
  // Whole seconds, as jose counts them: a fractional now would admit an nbf or iat up to a second later than jose does.
  const now = Math.floor(options.clock.now() / 1000);
  const exp = numericClaim(payload, "exp");
  const iat = numericClaim(payload, "iat");
  const nbf = numericClaim(payload, "nbf");
  if (exp === undefined || iat === undefined) reject("the token lacks exp or iat");
  if (exp <= now - options.clockToleranceSeconds) reject("the token has expired");
  if (nbf !== undefined && nbf > now + options.clockToleranceSeconds) reject("the token is not valid yet");
  if (iat > now + options.clockToleranceSeconds) reject("the token was issued in the future");
  if (exp - iat > options.maxLifetimeSeconds) reject("the token's lifetime exceeds the accepted maximum");
  return { kid: header.kid, alg, payload, jws };
}

function claimsOf(payload: JWTPayload, kid: string): AccessTokenClaims {
  const { iss, sub, aud, exp, iat, nbf, jti } = payload;
  const clientId = payload.client_id;
  const scope = payload.scope;
  if (typeof sub !== "string" || typeof jti !== "string" || typeof clientId !== "string") {
    reject("the token lacks sub, jti or client_id");
  }
  if (typeof aud !== "string" && !(Array.isArray(aud) && aud.length === 1 && typeof aud[0] === "string")) {
    reject("the token must have exactly one audience");
  }
  if (scope !== undefined && typeof scope !== "string") reject("the token's scope claim is malformed");
  const actors = actorChain(payload.act);
  if (actors.length > 0 && actors[0] !== clientId) reject("the token's current actor is not its client");
  return Object.freeze({
    iss: iss as string,
    sub,
    aud: typeof aud === "string" ? aud : (aud[0] as string),
    exp: exp as number,
    iat: iat as number,
    nbf,
    jti,
    kid,
    clientId,
    scopes: Object.freeze(scope ? scope.split(" ").filter((s) => s.length > 0) : []),
    actors,
    // The parsed payload itself: nothing else holds it (decodeAccessTokenJws made it for this token).
    raw: Object.freeze(payload),
  });
}

/**
 * Verifies an RFC 9068 access token (RFC 8725 rules): typ, algorithm
 * allow-list, key by exact kid from the resolver only (jku, x5u, jwk and x5c
 * headers are never used), signature, iss, exp/nbf/iat with leeway, lifetime
 * cap, unknown `crit` refused. Audience, scopes and revocation are the caller's
 * checks. Throws InvalidTokenError; rethrows TesseraErrors of the resolver
 * (e.g. an unavailable key source) unchanged.
 *
 * @example
 * ```ts
 * import { RemoteKeySet, httpJwksFetcher, verifyAccessToken } from "tessera";
 *
 * // The checks alone, without TokenVerifier's cache, revocations, audience and scopes.
 * const keys = new RemoteKeySet({ fetch: httpJwksFetcher("https://tessera.internal/.well-known/jwks.json") });
 * const claims = await verifyAccessToken(token, (kid, alg) => keys.resolve({ kid, alg }), {
 *   issuer: "https://tessera.internal",
 *   algorithms: ["ES256"],
 *   clockToleranceSeconds: 30,
 *   maxLifetimeSeconds: 3600,
 *   clock: { now: () => Date.now() },
 * });
 * ```
 */
export async function verifyAccessToken(token: string, resolveKey: VerificationKeyResolver, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  const { kid, alg, payload, jws } = precheckAccessToken(token, options);
  const key = await resolveKey(kid, alg);
  if (key === undefined) reject("the token was signed with an unknown key");
  // Synchronous node:crypto; the key pins the algorithm (keys/jws.ts).
  verifyAccessTokenJws(jws, key);
  return claimsOf(payload, kid);
}

/**
 * verifyAccessToken without waiting, for a key already at hand: the claims,
 * or undefined when `keyNow` does not have the token's key in memory (then
 * call verifyAccessToken). Throws what verifyAccessToken rejects with.
 */
export function verifyAccessTokenNow(
  token: string,
  keyNow: (kid: string, alg: string) => CryptoKey | KeyObject | undefined,
  options: VerifyAccessTokenOptions,
): AccessTokenClaims | undefined {
  const { kid, alg, payload, jws } = precheckAccessToken(token, options);
  const key = keyNow(kid, alg);
  if (key === undefined) return undefined;
  verifyAccessTokenJws(jws, key);
  return claimsOf(payload, kid);
}
