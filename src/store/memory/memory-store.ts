import { systemClock, type Clock } from "../../internal/clock.js";
import type { DenyList, ReplayGuard } from "../types.js";
import { ExpiringMap } from "./expiring-map.js";

/** Single-use records for one process. */
export class MemoryReplayGuard implements ReplayGuard {
  readonly #seen: ExpiringMap<true>;
  constructor(clock: Clock = systemClock) {
    this.#seen = new ExpiringMap(clock);
  }
  async claim(key: string, expiresAt: number): Promise<boolean> {
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, true, expiresAt);
    return true;
  }
}

/** Revocations for one process. */
export class MemoryDenyList implements DenyList {
  readonly #revoked: ExpiringMap<true>;
  constructor(clock: Clock = systemClock) {
    this.#revoked = new ExpiringMap(clock);
  }
  async revoke(issuer: string, jti: string, expiresAt: number): Promise<void> {
    this.#revoked.set(denyKey(issuer, jti), true, expiresAt);
  }
  async isRevoked(issuer: string, jti: string): Promise<boolean> {
    return this.#revoked.has(denyKey(issuer, jti));
  }
}

function denyKey(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}
