import type { Clock } from "../internal/clock.js";
import type { AccessTokenClaims } from "./access-token-claims.js";

/**
 * Tokens already verified, by their exact string: a token seen before costs
 * one map lookup (plus the expiry and deny checks of the caller). Bounded:
 * the oldest entry goes when full; expired entries are dropped on sight.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, AccessTokenClaims>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {}

  get(token: string, leewaySeconds: number): AccessTokenClaims | undefined {
    const claims = this.#entries.get(token);
    if (claims === undefined) return undefined;
    if (claims.exp <= this.clock.now() / 1000 - leewaySeconds) {
      this.#entries.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: AccessTokenClaims): void {
    if (this.maxEntries <= 0) return;
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, claims);
  }

  get size(): number {
    return this.#entries.size;
  }
}
