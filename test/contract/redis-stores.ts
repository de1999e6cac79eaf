// The contract's Stores over a Redis or Cluster client: shared by the standalone and the Cluster harness.
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import type { RedisClient } from "../../src/store/redis/redis-client.js";
import type { StoreSettings, Stores } from "./store.contract.js";

/** A Redis store with the contract's settings under `keyPrefix`; resolves once its throttle follows other replicas. */
export async function redisStores(client: RedisClient, settings: StoreSettings, keyPrefix: string): Promise<{ store: RedisStore; stores: Stores }> {
  const store = createRedisStore(
    { client },
    {
      keyPrefix,
      // No replicas here; explicit, so that no topology check (INFO) delays the first revocation of a timing-sensitive case.
      waitReplicas: 0,
      introspectionCacheSeconds: settings.cacheSeconds,
      rateLimit: { failures: settings.failures, windowSeconds: settings.windowSeconds },
      ...(settings.feedLength !== undefined ? { feedLength: settings.feedLength } : {}),
      feedBlockMs: 2000,
    },
  );
  await store.authThrottle?.following;
  const stores: Stores = {
    replay: store.replay,
    denyList: store.denyList,
    introspectionCache: store.introspectionCache!,
    authThrottle: store.authThrottle!,
    rateLimiter: store.rateLimiter,
    feedStats: () => store.denyList.stats,
  };
  return { store, stores };
}
