import { systemClock, type Clock } from "../../internal/clock.js";
import type { IntrospectionCache, IntrospectionCacheKey, IntrospectionCacheLookup } from "../types.js";
import { ExpiringMap } from "../../internal/expiring-map.js";
import type { MemoryDenyList } from "./deny-list.js";

interface TokenEntries {
  /** Cached value and its deadline (epoch seconds), per caller. */
  readonly callers: Map<string, { value: string; expiresAt: number }>;
  /** The latest deadline among them: when the whole entry can go. */
  expiresAt: number;
}

/** Options of MemoryIntrospectionCache. */
export interface MemoryIntrospectionCacheOptions {
  /** Longest time an answer is cached, in seconds (never past the token's exp). */
  ttlSeconds: number;
  clock?: Clock;
}

/**
 * Introspection answers cached in this process, bound to the process's
 * deny-list: lookups consult it first (the token's entry and its client's cut-off), fills check it in the same
 * synchronous step (so a revocation cannot slip between check and fill), and
 * a revocation drops the token's entries.
 */
export class MemoryIntrospectionCache implements IntrospectionCache {
  readonly #entries: ExpiringMap<TokenEntries>;
  readonly #clock: Clock;
  readonly #ttlSeconds: number;

  constructor(
    private readonly denyList: MemoryDenyList,
    options: MemoryIntrospectionCacheOptions,
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#ttlSeconds = options.ttlSeconds;
    this.#entries = new ExpiringMap(this.#clock);
    // MemoryDenyList calls its listeners synchronously within revoke().
    void denyList.subscribe((event) => this.#entries.delete(tokenKey(event.issuer, event.jti)));
  }

  async lookup(key: IntrospectionCacheKey): Promise<IntrospectionCacheLookup> {
    if (this.#revoked(key)) return { revoked: true };
    const cached = this.#entries.get(tokenKey(key.issuer, key.jti))?.callers.get(key.caller);
    const live = cached !== undefined && cached.expiresAt > this.#clock.now() / 1000;
    return { revoked: false, value: live ? cached.value : undefined };
  }

  async store(key: IntrospectionCacheKey, value: string, expiresAt: number): Promise<boolean> {
    if (this.#revoked(key)) return false;
    const now = this.#clock.now() / 1000;
    const until = Math.min(now + this.#ttlSeconds, expiresAt);
    if (until <= now) return true;
    const k = tokenKey(key.issuer, key.jti);
    const entries = this.#entries.get(k) ?? { callers: new Map(), expiresAt: 0 };
    entries.callers.set(key.caller, { value, expiresAt: until });
    entries.expiresAt = Math.max(entries.expiresAt, until);
    this.#entries.set(k, entries, entries.expiresAt);
    return true;
  }

  #revoked(key: IntrospectionCacheKey): boolean {
    return this.denyList.isRevokedNow(key.issuer, key.jti) || this.denyList.isClientRevokedNow(key.issuer, key.client.id, key.client.issuedAt);
  }
}

function tokenKey(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}
