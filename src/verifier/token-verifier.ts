import type { Counter } from "@opentelemetry/api";
import { CACHED, FIRST_SIGHT, inSpan, libraryInstruments, tracer } from "../internal/library-telemetry.js";
import type { CryptoKey, JWSHeaderParameters, KeyObject } from "jose";
import { InsufficientScopeError, InvalidTokenError, TemporarilyUnavailableError } from "../errors/tessera-error.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { describeRequiredScopes, scopesSatisfy, type ResolvedAuthRule } from "../policy/auth-rule.js";
import type { RevocationEvent, RevocationFeed } from "../store/types.js";
import type { AccessTokenClaims } from "./access-token-claims.js";
import { bearerCredential, isBearerTokenSyntax, type AuthorizationHeader } from "./bearer-token.js";
import { DenySet, revocationCovers, type RevocationReason } from "./deny-set.js";

const REVOKED_MESSAGES: Readonly<Record<RevocationReason, string>> = {
  token: "the token has been revoked",
  key: "the token's signing key has been revoked",
  client: "the token's client has had its tokens revoked",
};
import { principalOf, type Principal } from "./principal.js";
import { VerifiedTokenCache } from "./verified-token-cache.js";
import { verifyAccessToken, verifyAccessTokenNow, type VerifyAccessTokenOptions } from "./verify-access-token.js";

/** Where a verifier finds the key for a token header (exact kid, matching alg); e.g. a RemoteKeySet over the issuer's JWKS. */
export interface VerificationKeySource {
  resolve(header: JWSHeaderParameters): Promise<CryptoKey | KeyObject | undefined>;
  /**
   * The key for a header when it is at hand in memory and needs no refresh,
   * else undefined (the verifier then waits for resolve). Optional: it lets a
   * first sight be verified without a promise.
   */
  resolveNow?(header: JWSHeaderParameters): CryptoKey | KeyObject | undefined;
  /**
   * Whether the key with this kid was revoked in an emergency (e.g. pushed by
   * WatchKeys). Optional: the verifier then refuses tokens it signed even
   * when they were verified before.
   */
  isRevoked?(kid: string): boolean;
  /** Starts what keeps the keys current (e.g. a WatchKeys stream); called by TokenVerifier.start(), must not reject because an upstream is down. */
  start?(): Promise<void>;
  /** Stops it; called by TokenVerifier.stop(). */
  stop?(): void;
}

/** Options of TokenVerifier. */
export interface TokenVerifierOptions {
  /** The issuer identifier; `iss` must equal it exactly. */
  issuer: string;
  /** The issuer's public keys. */
  keys: VerificationKeySource;
  /** Accepted signing algorithms. Default: ES256, EdDSA, RS256. `none` and HMAC are never accepted. */
  algorithms?: readonly string[];
  /**
   * Clock skew tolerated on exp, nbf and iat, in seconds. Default 30; at
   * most 300 (a larger value is refused, e.g. milliseconds given by mistake).
   */
  clockToleranceSeconds?: number;
  /**
   * Tokens claiming a longer lifetime (exp − iat) are refused, in seconds.
   * Default 3600 (Tessera's own maximum); at most 86400.
   */
  maxLifetimeSeconds?: number;
  /**
   * Tokens longer than this many bytes are refused before they are parsed.
   * Default 8192 (a Tessera token is under 1 KiB); from 1024 to 65536.
   */
  maxTokenBytes?: number;
  /** Revocations pushed from the token service (e.g. the Redis store's feed). */
  revocations?: RevocationFeed;
  /**
   * With `revocations` set, what to do while the verifier cannot trust its
   * deny set: before it is loaded (start() keeps trying in the background
   * while the feed is unreachable), and while it is stale (see
   * `revocationStaleAfterSeconds`). "fail-closed" (default) answers
   * UNAVAILABLE; "fail-open" accepts tokens that are otherwise valid and
   * not known to be revoked.
   */
  revocationPolicy?: "fail-closed" | "fail-open";
  /**
   * The staleness bound, in seconds: once a feed that crosses a network
   * (one with `heartbeatMs`, e.g. the Redis store's) has not confirmed the
   * deny set in sync for this long, the verifier applies `revocationPolicy`
   * until the feed is back and has caught up. Revocations already known stay
   * enforced meanwhile. Measured in real (monotonic) time, not on `clock`.
   * Default 30; at least twice the feed's heartbeat (the Redis feed's is
   * its `feedBlockMs`, 5 s by default), at most 3600.
   */
  revocationStaleAfterSeconds?: number;
  /** Verified tokens kept for a map-lookup fast path. Default 10000; 0 disables. */
  cacheSize?: number;
  /** The time source (tests freeze it). Default: the system clock. */
  clock?: Clock;
}

/** Defaults and bounds of the TokenVerifier options, in the options' units. */
export const VERIFIER_LIMITS = Object.freeze({
  clockToleranceSeconds: { default: 30, min: 0, max: 300 },
  maxLifetimeSeconds: { default: 3600, min: 1, max: 86_400 },
  maxTokenBytes: { default: 8192, min: 1024, max: 65_536 },
  revocationStaleAfterSeconds: { default: 30, min: 1, max: 3600 },
});

/** Where the verifier stands with its revocations: none configured, not loaded yet, in sync, or stale. */
export type RevocationStatus = "none" | "loading" | "current" | "stale";

/** What an insufficient_scope answer names: the rule's least-privilege scopes and its audience. */
function requiredBy(rule: Extract<ResolvedAuthRule, { kind: "bearer" }>): { scopes: string[]; audience: string } {
  return { scopes: describeRequiredScopes(rule), audience: rule.audience };
}

function bounded(name: keyof typeof VERIFIER_LIMITS, value: number | undefined): number {
  const { default: fallback, min, max } = VERIFIER_LIMITS[name];
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`TokenVerifier: ${name} must be from ${min} to ${max}, got ${value}`);
  return value;
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
  /** The staleness bound in ms, or undefined when the feed cannot fall behind (no heartbeat). */
  readonly #staleAfterMs: number | undefined;
  readonly #clock: Clock;
  readonly #verifications: Counter;

  constructor(options: TokenVerifierOptions) {
    this.issuer = options.issuer;
    this.#verifications = libraryInstruments().verifications;
    this.#keys = options.keys;
    this.#clock = options.clock ?? systemClock;
    this.#verifyOptions = {
      issuer: options.issuer,
      algorithms: options.algorithms ?? ["ES256", "EdDSA", "RS256"],
      clockToleranceSeconds: bounded("clockToleranceSeconds", options.clockToleranceSeconds),
      maxLifetimeSeconds: bounded("maxLifetimeSeconds", options.maxLifetimeSeconds),
      maxTokenBytes: bounded("maxTokenBytes", options.maxTokenBytes),
      clock: this.#clock,
    };
    this.#cache = new VerifiedTokenCache(options.cacheSize ?? 10_000, this.#clock);
    this.#deny = new DenySet(this.#clock);
    this.#revocations = options.revocations;
    this.#failOpen = options.revocationPolicy === "fail-open";
    const staleAfterSeconds = bounded("revocationStaleAfterSeconds", options.revocationStaleAfterSeconds);
    const heartbeatMs = options.revocations?.heartbeatMs;
    if (heartbeatMs !== undefined && staleAfterSeconds * 1000 < 2 * heartbeatMs) {
      throw new RangeError(`TokenVerifier: revocationStaleAfterSeconds (${staleAfterSeconds}) must be at least twice the feed's heartbeat (${heartbeatMs} ms)`);
    }
    this.#staleAfterMs = heartbeatMs === undefined ? undefined : staleAfterSeconds * 1000;
  }

  /**
   * Loads the revocations in force and follows new ones. Call before
   * serving. Resolves once they are loaded, or once the first attempt failed
   * because the feed is unreachable: it never rejects for that. The verifier
   * then keeps retrying in the background and answers UNAVAILABLE until the
   * revocations are loaded (unless `revocationPolicy: "fail-open"`). Await
   * revocationsLoaded() to wait for them.
   */
  async start(): Promise<void> {
    await Promise.all([this.#keys.start?.(), this.#revocations === undefined ? undefined : this.#deny.follow(this.#revocations)]);
  }

  /** Stops following the revocations (and retrying); the verifier fails closed again until start(). */
  stop(): void {
    this.#deny.stop();
    this.#keys.stop?.();
  }

  /** Resolves once the revocations in force are loaded (at once without `revocations`); rejects if stop() comes first. */
  revocationsLoaded(): Promise<void> {
    return this.#revocations === undefined ? Promise.resolve() : this.#deny.whenLoaded();
  }

  /** Where the verifier stands with its revocations, e.g. for a readiness probe. */
  get revocationStatus(): RevocationStatus {
    if (this.#revocations === undefined) return "none";
    if (!this.#deny.ready) return "loading";
    return this.#deny.isCurrent(this.#staleAfterMs) ? "current" : "stale";
  }

  /** Verifies a token: signature, typ, alg, iss, exp/nbf/iat, lifetime, revocation. Throws InvalidTokenError. */
  async verify(token: string): Promise<AccessTokenClaims> {
    return (await this.#verified(token)).claims;
  }

  async #verified(token: string): Promise<Principal> {
    const cached = this.#cache.get(token, this.#verifyOptions.clockToleranceSeconds);
    if (cached !== undefined) this.#verifications.add(1, CACHED);
    const principal = cached ?? (await this.#firstSight(token));
    this.#checkRevocation(principal.claims);
    return principal;
  }

  /** Verifies a token not in the cache; concurrent first sights of one token share the work. */
  #firstSight(token: string): Promise<Principal> {
    let verifying = this.#verifying.get(token);
    if (verifying === undefined) {
      // A span on this path only: it may wait for a key set fetch; a cached or synchronous check has none.
      const verified = inSpan(tracer(), "tessera.verify", {}, () =>
        verifyAccessToken(token, (kid, alg) => this.#keys.resolve({ kid, alg }), this.#verifyOptions),
      );
      verifying = verified.then((claims) => {
        this.#verifications.add(1, FIRST_SIGHT);
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
    if (this.#revocations !== undefined && !this.#failOpen && !this.#deny.isCurrent(this.#staleAfterMs)) {
      throw new TemporarilyUnavailableError(
        this.#deny.ready ? "the revocation list is stale: its feed has been unreachable too long" : "the revocation list is not loaded yet",
      );
    }
    const refusal = this.#deny.refusal(claims) ?? (this.#keys.isRevoked?.(claims.kid) === true ? "key" : undefined);
    if (refusal !== undefined) throw new InvalidTokenError(REVOKED_MESSAGES[refusal]);
  }

  /**
   * Authenticates the bearer token of an `authorization` header value (or
   * every value the transport received: two are refused with
   * InvalidRequestError, as is one that joins two with a comma).
   * No token → InvalidTokenError without an error code (RFC 6750 §3.1).
   */
  async authenticate(authorization: AuthorizationHeader): Promise<Principal> {
    return this.#cachedPrincipal(authorization) ?? (await this.#verified(this.#syntaxChecked(authorization)));
  }

  /** Whether a principal satisfies a bearer rule: the audience, then the scopes. Throws InsufficientScopeError. */
  authorize(principal: Principal, rule: Extract<ResolvedAuthRule, { kind: "bearer" }>): void {
    if (principal.audience !== rule.audience) throw new InsufficientScopeError("the token was not issued for this service", requiredBy(rule));
    if (!scopesSatisfy(rule, principal.scopes)) throw new InsufficientScopeError("the token lacks the scopes this method requires", requiredBy(rule));
  }

  /**
   * The whole check of one call against its rule: undefined for a public or
   * client-authentication method, the principal when the token satisfies the
   * rule; throws the error to answer otherwise.
   */
  async check(authorization: AuthorizationHeader, rule: ResolvedAuthRule): Promise<Principal | undefined> {
    if (rule.kind !== "bearer") return undefined;
    const principal = await this.authenticate(authorization);
    this.authorize(principal, rule);
    return principal;
  }

  /**
   * check() without waiting, for interceptors that can go on synchronously:
   * the answer when it needs no fetch (a public method, a token already
   * verified, a new token whose key is at hand, or a refusal found without
   * one), wrapped as `{ principal }`; undefined when the token must wait for
   * its key (then call check()). Throws what check() rejects with.
   */
  checkNow(authorization: AuthorizationHeader, rule: ResolvedAuthRule): { principal: Principal | undefined } | undefined {
    if (rule.kind !== "bearer") return { principal: undefined };
    const principal = this.#cachedPrincipal(authorization) ?? this.#firstSightNow(this.#syntaxChecked(authorization));
    if (principal === undefined) return undefined;
    this.authorize(principal, rule);
    return { principal };
  }

  /** A first sight verified synchronously when the key is at hand (and no verification of the token is under way), else undefined. */
  #firstSightNow(token: string): Principal | undefined {
    const keys = this.#keys;
    if (keys.resolveNow === undefined || (this.#verifying.size > 0 && this.#verifying.has(token))) return undefined;
    const claims = verifyAccessTokenNow(token, (kid, alg) => keys.resolveNow!({ kid, alg }), this.#verifyOptions);
    if (claims === undefined) return undefined;
    this.#verifications.add(1, FIRST_SIGHT);
    const principal = principalOf(claims);
    this.#cache.set(token, principal);
    this.#checkRevocation(claims);
    return principal;
  }

  /** The principal of a token already verified (revocation checked), else undefined. Throws for a header that is not Bearer. */
  #cachedPrincipal(authorization: AuthorizationHeader): Principal | undefined {
    const token = bearerCredential(authorization);
    const principal = token === undefined ? undefined : this.#cache.get(token, this.#verifyOptions.clockToleranceSeconds);
    if (principal !== undefined) {
      this.#verifications.add(1, CACHED);
      this.#checkRevocation(principal.claims);
    }
    return principal;
  }

  /** The bearer token of a header, its syntax checked. No token → InvalidTokenError without an error code (RFC 6750 §3.1). */
  #syntaxChecked(authorization: AuthorizationHeader): string {
    const token = bearerCredential(authorization);
    if (token === undefined) throw new InvalidTokenError("a bearer token is required", { tokenSent: false });
    if (!isBearerTokenSyntax(token)) throw new InvalidTokenError("the bearer token is malformed");
    return token;
  }

  /** Whether a verified token is still good now (not expired, not revoked): for long streams. */
  stillValid(claims: AccessTokenClaims): boolean {
    return claims.exp > this.#clock.now() / 1000 && this.#deny.refusal(claims) === undefined && this.#keys.isRevoked?.(claims.kid) !== true;
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
      if (revocationCovers(event, claims)) finish("revoked");
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
