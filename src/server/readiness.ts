import type { KeyManager } from "../keys/key-manager.js";
import type { RedisDenyList } from "../store/redis/deny-list.js";
import type { RedisHealth } from "../store/redis/redis-health.js";

/** Something readiness depends on: whether it is ready, and a way to hear when that may have changed. */
export interface ReadinessSource {
  readonly ready: boolean;
  onReadyChange(listener: () => void): () => void;
}

/**
 * What a replica needs to introspect and revoke its own tokens: Redis
 * answering, the signing-key ring in sync (not lost and unrecovered), and the
 * revocations it holds loaded (none being re-seeded after a data loss).
 */
export function sharedStateReadiness(health: RedisHealth, keyManager: KeyManager | undefined, denyList: RedisDenyList | undefined): ReadinessSource[] {
  const sources: ReadinessSource[] = [
    {
      get ready() {
        return health.up;
      },
      onReadyChange: (listener) => health.onChange(() => listener()),
    },
  ];
  if (keyManager !== undefined)
    sources.push({
      get ready() {
        return keyManager.inSync;
      },
      onReadyChange: (listener) => keyManager.onSyncChange(listener),
    });
  if (denyList !== undefined) sources.push(denyList);
  return sources;
}

/** Calls `set` with whether every source is ready, now and whenever that changes; returns a function that stops following. */
export function followReadiness(sources: readonly ReadinessSource[], set: (ready: boolean) => void): () => void {
  let last: boolean | undefined;
  const update = () => {
    const ready = sources.every((s) => s.ready);
    if (ready === last) return;
    last = ready;
    set(ready);
  };
  const stops = sources.map((s) => s.onReadyChange(update));
  update();
  return () => {
    for (const stop of stops) stop();
  };
}
