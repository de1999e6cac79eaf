import { checkedTransportUrl } from "../internal/http-target.js";
import { httpJwksFetcher } from "../keys/http-jwks-fetcher.js";
import { RemoteKeySet, type JwksFetcher } from "../keys/remote-key-set.js";
import type { RevocationFeed } from "../store/types.js";
import type { KeySetUpdate, RevocationBatch, TokenServiceStreams } from "../verifier/revocation-stream.js";
import { StreamRevocationFeed } from "../verifier/stream-revocation-feed.js";
import { StreamedKeySet } from "../verifier/streamed-key-set.js";
import { TokenVerifier, type TokenVerifierOptions } from "../verifier/token-verifier.js";
import type { WatcherCredentials } from "./watcher-credentials.js";

/** Options of remoteVerifier: where the issuer is, how this service authenticates to it, and the TokenVerifier options. */
export interface RemoteVerifierOptions extends Omit<TokenVerifierOptions, "keys" | "revocations"> {
  /**
   * This service's own client credentials at Tessera (a client that is a
   * resource server for at least one audience). With them the verifier
   * watches Tessera's WatchKeys and WatchRevocations streams: keys and
   * revocations pushed as they change, no Redis needed. Without them it
   * fetches the JWKS over HTTP and knows no revocations (unless `revocations`).
   */
  credentials?: WatcherCredentials;
  /**
   * The token service replicas to watch, as base URLs, in order of
   * preference: a broken stream moves to the next. Default: `[issuer]`.
   * With `protocol: "grpc"`, the gRPC listeners' URLs (e.g. "http://127.0.0.1:9090").
   */
  endpoints?: readonly string[];
  /** "connect" (default): the Connect protocol over HTTP/2 to the HTTP listener; "grpc": gRPC to the gRPC listener. */
  protocol?: "connect" | "grpc";
  /**
   * Where revocations come from instead of WatchRevocations, e.g. the Redis
   * store's feed (`store.denyList`); `false` for none. Default: the stream
   * when `credentials` are set, else none.
   */
  revocations?: RevocationFeed | false;
  /** The issuer's JWKS, fetched when no key set was pushed yet or for a kid the pushed set lacks. Default: `<first endpoint>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Minimum time between two JWKS fetches (unknown-kid refetch included). Default 30 s. */
  jwksCooldownMs?: number;
  /**
   * The replicas' heartbeat on an idle stream (their `watch.heartbeatMs`), in
   * ms. Default 5000. `revocationStaleAfterSeconds` must be at least twice it.
   * A stream is judged dead after two of the heartbeats each replica
   * announces, plus a second.
   */
  heartbeatMs?: number;
  /** Waits before reopening a broken stream, in ms: the first, doubling up to the longest, with jitter. Default 100 and 5000. */
  retryDelayMs?: { min?: number; max?: number };
  /** Told of each broken stream (e.g. to log it); the error holds no credentials. */
  onStreamBreak?(error: unknown, endpoint: string): void;
  /**
   * Send credentials and fetch keys over cleartext HTTP to a host that is
   * not loopback. Default false: such a URL makes remoteVerifier throw,
   * because whoever answers a cleartext request could read the credentials,
   * publish keys and mint tokens this verifier accepts. Use https, or set
   * this only on a network you trust.
   */
  allowInsecure?: boolean;
}

/**
 * A TokenVerifier for a service that is not the token service itself. With
 * `credentials`, it watches the token service's WatchKeys and
 * WatchRevocations streams (on the replicas of `endpoints`, failing over
 * between them): start() never rejects because they are down; until the
 * first snapshot arrives, calls get UNAVAILABLE (or pass, with
 * `revocationPolicy: "fail-open"`); a broken stream is reopened with backoff
 * and jitter from its last cursor while the revocations known stay
 * enforced; after `revocationStaleAfterSeconds` (default 30) without a
 * sign of life the verifier answers UNAVAILABLE again until it has caught
 * up. A key revoked on the stream is refused at once. Without
 * `credentials`: keys from the issuer's JWKS over HTTP, cached, refetched on
 * an unknown kid at most once per cooldown. URLs must be https, or http to a
 * loopback host, unless `allowInsecure`.
 *
 * @example
 * const verifier = remoteVerifier({
 *   issuer: "http://127.0.0.1:8080",
 *   credentials: { clientId: "calendar", auth: { method: "client_secret_basic", secret: process.env.CALENDAR_SECRET! } },
 * });
 * await verifier.start();
 */
export function remoteVerifier(options: RemoteVerifierOptions): TokenVerifier {
  const { jwksUrl, jwksCooldownMs, allowInsecure, credentials, endpoints, protocol, revocations, retryDelayMs, onStreamBreak, heartbeatMs, ...rest } = options;
  const bases = (endpoints ?? [options.issuer]).map((endpoint) => endpoint.replace(/\/$/, ""));
  if (bases.length === 0) throw new RangeError("remoteVerifier: endpoints must name at least one token service");
  const fetchers = (
    jwksUrl !== undefined
      ? [jwksUrl]
      : protocol === "grpc"
        ? [`${options.issuer.replace(/\/$/, "")}/.well-known/jwks.json`]
        : bases.map((base) => `${base}/.well-known/jwks.json`)
  ).map((url) => httpJwksFetcher(url, { allowInsecure: allowInsecure === true }));
  const keySet = new RemoteKeySet({
    fetch: firstAnswering(fetchers),
    ...(jwksCooldownMs !== undefined ? { cooldownMs: jwksCooldownMs } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  if (credentials === undefined) return new TokenVerifier({ ...rest, keys: keySet, ...(revocations ? { revocations } : {}) });

  for (const base of bases) checkedTransportUrl(base, "the token service's streams (client credentials and keys)", allowInsecure === true);
  const sources = bases.map((endpoint) =>
    lazyStreams(endpoint, async () => {
      const { tokenServiceStreams } = await loadTransport();
      return tokenServiceStreams(endpoint, {
        credentials,
        issuer: options.issuer,
        ...(protocol !== undefined ? { protocol } : {}),
        ...(allowInsecure !== undefined ? { allowInsecure } : {}),
      });
    }),
  );
  const retry = {
    ...(retryDelayMs?.min !== undefined ? { minRetryDelayMs: retryDelayMs.min } : {}),
    ...(retryDelayMs?.max !== undefined ? { maxRetryDelayMs: retryDelayMs.max } : {}),
    ...(onStreamBreak !== undefined ? { onBreak: onStreamBreak } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
  };
  const keys = new StreamedKeySet({ sources, keys: keySet, ...retry });
  const feed = revocations === undefined ? new StreamRevocationFeed({ sources, ...retry }) : revocations || undefined;
  return new TokenVerifier({ ...rest, keys, ...(feed !== undefined ? { revocations: feed } : {}) });
}

/** A JwksFetcher over several URLs: the first that answers. */
function firstAnswering(fetchers: readonly JwksFetcher[]): JwksFetcher {
  return async () => {
    let lastError: unknown;
    for (const fetch of fetchers) {
      try {
        return await fetch();
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  };
}

let transport: Promise<typeof import("./token-service-streams.js")> | undefined;

/** The streams' transport module, loaded once; a missing peer dependency is said plainly. */
function loadTransport(): Promise<typeof import("./token-service-streams.js")> {
  transport ??= import("./token-service-streams.js").catch((err: unknown) => {
    transport = undefined;
    throw new Error(
      "remoteVerifier with credentials watches Tessera's streams over @connectrpc/connect and @connectrpc/connect-node: install both (they are optional peer dependencies of tessera)",
      { cause: err },
    );
  });
  return transport;
}

/**
 * The streams of one replica, the transport loaded on first use: `tessera`
 * loads @connectrpc/connect-node only for a verifier that watches. The URL is
 * checked at once, so that a cleartext address fails remoteVerifier itself.
 */
function lazyStreams(endpoint: string, load: () => Promise<TokenServiceStreams>): TokenServiceStreams {
  let loaded: Promise<TokenServiceStreams> | undefined;
  const streams = () => {
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
  return {
    endpoint,
    ready: async () => {
      await streams();
    },
    async *watchRevocations(cursor: string, signal: AbortSignal): AsyncIterable<RevocationBatch> {
      yield* (await streams()).watchRevocations(cursor, signal);
    },
    async *watchKeys(signal: AbortSignal): AsyncIterable<KeySetUpdate> {
      yield* (await streams()).watchKeys(signal);
    },
  };
}
