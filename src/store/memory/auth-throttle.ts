import { systemClock, type Clock } from "../../internal/clock.js";
import type { AuthThrottle } from "../types.js";
import { ExpiringMap } from "../../internal/expiring-map.js";

/** Options of an AuthThrottle. */
export interface AuthThrottleOptions {
  /** Failed authentications within the window after which the pair must wait. */
  failures: number;
  /** The window, in seconds, from the pair's first failure. */
  windowSeconds: number;
}

/**
 * Failed-authentication counts for one process: a fixed window per
 * (client, source) that starts at the first failure.
 */
export class MemoryAuthThrottle implements AuthThrottle {
  readonly #windows: ExpiringMap<{ count: number; endsAt: number }>;
  readonly #clock: Clock;

  constructor(
    private readonly options: AuthThrottleOptions,
    clock: Clock = systemClock,
  ) {
    this.#clock = clock;
    this.#windows = new ExpiringMap(clock);
  }

  async retryAfter(clientId: string, source: string): Promise<number> {
    const window = this.#windows.get(pairKey(clientId, source));
    if (window === undefined || window.count < this.options.failures) return 0;
    return Math.max(1, Math.ceil(window.endsAt - this.#clock.now() / 1000));
  }

  async recordFailure(clientId: string, source: string): Promise<void> {
    const key = pairKey(clientId, source);
    const window = this.#windows.get(key);
    if (window !== undefined) {
      window.count++;
      return;
    }
    const endsAt = this.#clock.now() / 1000 + this.options.windowSeconds;
    this.#windows.set(key, { count: 1, endsAt }, endsAt);
  }
}

function pairKey(clientId: string, source: string): string {
  return `${clientId}\u0000${source}`;
}
