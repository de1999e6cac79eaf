import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { RedisConfig } from "../../config/types.js";

/** An ioredis client: a standalone or Sentinel-managed server (Redis), or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Options that make a client fail fast while Redis is unreachable, so that a
 * request answers 503 at once instead of queueing: no offline queue, an
 * in-flight command fails as soon as its connection drops, every command has
 * a deadline, and reconnection is retried every 50 ms to 1 s for ever.
 * Give a client you create yourself the same options.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { createTesseraServer, fastFailOptions, loadConfigFile } from "tessera/server";
 *
 * const redis = new Redis(process.env.REDIS_URL!, fastFailOptions(2000)); // yours: Tessera never closes it
 * const server = await createTesseraServer({ config: loadConfigFile("tessera.yaml"), redis });
 * ```
 */
export function fastFailOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
    // A reconnect starts afresh: a command that was in flight has already failed.
    autoResendUnfulfilledCommands: false,
    // Commands issued in one tick (concurrent requests) leave in one write and are read back in one.
    enableAutoPipelining: true,
  };
}

/** Creates the client a `redis` configuration describes (standalone URL, Sentinel or Cluster). */
export function createRedisClient(config: RedisConfig): RedisClient {
  const base = fastFailOptions(config.commandTimeoutMs);
  const auth = {
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
  };
  if (config.cluster !== undefined) {
    const { retryStrategy: _ignored, enableOfflineQueue: _queue, ...nodeOptions } = base;
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
      redisOptions: { ...nodeOptions, ...auth },
      slotsRefreshTimeout: config.commandTimeoutMs,
    };
    return new Cluster(
      config.cluster.map((n) => ({ host: n.host, port: n.port })),
      options,
    );
  }
  if (config.sentinels !== undefined) {
    return new Redis({
      ...base,
      ...auth,
      sentinels: config.sentinels.map((n) => ({ host: n.host, port: n.port })),
      name: config.name!,
    });
  }
  return new Redis(config.url!, base);
}

/**
 * A second connection like `client`, for a blocking read: its commands may
 * take `blockMs` longer than the usual deadline. The caller closes it.
 */
export function blockingConnection(client: RedisClient, blockMs: number, commandTimeoutMs: number, name: string): RedisClient {
  const commandTimeout = blockMs + commandTimeoutMs;
  if (client instanceof Cluster) {
    return client.duplicate([], {
      lazyConnect: false,
      enableOfflineQueue: false,
      redisOptions: { ...client.options.redisOptions, commandTimeout, connectionName: name, maxRetriesPerRequest: 0 },
    });
  }
  return client.duplicate({
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout,
    connectionName: name,
  });
}
