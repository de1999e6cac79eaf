import type { Clock } from "../internal/clock.js";
import type { Principal } from "./principal.js";

/** How many trailing characters of a token key its entry (all of a shorter string). */
const KEY_CHARS = 32;

interface Entry {
  /** The exact token string that was verified. */
  readonly token: string;
  readonly principal: Principal;
}

/**
 * Tokens already verified, with the principal they prove: a token seen
 * before costs one map lookup and one string comparison (plus the expiry
 * and deny checks of the caller). Bounded: the entry inserted longest ago
 * goes when full; expired entries are dropped on sight.
 *
 * Entries are found by the token's last 32 characters (inside the
 * signature of any JWS we accept), and a hit is only the token compared
 * whole with the one verified: hashing a ~600-character string on every
 * call costs more than the rest of the lookup. Another token that shares
 * those characters (forged or not) is a miss, never the other's principal.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  /**
   * The keys in the order they were inserted, a ring of maxEntries slots: evicting the oldest is
   * O(1). (Taking a Map's first key skips every slot deleted since its last rehash: ~4 µs per
   * first sight in a full cache of 10000.)
   */
  readonly #order: string[] = [];
  #next = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {}

  get(token: string, leewaySeconds: number): Principal | undefined {
    const key = keyOf(token);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (entry.principal.claims.exp <= this.clock.now() / 1000 - leewaySeconds) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, principal: Principal): void {
    if (this.maxEntries <= 0) return;
    const key = keyOf(token);
    // The slot's key leaves the map with it (if it is still there: it may have expired, or been replaced and inserted again later, which only ends that entry early).
    const evicted = this.#order[this.#next];
    if (evicted !== undefined) this.#entries.delete(evicted);
    this.#order[this.#next] = key;
    this.#next = this.#next + 1 >= this.maxEntries ? 0 : this.#next + 1;
    this.#entries.set(key, { token, principal });
  }

  get size(): number {
    return this.#entries.size;
  }
}

function keyOf(token: string): string {
  return token.length <= KEY_CHARS ? token : token.slice(token.length - KEY_CHARS);
}
