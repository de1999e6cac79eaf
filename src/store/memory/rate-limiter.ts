import { systemClock, type Clock } from "../../internal/clock.js";
import type { RateLimiter } from "../types.js";
import { ExpiringMap } from "../../internal/expiring-map.js";

/** Request rates for one process: a fixed window per (limit, subject) from its first request. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows: ExpiringMap<{ count: number; endsAt: number }>;
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
    this.#windows = new ExpiringMap(clock);
  }

  async hit(name: string, subject: string, limit: number, windowSeconds: number): Promise<number> {
    const key = `${name}\u0000${subject}`;
    const now = this.#clock.now() / 1000;
    let window = this.#windows.get(key);
    if (window === undefined) {
      window = { count: 0, endsAt: now + windowSeconds };
      this.#windows.set(key, window, window.endsAt);
    }
    window.count++;
    return window.count <= limit ? 0 : Math.max(1, Math.ceil(window.endsAt - now));
  }
}
