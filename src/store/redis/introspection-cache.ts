import type { IntrospectionCache, IntrospectionCacheKey, IntrospectionCacheLookup } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { CACHE_LOOKUP, CACHE_STORE } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, type RedisOperation, redisCall, redisOperations } from "./redis-call.js";
import type { ServiceEvents } from "../../internal/service-events.js";

/**
 * Introspection answers shared by every replica, one hash per token
 * (field = caller), in the revocation slot: lookups consult the deny-list
 * entries (the token's and its client's cut-off) in the same script, fills are atomic with revocations (CACHE_STORE vs
 * REVOKE), and a revocation deletes the token's hash. A revocation the
 * replica holds in memory (`held`, see RedisDenyList) counts even when Redis
 * has lost it.
 */
export class RedisIntrospectionCache implements IntrospectionCache {
  readonly #deadlineMs: number;
  readonly #ops: Record<"lookup" | "store", RedisOperation>;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: {
      ttlSeconds: number;
      commandTimeoutMs: number;
      held?: (key: IntrospectionCacheKey) => boolean;
      events?: ServiceEvents | undefined;
    },
  ) {
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
    this.#ops = redisOperations(options.events, { lookup: "introspection_cache.lookup", store: "introspection_cache.store" });
  }

  async lookup(key: IntrospectionCacheKey): Promise<IntrospectionCacheLookup> {
    if (this.options.held?.(key) === true) return { revoked: true };
    const reply = (await redisCall(
      this.#ops.lookup,
      () => CACHE_LOOKUP.run(this.client, this.#keys(key), [key.caller, issuedAtMs(key)]),
      this.#deadlineMs,
    )) as [number, string?];
    if (reply[0] === 1) return { revoked: true };
    return { revoked: false, value: reply[1] };
  }

  async store(key: IntrospectionCacheKey, value: string, expiresAt: number): Promise<boolean> {
    if (this.options.held?.(key) === true) return false;
    const reply = await redisCall(
      this.#ops.store,
      () =>
        CACHE_STORE.run(this.client, this.#keys(key), [
          key.caller,
          value,
          Math.floor(expiresAt * 1000),
          Math.round(this.options.ttlSeconds * 1000),
          issuedAtMs(key),
        ]),
      this.#deadlineMs,
    );
    return reply === 1;
  }

  #keys(key: IntrospectionCacheKey): string[] {
    return this.keys.introspectionKeys(key.issuer, key.jti, key.client.id);
  }
}

/** The token's iat in ms, as a cut-off is stored (see REVOKE); what a forger put there only makes its own token inactive. */
function issuedAtMs(key: IntrospectionCacheKey): string {
  return String(Math.floor(key.client.issuedAt * 1000));
}
