// Tessera's shared state in Redis: the store interfaces over ioredis (standalone, Sentinel, Cluster).
export { createRedisStore, type RedisSource, type RedisStore, type RedisStoreOptions } from "./redis-store.js";
export { createRedisClient, fastFailOptions, type RedisClient } from "./redis-client.js";
export { RedisDenyList, type RedisDenyListOptions, type FeedStats } from "./deny-list.js";
export { RedisReplayGuard } from "./replay-guard.js";
export { RedisIntrospectionCache } from "./introspection-cache.js";
export { RedisAuthThrottle } from "./auth-throttle.js";
export { RedisRateLimiter } from "./rate-limiter.js";
export { RedisHealth } from "./redis-health.js";
export { KeyLayout } from "./key-layout.js";
export { RedisKeyRing } from "./key-ring.js";
