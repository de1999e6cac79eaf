// The defaults other modules need as constants, read from the schema (where they are written once).
import { configSchema } from "./schema.js";

const parsed = configSchema.parse({});
const redis = configSchema.shape.redis.unwrap().parse({});

/** Documented defaults. Every one of them is safe for a single process on loopback. */
export const DEFAULTS = {
  httpHost: parsed.http.host,
  httpPort: parsed.http.port,
  grpcHost: parsed.grpc.host,
  grpcPort: parsed.grpc.port,
  tokenLifetimeSeconds: parsed.tokens.lifetimeSeconds,
  maxTokenLifetimeSeconds: parsed.tokens.maxLifetimeSeconds,
  signingAlgorithm: parsed.signing.algorithm,
  keyRotationPeriodSeconds: parsed.signing.rotation.periodSeconds,
  keyLeadTimeSeconds: parsed.signing.rotation.leadTimeSeconds,
  keyCheckIntervalSeconds: parsed.signing.rotation.checkIntervalSeconds,
  redisKeyPrefix: redis.keyPrefix,
  redisWaitTimeoutMs: redis.waitTimeoutMs,
  redisCommandTimeoutMs: redis.commandTimeoutMs,
  introspectionCacheSeconds: parsed.introspection.cacheSeconds,
  rateLimitFailures: parsed.rateLimit.failures,
  rateLimitWindowSeconds: parsed.rateLimit.windowSeconds,
  /** Per listener (the same for http and grpc): timeouts and caps. */
  listenerLimits: Object.freeze(parsed.http.limits),
} as const;
