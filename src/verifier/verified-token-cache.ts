import type { Clock } from "../internal/clock.js";
import type { Principal } from "./principal.js";

/**
 * Tokens already verified, by their exact string, with the principal they
 * prove: a token seen before costs one map lookup (plus the expiry and deny
 * checks of the caller). Bounded:
 * the oldest entry goes when full; expired entries are dropped on sight.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Principal>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {}

  get(token: string, leewaySeconds: number): Principal | undefined {
    const principal = this.#entries.get(token);
    if (principal === undefined) return undefined;
    if (principal.claims.exp <= this.clock.now() / 1000 - leewaySeconds) {
      this.#entries.delete(token);
      return undefined;
    }
    return principal;
  }

  set(token: string, principal: Principal): void {
    if (this.maxEntries <= 0) return;
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, principal);
  }

  get size(): number {
    return this.#entries.size;
  }
}
