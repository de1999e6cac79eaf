import type { JSONWebKeySet } from "jose";

/** One revocation as tessera.v1.TokenService/WatchRevocations carries it (the Revocation message, transport-neutral). */
export type StreamedRevocation =
  | { readonly kind: "token"; readonly issuer: string; readonly jti: string; readonly expiresAt: number }
  | { readonly kind: "key"; readonly issuer: string; readonly kid: string; readonly expiresAt: number }
  | { readonly kind: "client"; readonly issuer: string; readonly clientId: string; readonly issuedBefore: number; readonly expiresAt: number };

/** One WatchRevocationsResponse: a batch of the revocation stream. */
export interface RevocationBatch {
  /** A snapshot starts here. */
  readonly reset: boolean;
  readonly revocations: readonly StreamedRevocation[];
  /** The watcher is up to date with the replica (end of a snapshot or catch-up, or a heartbeat). */
  readonly synced: boolean;
  /** Where to resume; empty inside a snapshot. */
  readonly cursor: string;
  /** Within how long the replica sends another message on an idle stream, in ms (0: not said). */
  readonly heartbeatIntervalMs: number;
}

/** One WatchKeysResponse: the whole published key set. */
export interface KeySetUpdate {
  readonly jwks: JSONWebKeySet;
  /** Key ids revoked in an emergency: refused at once, even while an earlier set still holds them. */
  readonly revokedKids: readonly string[];
  readonly heartbeatIntervalMs: number;
}

/**
 * The two streams of one token service replica (WatchRevocations and
 * WatchKeys), authenticated as the watching client, over any transport. Each
 * call opens a stream; it ends or throws when the stream breaks, and ends
 * when `signal` aborts. Implemented by the transport adapters.
 */
export interface TokenServiceStreams {
  /** The replica's address, for messages (never credentials). */
  readonly endpoint: string;
  watchRevocations(cursor: string, signal: AbortSignal): AsyncIterable<RevocationBatch>;
  watchKeys(signal: AbortSignal): AsyncIterable<KeySetUpdate>;
  /**
   * Loads what the streams need (e.g. a transport loaded on first use).
   * Optional; rejects only when it cannot be loaded at all, a configuration
   * error (a missing package), never because the replica is down.
   */
  ready?(): Promise<void>;
}
