import { TemporarilyUnavailableError } from "../../errors/tessera-error.js";

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

/** Runs `run`, rejecting when it has not settled within `deadlineMs`. */
export async function withDeadline<T>(run: () => Promise<T>, deadlineMs: number): Promise<T> {
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
