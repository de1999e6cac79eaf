import { TemporarilyUnavailableError } from "../errors/tessera-error.js";
import { followStream } from "../internal/followed-stream.js";
import type { RevocationEvent, RevocationFeed, RevocationSubscriberHooks } from "../store/types.js";
import { clientRevocationEvent, keyRevocationJti } from "../store/revocation-kinds.js";
import type { RevocationBatch, StreamedRevocation, TokenServiceStreams } from "./revocation-stream.js";
import { streamTiming, type StreamTimingOptions } from "./stream-timing.js";

/** Options of StreamRevocationFeed. */
export interface StreamRevocationFeedOptions extends StreamTimingOptions {
  /** The token service replicas to watch, in order of preference; a broken stream moves to the next. */
  sources: readonly TokenServiceStreams[];
  /** Told of each broken stream (e.g. to log it); the error never holds credentials. */
  onBreak?(error: unknown, endpoint: string): void;
}

/** What a StreamRevocationFeed has done, for metrics and tests. */
export interface StreamFeedStats {
  /** Streams opened (the first, and each reopening). */
  opened: number;
  /** Snapshots received (messages with `reset`): the first, and each reopening the replica could not resume. */
  snapshots: number;
  /** Streams that broke (ended, failed or went silent). */
  breaks: number;
  /** The endpoint of the replica the last message came from. */
  endpoint: string | undefined;
}

/**
 * A RevocationFeed fed by tessera.v1.TokenService/WatchRevocations: the
 * revocations in force (token, key and client-wide ones), then each new one,
 * from one replica at a time. A broken or silent stream is reopened with
 * the last cursor received (the replica answers with what was missed, or a
 * fresh snapshot), on the next replica, after a backoff with jitter; the
 * revocations already delivered stay with the subscriber meanwhile. A
 * snapshot's `reset` drops nothing: every entry expires on its own, and a
 * revocation once learned is never forgotten early (a replica whose store
 * lost its data must not undo one another replica acknowledged).
 *
 * @example
 * const feed = new StreamRevocationFeed({ sources: [streamsOfReplicaA, streamsOfReplicaB] });
 * const verifier = new TokenVerifier({ issuer, keys, revocations: feed });
 */
export class StreamRevocationFeed implements RevocationFeed {
  /** The heartbeat the replicas are expected to keep (options.heartbeatMs, default 5000): a verifier's staleness bound must be at least twice it. */
  readonly heartbeatMs: number;
  readonly stats: StreamFeedStats = { opened: 0, snapshots: 0, breaks: 0, endpoint: undefined };
  readonly #options: StreamRevocationFeedOptions;

  constructor(options: StreamRevocationFeedOptions) {
    if (options.sources.length === 0) throw new RangeError("StreamRevocationFeed needs at least one token service address");
    this.#options = options;
    this.heartbeatMs = options.heartbeatMs ?? 5000;
  }

  /**
   * Watches the stream. Resolves once a replica delivered the revocations in
   * force; rejects with TemporarilyUnavailableError when every replica failed
   * once before that. Afterwards it reopens broken streams until the returned
   * function is called.
   */
  subscribe(listener: (event: RevocationEvent) => void, hooks: RevocationSubscriberHooks = {}): Promise<() => void> {
    const { sources } = this.#options;
    let cursor = "";
    let settled = false;
    return new Promise((resolve, reject) => {
      const followed = followStream<TokenServiceStreams, RevocationBatch>({
        sources,
        open: (source, signal) => {
          this.stats.opened++;
          return source.watchRevocations(cursor, signal);
        },
        onMessage: (batch, source) => {
          this.stats.endpoint = source.endpoint;
          if (batch.reset) this.stats.snapshots++;
          for (const revocation of batch.revocations) listener(revocationEvent(revocation));
          if (batch.cursor !== "") cursor = batch.cursor;
          if (!batch.synced) return;
          hooks.onSynced?.();
          if (!settled) {
            settled = true;
            resolve(() => followed.stop());
          }
        },
        onBreak: (error, source, breaks) => {
          this.stats.breaks++;
          this.#options.onBreak?.(error, source.endpoint);
          if (settled || breaks < sources.length) return;
          settled = true;
          followed.stop();
          const unavailable = new TemporarilyUnavailableError("no token service answered the revocation stream");
          unavailable.cause = error;
          reject(unavailable);
        },
        ...streamTiming<RevocationBatch>(this.#options),
      });
    });
  }
}

/** A streamed revocation as the deny set keys it: (issuer, jti), a key under "kid:<kid>", a client cut-off under "client:<id>" with issuedBefore. */
function revocationEvent(revocation: StreamedRevocation): RevocationEvent {
  switch (revocation.kind) {
    case "token":
      return Object.freeze({ issuer: revocation.issuer, jti: revocation.jti, expiresAt: revocation.expiresAt });
    case "key":
      return Object.freeze({ issuer: revocation.issuer, jti: keyRevocationJti(revocation.kid), expiresAt: revocation.expiresAt });
    case "client":
      return clientRevocationEvent(revocation.issuer, revocation.clientId, revocation.issuedBefore, revocation.expiresAt);
  }
}
