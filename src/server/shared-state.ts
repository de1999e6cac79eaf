import type { TesseraConfig } from "../config/types.js";
import type { Clock } from "../internal/clock.js";
import type { Logger } from "../internal/logger.js";
import type { ServiceEvents } from "../internal/service-events.js";
import { MemoryAuthThrottle } from "../store/memory/auth-throttle.js";
import { MemoryIntrospectionCache } from "../store/memory/introspection-cache.js";
import { MemoryDenyList } from "../store/memory/deny-list.js";
import { MemoryReplayGuard } from "../store/memory/replay-guard.js";
import { MemoryRateLimiter } from "../store/memory/rate-limiter.js";
import type { RedisClient } from "../store/redis/redis-client.js";
import type { RedisHealth } from "../store/redis/redis-health.js";
import { createRedisStore, type RedisStore } from "../store/redis/redis-store.js";
import type { AuthThrottle, DenyList, IntrospectionCache, RateLimiter, ReplayGuard, RevocationFeed } from "../store/types.js";

/** Store implementations given explicitly (each overrides the configured one). */
export interface SharedStateOverrides {
  redis?: RedisClient | undefined;
  replay?: ReplayGuard | undefined;
  denyList?: DenyList | undefined;
  introspectionCache?: IntrospectionCache | undefined;
  authThrottle?: AuthThrottle | undefined;
  rateLimiter?: RateLimiter | undefined;
}

/** The state the issuer shares with other replicas (Redis) or keeps to itself (memory). */
export interface SharedState {
  readonly replay: ReplayGuard;
  readonly denyList: DenyList;
  /** The deny-list's feed of revocations, when it has one. */
  readonly revocations: RevocationFeed | undefined;
  readonly introspectionCache: IntrospectionCache | undefined;
  readonly authThrottle: AuthThrottle | undefined;
  /** Request rates per client (introspection, revocation). */
  readonly rateLimiter: RateLimiter;
  /** Redis' health, when the state lives there: readiness follows it. */
  readonly redisHealth: RedisHealth | undefined;
  /** The Redis store itself, when the state lives there (the signing-key ring lives there too). */
  readonly redis: RedisStore | undefined;
  close(): Promise<void>;
}

function isFeed(value: unknown): value is RevocationFeed {
  return typeof (value as Partial<RevocationFeed> | undefined)?.subscribe === "function";
}

/**
 * Picks the store: a given ioredis client, else the `redis` configuration
 * (REDIS_URL), else this process's memory. Explicit overrides win one by one;
 * a given deny-list without a given cache means no cache, since a cache must
 * consult the very deny-list the issuer uses.
 */
export function openSharedState(config: TesseraConfig, overrides: SharedStateOverrides, clock: Clock, logger: Logger, events?: ServiceEvents): SharedState {
  const rateLimit = { failures: config.rateLimit.failures, windowSeconds: config.rateLimit.windowSeconds };
  let base: Omit<SharedState, "revocations">;
  if (overrides.redis !== undefined || config.redis !== undefined) {
    const source = overrides.redis !== undefined ? { client: overrides.redis } : { config: config.redis! };
    const store = createRedisStore(source, {
      ...(config.redis !== undefined
        ? {
            keyPrefix: config.redis.keyPrefix,
            ...(config.redis.waitReplicas !== undefined ? { waitReplicas: config.redis.waitReplicas } : {}),
            waitTimeoutMs: config.redis.waitTimeoutMs,
            commandTimeoutMs: config.redis.commandTimeoutMs,
          }
        : {}),
      introspectionCacheSeconds: config.introspection.cacheSeconds,
      // The issuer's replicas hold the revocations in memory too and re-seed Redis after a data loss.
      holdRevocations: true,
      rateLimit,
      clock,
      logger,
      ...(events !== undefined ? { events } : {}),
    });
    base = {
      replay: store.replay,
      denyList: store.denyList,
      introspectionCache: store.introspectionCache,
      authThrottle: store.authThrottle,
      rateLimiter: store.rateLimiter,
      redisHealth: store.health,
      redis: store,
      close: () => store.close(),
    };
  } else {
    const denyList = new MemoryDenyList(clock);
    base = {
      replay: new MemoryReplayGuard(clock),
      denyList,
      introspectionCache:
        config.introspection.cacheSeconds > 0 ? new MemoryIntrospectionCache(denyList, { ttlSeconds: config.introspection.cacheSeconds, clock }) : undefined,
      authThrottle: rateLimit.failures > 0 ? new MemoryAuthThrottle(rateLimit, clock) : undefined,
      rateLimiter: new MemoryRateLimiter(clock),
      redisHealth: undefined,
      redis: undefined,
      close: async () => {},
    };
  }
  const denyList = overrides.denyList ?? base.denyList;
  return {
    ...base,
    replay: overrides.replay ?? base.replay,
    denyList,
    revocations: isFeed(denyList) ? denyList : undefined,
    introspectionCache: overrides.introspectionCache ?? (overrides.denyList !== undefined ? undefined : base.introspectionCache),
    authThrottle: overrides.authThrottle ?? base.authThrottle,
    rateLimiter: overrides.rateLimiter ?? base.rateLimiter,
  };
}
