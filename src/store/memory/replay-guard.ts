import { systemClock, type Clock } from "../../internal/clock.js";
import { ExpiringMap } from "../../internal/expiring-map.js";
import type { ReplayGuard } from "../types.js";

/** Single-use records for one process. */
export class MemoryReplayGuard implements ReplayGuard {
  readonly #seen: ExpiringMap<true>;
  constructor(clock: Clock = systemClock) {
    this.#seen = new ExpiringMap(clock);
  }
  async claim(key: string, expiresAt: number): Promise<boolean> {
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, true, expiresAt);
    return true;
  }
}
