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

/** Revoked tokens, keyed by (issuer, jti), kept until the token expires. */
export interface DenyList {
  /** Records a revocation; resolves only once it is stored. */
  revoke(issuer: string, jti: string, expiresAt: number): Promise<void>;
  /** Whether the token is revoked. */
  isRevoked(issuer: string, jti: string): Promise<boolean>;
}

/** One revocation, as pushed to verifiers. */
export interface RevocationEvent {
  readonly issuer: string;
  readonly jti: string;
  /** Epoch seconds after which the token is expired anyway and the entry can be dropped. */
  readonly expiresAt: number;
}

/**
 * Revocations pushed to verifiers as they happen. A subscriber first gets
 * every revocation still in force, then each new one; after a lost connection
 * it is caught up with what it missed, so that no revocation is skipped.
 */
export interface RevocationFeed {
  /**
   * Starts delivering revocations to `listener`. Resolves once the
   * revocations in force have been delivered; the returned function stops
   * the subscription.
   */
  subscribe(listener: (event: RevocationEvent) => void): Promise<() => void>;
}
