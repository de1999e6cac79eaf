// The store contract against the in-memory store (one process).
import { MemoryAuthThrottle } from "../../src/store/memory/auth-throttle.js";
import { MemoryIntrospectionCache } from "../../src/store/memory/introspection-cache.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { MemoryReplayGuard } from "../../src/store/memory/replay-guard.js";
import { MemoryRateLimiter } from "../../src/store/memory/rate-limiter.js";
import { storeContract } from "./store.contract.js";

storeContract("memory", {
  async create(settings) {
    const denyList = new MemoryDenyList();
    return {
      replay: new MemoryReplayGuard(),
      denyList,
      introspectionCache: new MemoryIntrospectionCache(denyList, { ttlSeconds: settings.cacheSeconds }),
      authThrottle: new MemoryAuthThrottle({ failures: settings.failures, windowSeconds: settings.windowSeconds }),
      rateLimiter: new MemoryRateLimiter(),
    };
  },
});
