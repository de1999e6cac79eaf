import { systemClock, type Clock } from "../../internal/clock.js";
import type { ReplayGuard } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, type RedisOperation, redisCall, redisOperation } from "./redis-call.js";
import type { ServiceEvents } from "../../internal/service-events.js";

/**
 * Single-use records shared by every replica: SET NX with PXAT, one atomic
 * command, so that of many parallel claims of one record exactly one wins,
 * whichever replica it reaches.
 */
export class RedisReplayGuard implements ReplayGuard {
  readonly #deadlineMs: number;
  readonly #claim: RedisOperation;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: { commandTimeoutMs: number; clock?: Clock; events?: ServiceEvents | undefined },
  ) {
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
    this.#claim = redisOperation("replay_guard.claim", options.events);
  }

  async claim(key: string, expiresAt: number): Promise<boolean> {
    // A deadline in the past would make SET delete the key at once and answer OK to every claim:
    // keep the record at least one second.
    const now = (this.options.clock ?? systemClock).now();
    const endsAt = Math.max(Math.ceil(expiresAt * 1000), now + 1000);
    const reply = await redisCall(this.#claim, () => this.client.set(this.keys.replay(key), "1", "PXAT", endsAt, "NX"), this.#deadlineMs);
    return reply === "OK";
  }
}
