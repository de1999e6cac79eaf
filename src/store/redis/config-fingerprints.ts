import type { ServiceEvents } from "../../internal/service-events.js";
import type { KeyLayout } from "./key-layout.js";
import { redisCall, redisOperation, type RedisOperation } from "./redis-call.js";
import type { RedisClient } from "./redis-client.js";

/** A replica's published fingerprint is ignored once it is older than this (the replica stopped without saying so). */
const STALE_MS = 3 * 60_000;

/**
 * The fingerprints of the replicas' effective configurations, in one Redis
 * hash under Tessera's prefix: replica id → "<fingerprint> <epoch ms>". Each
 * replica publishes its own and reads the others', to warn when they differ.
 */
export class RedisConfigFingerprints {
  readonly #key: string;
  readonly #op: RedisOperation;

  constructor(
    private readonly client: RedisClient,
    keys: KeyLayout,
    private readonly commandTimeoutMs: number,
    events?: ServiceEvents,
  ) {
    this.#key = `${keys.prefix}config:fingerprints`;
    this.#op = redisOperation("config.fingerprints", events);
  }

  /** Publishes this replica's fingerprint; resolves the distinct fingerprints of the other live replicas. */
  async publish(replicaId: string, fingerprint: string, nowMs: number): Promise<string[]> {
    const all = await redisCall(
      this.#op,
      async () => {
        await this.client.hset(this.#key, replicaId, `${fingerprint} ${nowMs}`);
        return this.client.hgetall(this.#key);
      },
      this.commandTimeoutMs,
    );
    const others = new Set<string>();
    for (const [id, value] of Object.entries(all)) {
      const [print, at] = value.split(" ");
      if (id === replicaId || print === undefined) continue;
      if (nowMs - Number(at) > STALE_MS) {
        void this.client.hdel(this.#key, id).catch(() => {});
        continue;
      }
      others.add(print);
    }
    return [...others];
  }

  /** Withdraws this replica's fingerprint (at stop). */
  async withdraw(replicaId: string): Promise<void> {
    await redisCall(this.#op, () => this.client.hdel(this.#key, replicaId), this.commandTimeoutMs).catch(() => {});
  }
}
