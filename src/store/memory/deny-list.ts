import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "../../internal/clock.js";
import { ExpiringMap } from "../../internal/expiring-map.js";
import { clientRevocationEvent, clientRevocationJti, mergeClientRevocation } from "../revocation-kinds.js";
import type { DenyList, RevocationEvent, RevocationFeed, RevocationSubscriberHooks } from "../types.js";

/** Revocations for one process, pushed to in-process subscribers (e.g. interceptors beside the issuer). */
export class MemoryDenyList implements DenyList, RevocationFeed {
  readonly #revoked: ExpiringMap<RevocationEvent>;
  readonly #listeners = new Map<(event: RevocationEvent) => void, RevocationSubscriberHooks>();
  readonly #feed = randomBytes(9).toString("base64url");
  #seq = 0;
  constructor(clock: Clock = systemClock) {
    this.#revoked = new ExpiringMap(clock);
  }
  async revoke(issuer: string, jti: string, expiresAt: number): Promise<void> {
    const event: RevocationEvent = Object.freeze({ issuer, jti, expiresAt });
    this.#revoked.set(denyKey(issuer, jti), event, expiresAt);
    this.#push(event);
  }
  async revokeClient(issuer: string, clientId: string, issuedBefore: number, expiresAt: number): Promise<void> {
    const key = denyKey(issuer, clientRevocationJti(clientId));
    const event = mergeClientRevocation(this.#revoked.get(key), clientRevocationEvent(issuer, clientId, issuedBefore, expiresAt));
    if (event === undefined) return;
    this.#revoked.set(key, event, event.expiresAt);
    this.#push(event);
  }
  async isClientRevoked(issuer: string, clientId: string, issuedAt: number): Promise<boolean> {
    return this.isClientRevokedNow(issuer, clientId, issuedAt);
  }
  /** isClientRevoked, synchronously: lets the memory introspection cache check and fill in one step. */
  isClientRevokedNow(issuer: string, clientId: string, issuedAt: number): boolean {
    const cutOff = this.#revoked.get(denyKey(issuer, clientRevocationJti(clientId)))?.issuedBefore;
    return cutOff !== undefined && issuedAt < cutOff;
  }
  async isRevoked(issuer: string, jti: string): Promise<boolean> {
    return this.isRevokedNow(issuer, jti);
  }
  /** isRevoked, synchronously: lets the memory introspection cache check and fill in one step. */
  isRevokedNow(issuer: string, jti: string): boolean {
    return this.#revoked.has(denyKey(issuer, jti));
  }
  /** Numbered in this process (see RevocationSubscriberHooks.onPosition): the feed's identity is random per instance. */
  async subscribe(listener: (event: RevocationEvent) => void, hooks: RevocationSubscriberHooks = {}): Promise<() => void> {
    for (const event of this.#revoked.values()) listener(event);
    hooks.onPosition?.({ feed: this.#feed, seq: this.#seq }, "snapshot");
    this.#listeners.set(listener, hooks);
    return () => this.#listeners.delete(listener);
  }

  #push(event: RevocationEvent): void {
    const position = { feed: this.#feed, seq: ++this.#seq };
    for (const [listener, hooks] of this.#listeners) {
      hooks.onPosition?.(position, "entry");
      listener(event);
    }
  }
}

function denyKey(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}
