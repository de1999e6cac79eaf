import type { JWTVerifyGetKey } from "jose";
import type { TesseraConfig } from "../config/types.js";
import type { Clock } from "../internal/clock.js";
import type { ServiceEvents } from "../internal/service-events.js";
import type { Logger } from "../internal/logger.js";
import type { ManagedClientStore } from "../registry/client-store.js";
import { LayeredClientRegistry } from "../registry/layered-client-registry.js";
import { MemoryClientStore } from "../store/memory/client-store.js";
import { RedisClientStore } from "../store/redis/client-store.js";
import { httpJwksFetcher } from "../keys/http-jwks-fetcher.js";
import { RemoteKeySet } from "../keys/remote-key-set.js";
import type { SharedState } from "./shared-state.js";

/** The clients the issuer knows (file and admin API) and where the API's live. */
export interface ClientRegistryState {
  readonly registry: LayeredClientRegistry;
  readonly store: ManagedClientStore;
  /** Whether other replicas share the store (Redis). */
  readonly shared: boolean;
  /** Resolves once this replica holds the stored clients (at once in memory); never rejects. */
  waitUntilLoaded(timeoutMs: number): Promise<boolean>;
  close(): void;
}

/**
 * The registry over the file's clients and the admin API's: in Redis (each
 * replica a copy in memory, told of changes by pub/sub) when the state lives
 * there, else in this process's memory. A private_key_jwt client's JWKS URL
 * is fetched by a RemoteKeySet of its own, kept per URL.
 */
export function openClientRegistry(config: TesseraConfig, state: SharedState, clock: Clock, logger: Logger, events?: ServiceEvents): ClientRegistryState {
  const redis = state.redis;
  const store: ManagedClientStore & { close?(): void; loaded?: Promise<void> } =
    redis === undefined
      ? new MemoryClientStore()
      : new RedisClientStore(redis.client, redis.keys, {
          commandTimeoutMs: redis.commandTimeoutMs,
          resyncMs: config.admin.resyncSeconds * 1000,
          logger,
          events,
        });
  const remoteSets = new Map<string, JWTVerifyGetKey>();
  const remoteKeys = (uri: string): JWTVerifyGetKey => {
    let keys = remoteSets.get(uri);
    if (keys === undefined) {
      const set = new RemoteKeySet({ fetch: httpJwksFetcher(uri), clock });
      keys = async (header) => {
        const key = await set.resolve(header);
        if (key === undefined) throw new Error("no matching key");
        return key;
      };
      remoteSets.set(uri, keys);
    }
    return keys;
  };
  return {
    registry: new LayeredClientRegistry(config.clients, store, remoteKeys),
    store,
    shared: redis !== undefined,
    waitUntilLoaded: async (timeoutMs) => {
      if (store.loaded === undefined) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([store.loaded.then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => store.close?.(),
  };
}
