// The Redis store as tessera/server exposes it: the store interfaces and close(), without the
// implementation classes (key layout, health probe, feed internals) that the token service wires.
import type { AuthThrottle, DenyList, IntrospectionCache, ReplayGuard, RevocationFeed } from "../types.js";
import { createRedisStore as openRedisStore, type RedisSource, type RedisStoreOptions } from "./redis-store.js";
import type { RedisClient } from "./redis-client.js";

/** Tessera's shared state in one Redis (standalone, Sentinel or Cluster), as store interfaces. */
export interface RedisStore {
  readonly client: RedisClient;
  readonly replay: ReplayGuard;
  /** The deny-list, and the revocation feed that verifiers in other processes follow. */
  readonly denyList: DenyList & RevocationFeed;
  /** Undefined when caching is off. */
  readonly introspectionCache: IntrospectionCache | undefined;
  /** Undefined when throttling is off. */
  readonly authThrottle: AuthThrottle | undefined;
  /** Stops the health probe and the feed subscriptions; quits the client only if the store created it. */
  close(): Promise<void>;
}

/**
 * Opens Tessera's shared state in Redis: for a resource server that follows revocations, or for a
 * token service embedded with createTesseraServer's `redis` option. A client you pass is never
 * closed by Tessera; give it fastFailOptions() so that requests fail fast while Redis is down.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { remoteVerifier } from "tessera";
 * import { createRedisStore, fastFailOptions } from "tessera/server";
 *
 * const redis = new Redis(process.env.REDIS_URL!, fastFailOptions(2000));
 * const store = createRedisStore({ client: redis }, { keyPrefix: "tessera:" });
 * const verifier = remoteVerifier({ issuer: "https://tessera.internal", revocations: store.denyList });
 * await verifier.start(); // loads the revocations in force, then follows new ones
 * ```
 */
export function createRedisStore(source: RedisSource, options: RedisStoreOptions = {}): RedisStore {
  return openRedisStore(source, options);
}
