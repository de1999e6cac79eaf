// What the token service reports as it works: the one hook between the core (issuer, keys, store)
// and the observability adapters (audit stream, Prometheus metrics), which server/ wires in. The core
// calls it; it never knows who listens. No field ever holds a secret, a token or an assertion.

/** A token was signed and returned. */
export interface TokenIssuedEvent {
  readonly clientId: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly jti: string;
  readonly kid: string;
  readonly grantType: string;
  /** How the client authenticated (client_secret_basic, …), or "none" for a jwt-bearer grant without client authentication. */
  readonly authMethod: string;
  /** The caller's IP address, when the transport knows it. */
  readonly source: string | undefined;
  /** Epoch seconds. */
  readonly expiresAt: number;
  /** The workload token that authenticated the client (or was its jwt-bearer grant): its issuer and subject. */
  readonly workload?: { readonly issuer: string; readonly subject: string };
  /** Token exchange: on whose behalf (`sub`), through whom (`act`, this client first), from which subject token (its jti). */
  readonly delegation?: { readonly subject: string; readonly actors: readonly string[]; readonly subjectTokenId: string };
}

/** A client authentication failed; `reason` is the server-side truth the client is never told. */
export interface ClientAuthRefusedEvent {
  /** The client the request claimed to be, unverified; undefined when it named none. */
  readonly claimedClientId: string | undefined;
  /** The method the request used (client_secret_basic, client_secret_post, client assertion). */
  readonly method: string | undefined;
  /** A stable reason code, e.g. `auth_method_mismatch`, `unknown_client`, `wrong_secret`. */
  readonly reason: string;
  /** A sentence for the operator (never a secret). */
  readonly detail: string | undefined;
  readonly source: string | undefined;
}

export interface TokenRevokedEvent {
  /** The authenticated client that revoked it (its own token). */
  readonly clientId: string;
  readonly jti: string;
  readonly audience: string;
  readonly source: string | undefined;
}

/** A (client, source) pair was refused because of too many failed authentications. */
export interface ThrottleBlockedEvent {
  readonly clientId: string;
  readonly source: string;
  readonly retryAfterSeconds: number;
}

export type KeyChange = "published" | "rotated" | "retired" | "revoked";

/** The key ring changed (reported by the replica that wrote the change). */
export interface KeyChangedEvent {
  readonly change: KeyChange;
  readonly kid: string;
  readonly alg: string;
  /** For `rotated`: the key that signed until now. */
  readonly previousKid?: string | undefined;
}

/** The streams whose subscribers are counted as connected watchers. */
export type WatchStream = "revocations" | "keys";

/**
 * The token service's observation hook. Every method must be cheap and must
 * never throw; `noServiceEvents` is the default. server/ fans it out to the
 * audit stream and the Prometheus metrics.
 *
 * @example
 * ```ts
 * // A WatchRevocations handler counts its subscriber while the stream is open:
 * const disconnected = events.watcherConnected("revocations");
 * try { await stream(); } finally { disconnected(); }
 * ```
 */
export interface ServiceEvents {
  tokenIssued(event: TokenIssuedEvent): void;
  clientAuthRefused(event: ClientAuthRefusedEvent): void;
  tokenRevoked(event: TokenRevokedEvent): void;
  throttleBlocked(event: ThrottleBlockedEvent): void;
  /** An introspection looked up its cache. */
  introspectionCache(hit: boolean): void;
  keyChanged(event: KeyChangedEvent): void;
  /** A watcher subscribed to a stream; call the returned function once when it goes. */
  watcherConnected(stream: WatchStream): () => void;
  /** How far behind the revocation feed a subscriber read an entry (now − when it was written), in seconds. */
  revocationFeedLag(seconds: number): void;
  /** One Redis round trip (the health probe's PING), in seconds. */
  redisLatency(seconds: number): void;
  /** One Redis call a store made (`operation`: a fixed name such as `deny_list.check`), in seconds, and whether it answered. */
  redisCommand(operation: string, seconds: number, ok: boolean): void;
}

const nothing = () => {};

/**
 * Reports nothing: the default wherever no observer is wired.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { createRedisStore, fastFailOptions, noServiceEvents } from "tessera/server";
 *
 * const store = createRedisStore({ client: new Redis(process.env.REDIS_URL!, fastFailOptions(2000)) }, { events: noServiceEvents });
 * ```
 */
export const noServiceEvents: ServiceEvents = Object.freeze({
  tokenIssued: nothing,
  clientAuthRefused: nothing,
  tokenRevoked: nothing,
  throttleBlocked: nothing,
  introspectionCache: nothing,
  keyChanged: nothing,
  watcherConnected: () => nothing,
  revocationFeedLag: nothing,
  redisLatency: nothing,
  redisCommand: nothing,
});
