import type { AuthThrottleOptions } from "../memory/auth-throttle.js";
import type { AuthThrottle } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { COUNT_FAILURE } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { redisCall } from "./redis-call.js";

/**
 * Failed-authentication counts shared by every replica: one counter per
 * (client, source) whose window starts at the first failure (INCR and PEXPIRE
 * in one script). Keys are hashes of the pair. Failures reject like every
 * store method; the issuer lets the request through (rate limiting fails open).
 */
export class RedisAuthThrottle implements AuthThrottle {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: AuthThrottleOptions & { commandTimeoutMs: number },
  ) {}

  async retryAfter(clientId: string, source: string): Promise<number> {
    const key = this.keys.authFailures(clientId, source);
    const [count, pttl] = await redisCall(async () => {
      // GET and PTTL of one key go to one node, Cluster or not.
      const results = await this.client.pipeline().get(key).pttl(key).exec();
      if (results === null) throw new Error("pipeline aborted");
      for (const [err] of results) if (err) throw err;
      return [Number(results[0]![1] ?? 0), Number(results[1]![1])];
    }, this.options.commandTimeoutMs);
    if (count < this.options.failures) return 0;
    return Math.max(1, Math.ceil(pttl / 1000));
  }

  async recordFailure(clientId: string, source: string): Promise<void> {
    const windowMs = Math.max(1, Math.round(this.options.windowSeconds * 1000));
    await redisCall(() => COUNT_FAILURE.run(this.client, [this.keys.authFailures(clientId, source)], [windowMs]), this.options.commandTimeoutMs);
  }
}
