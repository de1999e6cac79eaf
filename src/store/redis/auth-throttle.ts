import { systemClock, type Clock } from "../../internal/clock.js";
import { ExpiringMap } from "../../internal/expiring-map.js";
import type { AuthThrottleOptions } from "../memory/auth-throttle.js";
import type { AuthThrottle } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { COUNT_FAILURE } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, type RedisOperation, redisCall, redisOperation } from "./redis-call.js";
import type { ServiceEvents } from "../../internal/service-events.js";

/**
 * Failed-authentication counts shared by every replica: one counter per
 * (client, source) whose window starts at the first failure, counted in
 * Redis (INCR and PEXPIRE in one script). A pair that reaches the threshold
 * is published to every replica, which keeps the blocked pairs in memory: the
 * check before each authentication costs no round trip. Another replica's
 * block takes effect when its message arrives (about a millisecond); while
 * this replica's subscription is down it knows only its own blocks, and a
 * failure to count lets the request through: rate limiting fails open.
 */
export class RedisAuthThrottle implements AuthThrottle {
  readonly #deadlineMs: number;
  readonly #countFailure: RedisOperation;
  /** Blocked counters (by key): the end of their window, epoch seconds on this replica's clock. */
  readonly #blocked: ExpiringMap<number>;
  readonly #clock: Clock;
  readonly #subscriber: RedisClient;
  #subscribed!: () => void;
  /** Resolves once other replicas' blocks are followed (the first subscription is in place). */
  readonly following: Promise<void> = new Promise((resolve) => (this.#subscribed = resolve));

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: AuthThrottleOptions & { commandTimeoutMs: number; clock?: Clock; events?: ServiceEvents | undefined },
  ) {
    this.#countFailure = redisOperation("auth_throttle.count_failure", options.events);
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
    this.#clock = options.clock ?? systemClock;
    this.#blocked = new ExpiringMap(this.#clock);
    this.#subscriber = this.#follow();
  }

  async retryAfter(clientId: string, source: string): Promise<number> {
    // Checked before every authentication: with nothing blocked, skip hashing the pair's key.
    if (this.#blocked.size === 0) return 0;
    const until = this.#blocked.get(this.keys.authFailures(clientId, source));
    return until === undefined ? 0 : Math.max(1, Math.ceil(until - this.#clock.now() / 1000));
  }

  async recordFailure(clientId: string, source: string): Promise<void> {
    const key = this.keys.authFailures(clientId, source);
    const windowMs = Math.max(1, Math.round(this.options.windowSeconds * 1000));
    const [, leftMs] = (await redisCall(
      this.#countFailure,
      () => COUNT_FAILURE.run(this.client, [key], [windowMs, this.options.failures, this.keys.authBlocks]),
      this.#deadlineMs,
    )) as [number, number];
    if (leftMs > 0) this.#block(key, leftMs);
  }

  /** Stops following other replicas' blocks. */
  close(): void {
    this.#subscriber.disconnect();
  }

  #block(key: string, leftMs: number): void {
    const until = this.#clock.now() / 1000 + leftMs / 1000;
    if ((this.#blocked.get(key) ?? 0) < until) this.#blocked.set(key, until, until);
  }

  /** Subscribes on a connection of its own, again after each reconnection. */
  #follow(): RedisClient {
    const subscriber = this.client.duplicate();
    subscriber.on("error", () => {});
    subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.keys.authBlocks) return;
      const space = message.lastIndexOf(" ");
      const leftMs = Number(message.slice(space + 1));
      if (space > 0 && Number.isFinite(leftMs) && leftMs > 0) this.#block(message.slice(0, space), leftMs);
    });
    const subscribe = () =>
      void subscriber.subscribe(this.keys.authBlocks).then(
        () => this.#subscribed(),
        () => {},
      );
    subscriber.on("ready", subscribe);
    if (subscriber.status === "ready") subscribe();
    return subscriber;
  }
}
