import type { CryptoKey, JWSHeaderParameters, KeyObject } from "jose";
import { GrpcCode, TesseraError } from "../errors/tessera-error.js";
import { followStream, type FollowedStream } from "../internal/followed-stream.js";
import type { RemoteKeySet } from "../keys/remote-key-set.js";
import type { KeySetUpdate, TokenServiceStreams } from "./revocation-stream.js";
import type { VerificationKeySource } from "./token-verifier.js";

/** Options of StreamedKeySet. */
export interface StreamedKeySetOptions {
  /** The token service replicas to watch, in order of preference. */
  sources: readonly TokenServiceStreams[];
  /** The keys; the stream pushes into it, and its own fetch serves while no set was pushed (or for a kid the set lacks). */
  keys: RemoteKeySet;
  /** Heartbeat assumed until a replica announces its own, in ms. Default 5000. */
  heartbeatMs?: number;
  /** How long opening a stream may take until its first message, in ms. Default 10000. */
  connectTimeoutMs?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
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
    const heartbeatMs = this.#options.heartbeatMs ?? 5000;
    const connectTimeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    let refusals = 0;
    await new Promise<void>((resolve, reject) => {
      const followed = followStream<TokenServiceStreams, KeySetUpdate>({
        sources,
        open: (source, signal) => source.watchKeys(signal),
        onMessage: (update) => {
          refusals = 0;
          this.#keys.update(update.jwks, update.revokedKids);
          resolve();
        },
        onBreak: (error, source, breaks) => {
          this.#options.onBreak?.(error, source.endpoint);
          if (isRefusal(error)) refusals++;
          if (breaks < sources.length) return;
          if (refusals >= sources.length && this.#followed === followed) {
            followed.stop();
            this.#followed = undefined;
            reject(error);
          }
          resolve();
        },
        silenceMs: (last) => (last === undefined ? connectTimeoutMs : 2 * (last.heartbeatIntervalMs > 0 ? last.heartbeatIntervalMs : heartbeatMs) + 1000),
        ...(this.#options.minRetryDelayMs !== undefined ? { minDelayMs: this.#options.minRetryDelayMs } : {}),
        ...(this.#options.maxRetryDelayMs !== undefined ? { maxDelayMs: this.#options.maxRetryDelayMs } : {}),
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
