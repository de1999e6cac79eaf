import type { CryptoKey, JWSHeaderParameters, KeyObject } from "jose";
import { InsufficientScopeError, InvalidTokenError, TemporarilyUnavailableError } from "../errors/tessera-error.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { describeRequiredScopes, scopesSatisfy, type ResolvedAuthRule } from "../policy/auth-rule.js";
import { keyRevocationJti } from "./key-revocation.js";
import type { RevocationEvent, RevocationFeed } from "../store/types.js";
import type { AccessTokenClaims } from "./access-token-claims.js";
import { bearerCredential, isBearerTokenSyntax } from "./bearer-token.js";
import { DenySet } from "./deny-set.js";
import { principalOf, type Principal } from "./principal.js";
import { VerifiedTokenCache } from "./verified-token-cache.js";
import { verifyAccessToken, type VerifyAccessTokenOptions } from "./verify-access-token.js";

/** Where a verifier finds the key for a token header (exact kid, matching alg); e.g. a RemoteKeySet over the issuer's JWKS. */
export interface VerificationKeySource {
  resolve(header: JWSHeaderParameters): Promise<CryptoKey | KeyObject | undefined>;
}

/** Options of TokenVerifier. */
export interface TokenVerifierOptions {
  /** The issuer identifier; `iss` must equal it exactly. */
  issuer: string;
  /** The issuer's public keys. */
  keys: VerificationKeySource;
  /** Accepted signing algorithms. Default: ES256, EdDSA, RS256. `none` and HMAC are never accepted. */
  algorithms?: readonly string[];
  /** Clock skew tolerated on exp, nbf and iat, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Tokens claiming a longer lifetime (exp − iat) are refused. Default 3600 s, Tessera's maximum. */
  maxLifetimeSeconds?: number;
  /** Revocations pushed from the token service (e.g. the Redis store's feed). */
  revocations?: RevocationFeed;
  /**
   * With `revocations` set, what to do while they are not loaded (before
   * start() finished): "fail-closed" (default) answers UNAVAILABLE,
   * "fail-open" accepts tokens that are otherwise valid.
   */
  revocationPolicy?: "fail-closed" | "fail-open";
  /** Verified tokens kept for a map-lookup fast path. Default 10000; 0 disables. */
  cacheSize?: number;
  clock?: Clock;
}

/**
 * Verifies access tokens locally and decides whether they satisfy an RPC's
 * auth rule. Transport-neutral: the Connect and grpc-js interceptors share it.
 *
 * @example
 * const verifier = new TokenVerifier({ issuer, keys: new RemoteKeySet({ fetch: httpJwksFetcher(jwksUrl) }) });
 * await verifier.start();
 * const principal = await verifier.check(request.headers.get("authorization"), rule);
 */
export class TokenVerifier {
  readonly issuer: string;
  readonly #keys: VerificationKeySource;
  readonly #verifyOptions: VerifyAccessTokenOptions;
  readonly #cache: VerifiedTokenCache;
  /** Verifications under way, by token: concurrent first sights of one token share one (a cold start or a refresh sends many at once). */
  readonly #verifying = new Map<string, Promise<Principal>>();
  readonly #deny: DenySet;
  readonly #revocations: RevocationFeed | undefined;
  readonly #failOpen: boolean;
  readonly #clock: Clock;

  constructor(options: TokenVerifierOptions) {
    this.issuer = options.issuer;
    this.#keys = options.keys;
    this.#clock = options.clock ?? systemClock;
    this.#verifyOptions = {
      issuer: options.issuer,
      algorithms: options.algorithms ?? ["ES256", "EdDSA", "RS256"],
      clockToleranceSeconds: options.clockToleranceSeconds ?? 30,
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 3600,
      clock: this.#clock,
    };
    this.#cache = new VerifiedTokenCache(options.cacheSize ?? 10_000, this.#clock);
    this.#deny = new DenySet(this.#clock);
    this.#revocations = options.revocations;
    this.#failOpen = options.revocationPolicy === "fail-open";
  }

  /** Loads the revocations in force and follows new ones. Call before serving. */
  async start(): Promise<void> {
    if (this.#revocations !== undefined && !this.#deny.ready) await this.#deny.follow(this.#revocations);
  }

  stop(): void {
    this.#deny.stop();
  }

  /** Verifies a token: signature, typ, alg, iss, exp/nbf/iat, lifetime, revocation. Throws InvalidTokenError. */
  async verify(token: string): Promise<AccessTokenClaims> {
    return (await this.#verified(token)).claims;
  }

  async #verified(token: string): Promise<Principal> {
    const principal = this.#cache.get(token, this.#verifyOptions.clockToleranceSeconds) ?? (await this.#firstSight(token));
    this.#checkRevocation(principal.claims);
    return principal;
  }

  /** Verifies a token not in the cache; concurrent first sights of one token share the work. */
  #firstSight(token: string): Promise<Principal> {
    let verifying = this.#verifying.get(token);
    if (verifying === undefined) {
      verifying = verifyAccessToken(token, (kid, alg) => this.#keys.resolve({ kid, alg }), this.#verifyOptions).then((claims) => {
        const principal = principalOf(claims);
        this.#cache.set(token, principal);
        return principal;
      });
      this.#verifying.set(token, verifying);
      const done = () => this.#verifying.delete(token);
      verifying.then(done, done);
    }
    return verifying;
  }

  #checkRevocation(claims: AccessTokenClaims): void {
    if (this.#revocations !== undefined && !this.#deny.ready && !this.#failOpen) {
      throw new TemporarilyUnavailableError("the revocation list is not loaded yet");
    }
    if (this.#deny.has(claims.iss, claims.jti)) throw new InvalidTokenError("the token has been revoked");
    if (this.#deny.has(claims.iss, keyRevocationJti(claims.kid))) throw new InvalidTokenError("the token's signing key has been revoked");
  }

  /**
   * Authenticates the bearer token of an `authorization` header value.
   * No token → InvalidTokenError without an error code (RFC 6750 §3.1).
   */
  async authenticate(authorization: string | null | undefined): Promise<Principal> {
    return this.#cachedPrincipal(authorization) ?? (await this.#verified(this.#syntaxChecked(authorization)));
  }

  /** Whether a principal satisfies a bearer rule: the audience, then the scopes. Throws InsufficientScopeError. */
  authorize(principal: Principal, rule: Extract<ResolvedAuthRule, { kind: "bearer" }>): void {
    const required = () => ({ scopes: describeRequiredScopes(rule), audience: rule.audience });
    if (principal.audience !== rule.audience) throw new InsufficientScopeError("the token was not issued for this service", required());
    if (!scopesSatisfy(rule, principal.scopes)) throw new InsufficientScopeError("the token lacks the scopes this method requires", required());
  }

  /**
   * The whole check of one call against its rule: undefined for a public or
   * client-authentication method, the principal when the token satisfies the
   * rule; throws the error to answer otherwise.
   */
  async check(authorization: string | null | undefined, rule: ResolvedAuthRule): Promise<Principal | undefined> {
    if (rule.kind !== "bearer") return undefined;
    const principal = await this.authenticate(authorization);
    this.authorize(principal, rule);
    return principal;
  }

  /**
   * check() without waiting, for interceptors that can go on synchronously:
   * the answer when it needs no signature verification (a public method, a
   * token already verified, or a refusal found without one), wrapped as
   * `{ principal }`; undefined when the token must be verified first (then
   * call check()). Throws what check() rejects with.
   */
  checkNow(authorization: string | null | undefined, rule: ResolvedAuthRule): { principal: Principal | undefined } | undefined {
    if (rule.kind !== "bearer") return { principal: undefined };
    const principal = this.#cachedPrincipal(authorization);
    if (principal === undefined) {
      this.#syntaxChecked(authorization);
      return undefined;
    }
    this.authorize(principal, rule);
    return { principal };
  }

  /** The principal of a token already verified (revocation checked), else undefined. Throws for a header that is not Bearer. */
  #cachedPrincipal(authorization: string | null | undefined): Principal | undefined {
    const token = bearerCredential(authorization);
    const principal = token === undefined ? undefined : this.#cache.get(token, this.#verifyOptions.clockToleranceSeconds);
    if (principal !== undefined) this.#checkRevocation(principal.claims);
    return principal;
  }

  /** The bearer token of a header, its syntax checked. No token → InvalidTokenError without an error code (RFC 6750 §3.1). */
  #syntaxChecked(authorization: string | null | undefined): string {
    const token = bearerCredential(authorization);
    if (token === undefined) throw new InvalidTokenError("a bearer token is required", { tokenSent: false });
    if (!isBearerTokenSyntax(token)) throw new InvalidTokenError("the bearer token is malformed");
    return token;
  }

  /** Whether a verified token is still good now (not expired, not revoked): for long streams. */
  stillValid(claims: AccessTokenClaims): boolean {
    return claims.exp > this.#clock.now() / 1000 && !this.#deny.has(claims.iss, claims.jti) && !this.#deny.has(claims.iss, keyRevocationJti(claims.kid));
  }

  /** Calls `listener` for each revocation learned from now on. */
  onRevoked(listener: (event: RevocationEvent) => void): () => void {
    return this.#deny.onRevoked(listener);
  }

  /**
   * Watches a verified token for the end of its validity (expiry or
   * revocation) and calls `onEnd` once. Returns a function that stops watching.
   */
  watch(claims: AccessTokenClaims, onEnd: (reason: "expired" | "revoked") => void): () => void {
    let done = false;
    const finish = (reason: "expired" | "revoked") => {
      if (done) return;
      done = true;
      stop();
      onEnd(reason);
    };
    const msLeft = Math.max(0, claims.exp * 1000 - this.#clock.now());
    const timer = setTimeout(() => finish("expired"), Math.min(msLeft, 2 ** 31 - 1));
    const unsubscribe = this.onRevoked((event) => {
      if (event.issuer === claims.iss && (event.jti === claims.jti || event.jti === keyRevocationJti(claims.kid))) finish("revoked");
    });
    const stop = () => {
      clearTimeout(timer);
      unsubscribe();
    };
    return () => {
      done = true;
      stop();
    };
  }
}
