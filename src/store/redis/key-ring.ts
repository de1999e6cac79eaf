import { DEFAULTS } from "../../config/defaults.js";
import type { KeyRingState } from "../../keys/key-record.js";
import type { KeyRing } from "../../keys/key-ring.js";
import { LuaScript } from "./lua-scripts.js";
import { redisCall } from "./redis-call.js";
import type { RedisClient } from "./redis-client.js";

/**
 * Compare-and-set of the ring: stores the new state only if the stored
 * version is still ARGV[1], then tells the other replicas.
 * KEYS: state, version. ARGV: expected version, state JSON, channel.
 */
const WRITE_RING = new LuaScript(
  "key-ring-write",
  `local v = tonumber(redis.call('GET', KEYS[2]) or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], v + 1)
redis.call('PUBLISH', ARGV[3], tostring(v + 1))
return 1`,
);

/**
 * The signing-key ring of every replica, in Redis: one JSON document and its
 * version under the hash tag {keys}. Private keys in it are sealed under the
 * key-encryption key by the KeyManager; Redis never sees them in the clear.
 */
export class RedisKeyRing implements KeyRing {
  readonly #state: string;
  readonly #version: string;
  readonly #channel: string;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
    private readonly commandTimeoutMs: number = DEFAULTS.redisCommandTimeoutMs,
  ) {
    this.#state = `${prefix}{keys}:ring`;
    this.#version = `${prefix}{keys}:version`;
    this.#channel = `${prefix}keys:changed`;
  }

  async read(): Promise<KeyRingState> {
    const [state, version] = await redisCall(() => Promise.all([this.client.get(this.#state), this.client.get(this.#version)]), this.commandTimeoutMs);
    if (state === null) return { version: Number(version ?? 0), records: [] };
    return { ...(JSON.parse(state) as KeyRingState), version: Number(version ?? 0) };
  }

  async write(next: KeyRingState): Promise<boolean> {
    const ok = await redisCall(
      () => WRITE_RING.run(this.client, [this.#state, this.#version], [next.version - 1, JSON.stringify(next), this.#channel]),
      this.commandTimeoutMs,
    );
    return ok === 1;
  }

  /** Follows changes by pub/sub on a connection of its own; the periodic check covers a lost message. */
  async watch(listener: () => void): Promise<() => void> {
    const subscriber = this.client.duplicate();
    subscriber.on("error", () => {});
    subscriber.on("message", (channel: string) => {
      if (channel === this.#channel) listener();
    });
    // Commands fail fast while disconnected (no offline queue): subscribe whenever the connection is
    // (re)established, and re-read then too, since messages sent while it was down are lost.
    const subscribe = () => {
      subscriber.subscribe(this.#channel).then(listener, () => {});
    };
    subscriber.on("ready", subscribe);
    if (subscriber.status === "ready") subscribe();
    return () => subscriber.disconnect();
  }
}
