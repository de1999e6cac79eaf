import type { Clock } from "../internal/clock.js";
import { ExpiringMap } from "../internal/expiring-map.js";
import type { RevocationEvent, RevocationFeed } from "../store/types.js";

/**
 * The revoked (iss, jti) pairs a verifier knows, in memory, fed by a
 * RevocationFeed. Lookups never touch the network.
 */
export class DenySet {
  readonly #revoked: ExpiringMap<true>;
  readonly #listeners = new Set<(event: RevocationEvent) => void>();
  #ready = false;
  #unsubscribe: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#revoked = new ExpiringMap(clock);
  }

  /** Subscribes to the feed; resolves once the revocations in force are loaded. */
  async follow(feed: RevocationFeed): Promise<void> {
    this.#unsubscribe = await feed.subscribe((event) => this.add(event));
    this.#ready = true;
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#ready = false;
  }

  /** Whether the revocations in force have been loaded. */
  get ready(): boolean {
    return this.#ready;
  }

  add(event: RevocationEvent): void {
    this.#revoked.set(key(event.issuer, event.jti), true, event.expiresAt);
    for (const listener of this.#listeners) listener(event);
  }

  has(issuer: string, jti: string): boolean {
    return this.#revoked.size > 0 && this.#revoked.has(key(issuer, jti));
  }

  /** Calls `listener` for every revocation added from now on (e.g. to end streams). */
  onRevoked(listener: (event: RevocationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function key(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}
