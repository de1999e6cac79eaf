import type { AuthThrottleOptions } from "../memory/auth-throttle.js";
import type { AuthThrottle } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { COUNT_FAILURE } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, redisCall } from "./redis-call.js";

/**
 * Failed-authentication counts shared by every replica: one counter per
 * (client, source) whose window starts at the first failure (INCR and PEXPIRE
 * in one script). Keys are hashes of the pair. Failures reject like every
 * store method; the issuer lets the request through (rate limiting fails open).
 */
export class RedisAuthThrottle implements AuthThrottle {
  readonly #deadlineMs: number;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: AuthThrottleOptions & { commandTimeoutMs: number },
  ) {
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
  }

  async retryAfter(clientId: string, source: string): Promise<number> {
    const key = this.keys.authFailures(clientId, source);
    // Every authentication asks this, and nearly every answer is "under the threshold": one GET, and PTTL only past it.
    const count = Number((await redisCall(() => this.client.get(key), this.#deadlineMs)) ?? 0);
    if (count < this.options.failures) return 0;
    const pttl = Number(await redisCall(() => this.client.pttl(key), this.#deadlineMs));
    return Math.max(1, Math.ceil(pttl / 1000));
  }

  async recordFailure(clientId: string, source: string): Promise<void> {
    const windowMs = Math.max(1, Math.round(this.options.windowSeconds * 1000));
    await redisCall(() => COUNT_FAILURE.run(this.client, [this.keys.authFailures(clientId, source)], [windowMs]), this.#deadlineMs);
  }
}
