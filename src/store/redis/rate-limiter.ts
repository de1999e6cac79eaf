import { systemClock, type Clock } from "../../internal/clock.js";
import { ExpiringMap } from "../../internal/expiring-map.js";
import type { RateLimiter } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { LEASE_RATE_LIMIT } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, type RedisOperation, redisCall, redisOperation } from "./redis-call.js";
import type { ServiceEvents } from "../../internal/service-events.js";

/** Share of a limit one replica leases at a time: 1/LEASE_DIVISOR of it, at least one request. */
const LEASE_DIVISOR = 100;

/** Requests this replica may still admit in the current window of one counter, or none left anywhere. */
interface Lease {
  left: number;
  /** End of the window, epoch seconds on this replica's clock. */
  readonly endsAt: number;
  /** The limit is used up (by every replica together) until endsAt. */
  readonly exhausted: boolean;
}

/**
 * Request rates shared by every replica, without a round trip per request:
 * one counter per (limit, subject) in Redis, from which each replica leases
 * a slice of the window's budget (1/100 of the limit, at least one request)
 * with one atomic script on Redis' clock, and admits requests from its lease
 * in memory. The counter never passes the limit, so replicas together never
 * admit more than it; a lease left unused when its window ends is lost (at
 * most one slice per replica admitted less). Concurrent requests of one
 * counter share one lease request. A failure rejects with
 * TemporarilyUnavailableError; the issuer then lets the request through
 * (rate limiting fails open).
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #deadlineMs: number;
  readonly #leaseCall: RedisOperation;
  readonly #clock: Clock;
  readonly #leases: ExpiringMap<Lease>;
  readonly #leasing = new Map<string, Promise<void>>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    options: { commandTimeoutMs: number; clock?: Clock; events?: ServiceEvents | undefined },
  ) {
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
    this.#leaseCall = redisOperation("rate_limiter.lease", options.events);
    this.#clock = options.clock ?? systemClock;
    this.#leases = new ExpiringMap(this.#clock);
  }

  async hit(name: string, subject: string, limit: number, windowSeconds: number): Promise<number> {
    const key = this.keys.rateLimit(name, subject);
    for (;;) {
      const lease = this.#leases.get(key);
      if (lease !== undefined && lease.left > 0) {
        lease.left--;
        return 0;
      }
      if (lease?.exhausted) return Math.max(1, Math.ceil(lease.endsAt - this.#clock.now() / 1000));
      let leasing = this.#leasing.get(key);
      if (leasing === undefined) {
        leasing = this.#lease(key, limit, windowSeconds).finally(() => this.#leasing.delete(key));
        this.#leasing.set(key, leasing);
      }
      await leasing;
    }
  }

  async #lease(key: string, limit: number, windowSeconds: number): Promise<void> {
    const windowMs = Math.max(1, Math.round(windowSeconds * 1000));
    const size = Math.max(1, Math.floor(limit / LEASE_DIVISOR));
    const [leased, leftMs] = (await redisCall(this.#leaseCall, () => LEASE_RATE_LIMIT.run(this.client, [key], [windowMs, limit, size]), this.#deadlineMs)) as [
      number,
      number,
    ];
    const endsAt = this.#clock.now() / 1000 + Math.max(1, leftMs) / 1000;
    this.#leases.set(key, { left: leased, endsAt, exhausted: leased === 0 }, endsAt);
  }
}
