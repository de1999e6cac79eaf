import { DEFAULTS } from "../../config/defaults.js";
import type { KeyRingState } from "../../keys/key-record.js";
import type { KeyRing } from "../../keys/key-ring.js";
import { WRITE_RING } from "./lua-scripts.js";
import { type RedisOperation, redisCall, redisOperations } from "./redis-call.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import type { RedisClient } from "./redis-client.js";

/**
 * The signing-key ring of every replica, in Redis: one JSON document, its
 * version and its epoch under the hash tag {keys}. Private keys in it are
 * sealed under the key-encryption key by the KeyManager; Redis never sees
 * them in the clear. A ring that Redis lost reads as no ring at all (no
 * epoch); the KeyManager notices and re-seeds it (see KeyManager).
 */
export class RedisKeyRing implements KeyRing {
  readonly #state: string;
  readonly #version: string;
  readonly #epoch: string;
  readonly #channel: string;
  readonly #ops: Record<"read" | "write" | "nudge", RedisOperation>;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
    private readonly commandTimeoutMs: number = DEFAULTS.redisCommandTimeoutMs,
    events?: ServiceEvents,
  ) {
    this.#ops = redisOperations(events, { read: "key_ring.read", write: "key_ring.write", nudge: "key_ring.nudge" });
    this.#state = `${prefix}{keys}:ring`;
    this.#version = `${prefix}{keys}:version`;
    this.#epoch = `${prefix}{keys}:epoch`;
    this.#channel = `${prefix}keys:changed`;
  }

  async read(): Promise<KeyRingState> {
    // One MGET (one slot): the document, its version and its epoch are read together.
    const [state, version, epoch] = await redisCall(this.#ops.read, () => this.client.mget(this.#state, this.#version, this.#epoch), this.commandTimeoutMs);
    if (state === null || state === undefined) return { version: 0, records: [] };
    const { epoch: _e, version: _v, ...stored } = JSON.parse(state) as KeyRingState;
    return { ...stored, epoch: epoch ?? "", version: Number(version ?? 0) };
  }

  async write(next: KeyRingState, expected: Pick<KeyRingState, "epoch" | "version">): Promise<boolean> {
    const { epoch: _e, version: _v, ...document } = next;
    const ok = await redisCall(
      this.#ops.write,
      () =>
        WRITE_RING.run(
          this.client,
          [this.#state, this.#version, this.#epoch],
          [expected.epoch ?? "", expected.version, JSON.stringify(document), next.version, next.epoch ?? "", this.#channel],
        ),
      this.commandTimeoutMs,
    );
    return ok === 1;
  }

  /** PUBLISH on the change channel; resolves to the subscribers reached (on a Cluster, those of one node). */
  async nudge(): Promise<number> {
    return redisCall(this.#ops.nudge, () => this.client.publish(this.#channel, "nudge"), this.commandTimeoutMs);
  }

  /** Follows changes by pub/sub on a connection of its own; the periodic check covers a lost message. */
  async watch(listener: () => void): Promise<() => void> {
    const subscriber = this.client.duplicate();
    subscriber.on("error", () => {});
    subscriber.on("message", (channel: string) => {
      if (channel === this.#channel) listener();
    });
    // Commands fail fast while disconnected (no offline queue): subscribe whenever the connection is
    // (re)established, and re-read then too, since messages sent while it was down are lost (and a
    // restarted Redis may have lost the ring itself).
    const subscribe = () => {
      subscriber.subscribe(this.#channel).then(listener, () => {});
    };
    subscriber.on("ready", subscribe);
    if (subscriber.status === "ready") subscribe();
    return () => subscriber.disconnect();
  }
}
