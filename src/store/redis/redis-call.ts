import { Cluster } from "ioredis";
import { TemporarilyUnavailableError } from "../../errors/tessera-error.js";
import type { RedisClient } from "./redis-client.js";

/** Seconds a client is told to wait (Retry-After) when Redis is unavailable. */
export const REDIS_RETRY_AFTER_SECONDS = 1;

/**
 * Runs one Redis operation with a deadline. Any failure (connection refused or
 * lost, timeout, an error reply such as CLUSTERDOWN or READONLY) becomes
 * TemporarilyUnavailableError: callers answer 503 / UNAVAILABLE, never a
 * security answer. The deadline holds even for a client given with an offline
 * queue: the request does not wait for the queue.
 */
export async function redisCall<T>(run: () => Promise<T>, deadlineMs: number): Promise<T> {
  try {
    return await withDeadline(run, deadlineMs);
  } catch (err) {
    if (err instanceof TemporarilyUnavailableError) throw err;
    throw new TemporarilyUnavailableError("shared state (Redis) is unavailable, retry later", REDIS_RETRY_AFTER_SECONDS);
  }
}

/** Runs `run`, rejecting when it has not settled within `deadlineMs` (0: `run` bounds itself). */
export async function withDeadline<T>(run: () => Promise<T>, deadlineMs: number): Promise<T> {
  if (deadlineMs <= 0) return run();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([run(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The deadline redisCall must add to a command of `client`: 0 when the
 * client already fails every command within `deadlineMs` by itself (its own
 * commandTimeout, and no offline queue to wait in, as createRedisClient and
 * fastFailOptions set up), which spares a timer per command on the hot paths.
 */
export function addedDeadline(client: RedisClient, deadlineMs: number): number {
  const options = client instanceof Cluster ? { ...client.options.redisOptions, enableOfflineQueue: client.options.enableOfflineQueue } : client.options;
  const own = options.commandTimeout;
  return options.enableOfflineQueue === false && own !== undefined && own > 0 && own <= deadlineMs ? 0 : deadlineMs;
}
