import type { RateLimiter } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { HIT_RATE_LIMIT } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, redisCall } from "./redis-call.js";

/**
 * Request rates shared by every replica: one counter per (limit, subject) in
 * Redis, counted and given its window by one script (atomic, on Redis' own
 * clock). A failure rejects with TemporarilyUnavailableError; the issuer then
 * lets the request through (rate limiting fails open).
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #deadlineMs: number;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    options: { commandTimeoutMs: number },
  ) {
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
  }

  async hit(name: string, subject: string, limit: number, windowSeconds: number): Promise<number> {
    const windowMs = Math.max(1, Math.round(windowSeconds * 1000));
    const leftMs = Number(await redisCall(() => HIT_RATE_LIMIT.run(this.client, [this.keys.rateLimit(name, subject)], [windowMs, limit]), this.#deadlineMs));
    return leftMs > 0 ? Math.max(1, Math.ceil(leftMs / 1000)) : 0;
  }
}
