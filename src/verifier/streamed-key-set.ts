import type { CryptoKey, JWSHeaderParameters, KeyObject } from "jose";
import { GrpcCode, TesseraError } from "../errors/tessera-error.js";
import { followStream, type FollowedStream } from "../internal/followed-stream.js";
import type { RemoteKeySet } from "../keys/remote-key-set.js";
import type { KeySetUpdate, TokenServiceStreams } from "./revocation-stream.js";
import { streamTiming, type StreamTimingOptions } from "./stream-timing.js";
import type { VerificationKeySource } from "./token-verifier.js";

/** Options of StreamedKeySet. */
export interface StreamedKeySetOptions extends StreamTimingOptions {
  /** The token service replicas to watch, in order of preference. */
  sources: readonly TokenServiceStreams[];
  /** The keys; the stream pushes into it, and its own fetch serves while no set was pushed (or for a kid the set lacks). */
  keys: RemoteKeySet;
  /** Told of each broken stream (e.g. to log it); the error never holds credentials. */
  onBreak?(error: unknown, endpoint: string): void;
}

/**
 * A verifier's keys kept current by tessera.v1.TokenService/WatchKeys: each
 * pushed set replaces the RemoteKeySet's, and a kid in `revoked_kids` is
 * refused at once (no refetch to wait for). A broken stream is reopened on
 * the next replica with backoff and jitter; meanwhile the last set stays in
 * use, and the RemoteKeySet's own fetch (an unknown kid, an old set) still
 * works.
 *
 * @example
 * const keys = new StreamedKeySet({ sources, keys: new RemoteKeySet({ fetch: httpJwksFetcher(jwksUrl) }) });
 * const verifier = new TokenVerifier({ issuer, keys });
 * await verifier.start(); // starts watching the keys too
 */
export class StreamedKeySet implements VerificationKeySource {
  readonly #options: StreamedKeySetOptions;
  readonly #keys: RemoteKeySet;
  #followed: FollowedStream | undefined;

  constructor(options: StreamedKeySetOptions) {
    if (options.sources.length === 0) throw new RangeError("StreamedKeySet needs at least one token service address");
    this.#options = options;
    this.#keys = options.keys;
  }

  /**
   * Starts watching. Resolves once a set arrived or every replica failed
   * once: never rejects because they are down. Rejects when a source cannot
   * be readied at all (see TokenServiceStreams.ready), or when every replica
   * refused the watcher's credentials (UNAUTHENTICATED or PERMISSION_DENIED):
   * configuration errors that retrying does not mend.
   */
  async start(): Promise<void> {
    if (this.#followed !== undefined) return;
    const { sources } = this.#options;
    await Promise.all(sources.map((source) => source.ready?.()));
    if (this.#followed !== undefined) return;
    let starting = true;
    let refusals = 0;
    await new Promise<void>((resolve, reject) => {
      const followed = followStream<TokenServiceStreams, KeySetUpdate>({
        sources,
        open: (source, signal) => source.watchKeys(signal),
        onMessage: (update) => {
          starting = false;
          this.#keys.update(update.jwks, update.revokedKids);
          resolve();
        },
        onBreak: (error, source, breaks) => {
          this.#options.onBreak?.(error, source.endpoint);
          if (!starting) return;
          if (isRefusal(error)) refusals++;
          if (breaks < sources.length) return;
          starting = false;
          if (refusals < sources.length) return resolve();
          // Refused by every replica while starting: a configuration error that retrying does not mend.
          followed.stop();
          this.#followed = undefined;
          reject(error);
        },
        ...streamTiming<KeySetUpdate>(this.#options),
      });
      this.#followed = followed;
    });
  }

  stop(): void {
    this.#followed?.stop();
    this.#followed = undefined;
  }

  resolve(header: JWSHeaderParameters): Promise<CryptoKey | KeyObject | undefined> {
    return this.#keys.resolve(header);
  }

  resolveNow(header: JWSHeaderParameters): CryptoKey | KeyObject | undefined {
    return this.#keys.resolveNow(header);
  }

  isRevoked(kid: string): boolean {
    return this.#keys.isRevoked(kid);
  }
}

/** Whether a stream broke because the replica refused the watcher (not because it was down). */
function isRefusal(error: unknown): boolean {
  return error instanceof TesseraError && (error.grpcCode === GrpcCode.UNAUTHENTICATED || error.grpcCode === GrpcCode.PERMISSION_DENIED);
}
