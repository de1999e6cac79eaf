import { DEFAULTS } from "../../config/defaults.js";
import type { RedisConfig } from "../../config/types.js";
import type { Clock } from "../../internal/clock.js";
import { silentLogger, type Logger } from "../../internal/logger.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import type { AuthThrottleOptions } from "../memory/auth-throttle.js";
import { RedisAuthThrottle } from "./auth-throttle.js";
import { RedisDenyList } from "./deny-list.js";
import { RedisIntrospectionCache } from "./introspection-cache.js";
import { KeyLayout } from "./key-layout.js";
import { createRedisClient, type RedisClient } from "./redis-client.js";
import { RedisHealth } from "./redis-health.js";
import { RedisRateLimiter } from "./rate-limiter.js";
import { RedisReplayGuard } from "./replay-guard.js";

/** Where a RedisStore connects: a client you own (never closed by Tessera), or a configuration to create one from. */
export type RedisSource = { client: RedisClient } | { config: RedisConfig };

/** Options of createRedisStore. With `config`, its keyPrefix, waitReplicas and timeouts win over these. */
export interface RedisStoreOptions {
  /** Prefix of every key. Default "tessera:". */
  keyPrefix?: string;
  /**
   * Replicas that must confirm a revocation: 0 or 1. Default: follows the topology (1 once the primary
   * reported a connected replica, else 0; see RedisDenyListOptions).
   */
  waitReplicas?: 0 | 1 | undefined;
  /** How long a revocation waits for that replica, in ms. Default 500. */
  waitTimeoutMs?: number;
  /** Longest a Redis operation may take before it fails as unavailable, in ms. Default 2000. */
  commandTimeoutMs?: number;
  /** Longest an introspection answer is cached, in seconds; 0: no cache. Default 60. */
  introspectionCacheSeconds?: number;
  /** Failed-authentication throttling; failures 0: none. Default 10 per 60 s. */
  rateLimit?: AuthThrottleOptions;
  /** Entries the revocation feed keeps for subscribers that catch up. Default 10000. */
  feedLength?: number;
  /** How long a feed subscriber's read blocks, in ms. Default 5000. */
  feedBlockMs?: number;
  /**
   * Hold the revocations in force in memory too, and re-seed Redis from them after a data loss
   * (see RedisDenyList). The Tessera server turns it on. Default false.
   */
  holdRevocations?: boolean;
  /** With holdRevocations: how often Redis is checked for a data loss, in ms. Default 1000. */
  lossCheckMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where Redis latency and the revocation feed's lag are reported (metrics). */
  events?: ServiceEvents;
}

/** Tessera's shared state in one Redis (standalone, Sentinel or Cluster). */
export interface RedisStore {
  readonly client: RedisClient;
  readonly keys: KeyLayout;
  /** The deadline of every operation on this store, in ms; other users of the client (the key ring) follow it. */
  readonly commandTimeoutMs: number;
  readonly replay: RedisReplayGuard;
  /** Deny-list and revocation feed. */
  readonly denyList: RedisDenyList;
  /** Undefined when caching is off. */
  readonly introspectionCache: RedisIntrospectionCache | undefined;
  /** Undefined when throttling is off. */
  readonly authThrottle: RedisAuthThrottle | undefined;
  /** Request rates per (limit, subject), e.g. introspections per client. */
  readonly rateLimiter: RedisRateLimiter;
  readonly health: RedisHealth;
  /** Stops the health probe and the feed subscriptions; quits the client only if the store created it. */
  close(): Promise<void>;
}

/** Builds the Redis implementations of the store interfaces over one client. */
export function createRedisStore(source: RedisSource, options: RedisStoreOptions = {}): RedisStore {
  const fromConfig = "config" in source ? source.config : undefined;
  const client = "client" in source ? source.client : createRedisClient(source.config);
  const owned = !("client" in source);
  const logger = options.logger ?? silentLogger;
  if (owned) client.on("error", () => {}); // failures surface through the health probe and each call
  const keys = new KeyLayout(fromConfig?.keyPrefix ?? options.keyPrefix ?? DEFAULTS.redisKeyPrefix);
  const commandTimeoutMs = fromConfig?.commandTimeoutMs ?? options.commandTimeoutMs ?? DEFAULTS.redisCommandTimeoutMs;
  const cacheSeconds = options.introspectionCacheSeconds ?? DEFAULTS.introspectionCacheSeconds;
  const rateLimit = options.rateLimit ?? { failures: DEFAULTS.rateLimitFailures, windowSeconds: DEFAULTS.rateLimitWindowSeconds };

  const denyList = new RedisDenyList(client, keys, {
    commandTimeoutMs,
    waitReplicas: fromConfig !== undefined ? fromConfig.waitReplicas : options.waitReplicas,
    waitTimeoutMs: fromConfig?.waitTimeoutMs ?? options.waitTimeoutMs ?? DEFAULTS.redisWaitTimeoutMs,
    ...(options.feedLength !== undefined ? { feedLength: options.feedLength } : {}),
    ...(options.feedBlockMs !== undefined ? { feedBlockMs: options.feedBlockMs } : {}),
    ...(options.holdRevocations !== undefined ? { holdRevocations: options.holdRevocations } : {}),
    ...(options.lossCheckMs !== undefined ? { lossCheckMs: options.lossCheckMs } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    events: options.events,
    logger,
  });
  const health = new RedisHealth(client, { commandTimeoutMs, logger, ...(options.events !== undefined ? { events: options.events } : {}) });
  const authThrottle =
    rateLimit.failures > 0
      ? new RedisAuthThrottle(client, keys, { ...rateLimit, commandTimeoutMs, events: options.events, ...(options.clock ? { clock: options.clock } : {}) })
      : undefined;
  return {
    client,
    keys,
    commandTimeoutMs,
    replay: new RedisReplayGuard(client, keys, { commandTimeoutMs, events: options.events, ...(options.clock ? { clock: options.clock } : {}) }),
    denyList,
    introspectionCache:
      cacheSeconds > 0
        ? new RedisIntrospectionCache(client, keys, {
            ttlSeconds: cacheSeconds,
            commandTimeoutMs,
            held: (key) => denyList.holds(key.issuer, key.jti) || denyList.holdsCutOff(key.issuer, key.client.id, key.client.issuedAt),
            events: options.events,
          })
        : undefined,
    authThrottle,
    rateLimiter: new RedisRateLimiter(client, keys, { commandTimeoutMs, events: options.events }),
    health,
    close: async () => {
      health.stop();
      denyList.close();
      authThrottle?.close();
      if (!owned) return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
