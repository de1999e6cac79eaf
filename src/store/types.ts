/**
 * Shared state the core depends on, as narrow interfaces. The memory store
 * serves one process; the Redis store shares state between replicas. Every
 * method rejects with TemporarilyUnavailableError when its backend is down, so
 * that callers fail closed with a clear UNAVAILABLE/503.
 */

/** Single-use records, e.g. client-assertion `jti`s. */
export interface ReplayGuard {
  /**
   * Atomically records `key` until `expiresAt` (epoch seconds). Resolves true
   * for the first caller, false for every later one while the record lives.
   */
  claim(key: string, expiresAt: number): Promise<boolean>;
}

/**
 * Revoked tokens, keyed by (issuer, jti), kept until the token expires; and
 * client-wide cut-offs, "every token of client X (issuer) issued before T",
 * kept until T plus the longest token lifetime.
 */
export interface DenyList {
  /** Records a revocation; resolves only once it is stored. */
  revoke(issuer: string, jti: string, expiresAt: number): Promise<void>;
  /** Whether the token is revoked. */
  isRevoked(issuer: string, jti: string): Promise<boolean>;
  /**
   * Revokes every token of `clientId` from `issuer` whose iat is strictly before `issuedBefore`
   * (epoch seconds), until `expiresAt` (epoch seconds: issuedBefore + the longest token lifetime).
   * A later cut-off of the same client never moves an earlier one back; resolves only once stored.
   */
  revokeClient(issuer: string, clientId: string, issuedBefore: number, expiresAt: number): Promise<void>;
  /** Whether a token of `clientId` from `issuer` issued at `issuedAt` (epoch seconds) is cut off. */
  isClientRevoked(issuer: string, clientId: string, issuedAt: number): Promise<boolean>;
}

/**
 * One revocation, as pushed to verifiers: a token (issuer, jti); a signing
 * key (jti `kid:<kid>`); or, with `issuedBefore`, a client-wide cut-off (jti
 * `client:<client id>`).
 */
export interface RevocationEvent {
  readonly issuer: string;
  readonly jti: string;
  /** Epoch seconds after which the token is expired anyway and the entry can be dropped. */
  readonly expiresAt: number;
  /** Set on a client-wide cut-off: tokens of the client with iat strictly before this (epoch seconds) are revoked. */
  readonly issuedBefore?: number;
}

/**
 * Revocations pushed to verifiers as they happen. A subscriber first gets
 * every revocation still in force, then each new one; after a lost connection
 * it is caught up with what it missed, so that no revocation is skipped.
 */
export interface RevocationFeed {
  /**
   * Set by a feed that crosses a network (e.g. the Redis store's): while its
   * connection is healthy, a subscription calls `onSynced` at least this
   * often, in ms. A verifier treats a feed silent for longer than its
   * staleness bound as broken. Unset for a feed that cannot fall behind
   * (in process, e.g. MemoryDenyList).
   */
  readonly heartbeatMs?: number;
  /**
   * Starts delivering revocations to `listener`. Resolves once the
   * revocations in force have been delivered; rejects (with
   * TemporarilyUnavailableError) when the feed cannot be reached. The
   * returned function stops the subscription.
   */
  subscribe(listener: (event: RevocationEvent) => void, hooks?: RevocationSubscriberHooks): Promise<() => void>;
}

/**
 * A point in a feed that numbers its revocations: the feed's identity (a new
 * one when the store lost its revocations) and a sequence number. Every
 * subscriber of one store sees the same numbers, so a position learned from
 * one replica's subscription names the same point on another's.
 */
export interface FeedPosition {
  /** The feed's identity; empty when the store cannot tell (then positions are not comparable across subscriptions). */
  readonly feed: string;
  readonly seq: number;
}

/** What a feed tells a subscriber besides the revocations themselves. */
export interface RevocationSubscriberHooks {
  /**
   * For a feed that numbers its revocations: called with `"entry"` just
   * before each new revocation reaches the listener (its position), and with
   * `"snapshot"` once the revocations in force have been delivered (on
   * subscribe and after a gap), with the position they reflect. A feed that
   * does not number them never calls it.
   */
  onPosition?(position: FeedPosition, kind: "entry" | "snapshot"): void;
  /**
   * The subscription is up to date with the feed as of now: called once the
   * revocations in force are delivered, after each catch-up, and (for a feed
   * with `heartbeatMs`) at least that often while the connection is healthy.
   */
  onSynced?(): void;
}

/** An introspection answer's place in the cache: one token, (issuer, jti), asked about by one caller. */
export interface IntrospectionCacheKey {
  readonly issuer: string;
  readonly jti: string;
  /** The authenticated caller (client id): answers depend on its audiences, so they are never shared between callers. */
  readonly caller: string;
  /**
   * The token's client_id and iat (epoch seconds), as the token carries them: a cut-off of that client
   * covering iat revokes the token as its own deny-list entry does. Read before verification they may be
   * a forger's, which is harmless: a token they put under a cut-off is inactive either way, and a cached
   * value is only ever used for the very token it was made for.
   */
  readonly client: { readonly id: string; readonly issuedAt: number };
}

/** What the cache knows: the token is revoked, or the cached value (undefined on a miss). */
export type IntrospectionCacheLookup = { readonly revoked: true } | { readonly revoked: false; readonly value: string | undefined };

/**
 * Active introspection answers, cached per (issuer, jti, caller). The
 * deny-list is part of it: every lookup consults the deny-list first, and a
 * fill is atomic with respect to DenyList.revoke, so that a revocation racing a
 * fill never leaves an active entry behind; a revocation removes the token's
 * entries. Values are opaque to the cache.
 */
export interface IntrospectionCache {
  /** Whether the token is revoked (its own entry or its client's cut-off), else the cached value for this caller, if any. */
  lookup(key: IntrospectionCacheKey): Promise<IntrospectionCacheLookup>;
  /**
   * Caches `value` until min(now + the configured TTL, `expiresAt`) (epoch
   * seconds, the token's exp), unless the token is revoked (its own entry or
   * its client's cut-off, checked in the same atomic step as the fill).
   * Resolves false when it is revoked (nothing cached), true otherwise.
   */
  store(key: IntrospectionCacheKey, value: string, expiresAt: number): Promise<boolean>;
}

/**
 * Failed client authentications counted per (client, source address), so that
 * guessing is throttled without locking the client out from other sources.
 * Keys are derived from both names; neither needs to be secret, and no secret
 * is ever passed here.
 */
export interface AuthThrottle {
  /** Seconds until the pair may try again, or 0 when it is under the threshold. */
  retryAfter(clientId: string, source: string): Promise<number>;
  /** Counts one failed authentication of the pair. */
  recordFailure(clientId: string, source: string): Promise<void>;
}

/**
 * Request rates per (limit, subject), e.g. introspections per client: a fixed
 * window per pair that starts at its first request. Names and subjects need
 * not be secret, and no secret is ever passed here. Implementations reject
 * with TemporarilyUnavailableError when their backend is down; callers fail
 * open (rate limiting never refuses a request for want of its store).
 */
export interface RateLimiter {
  /**
   * Counts one request of `subject` under the limit `name` (at most `limit`
   * per `windowSeconds`). Resolves 0 when the request is within the limit,
   * else the seconds until the window ends (at least 1).
   */
  hit(name: string, subject: string, limit: number, windowSeconds: number): Promise<number>;
}
