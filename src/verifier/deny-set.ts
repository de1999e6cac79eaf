import { TemporarilyUnavailableError } from "../errors/tessera-error.js";
import type { Clock } from "../internal/clock.js";
import { ExpiringMap } from "../internal/expiring-map.js";
import { clientRevocationJti, keyRevocationJti } from "../store/revocation-kinds.js";
import type { RevocationEvent, RevocationFeed } from "../store/types.js";
import type { AccessTokenClaims } from "./access-token-claims.js";

/** What of a token's claims decides whether a revocation covers it. */
export type RevocableClaims = Pick<AccessTokenClaims, "iss" | "jti" | "kid" | "clientId" | "iat">;

/** Which revocation covers a token: the token itself, its signing key, or a cut-off of its client. */
export type RevocationReason = "token" | "key" | "client";

/** Waits between two attempts to subscribe to an unreachable feed: 100 ms, doubling, at most this. */
const MAX_RETRY_DELAY_MS = 2000;

/** One run of follow(): the attempts to subscribe until stop(). */
interface FollowRun {
  stopped: boolean;
  timer: NodeJS.Timeout | undefined;
  firstAttempt: Promise<void>;
}

/**
 * The revoked (iss, jti) pairs a verifier knows, in memory, fed by a
 * RevocationFeed. Lookups never touch the network. It knows when it last
 * heard that it is in sync with the feed, so that the verifier can stop
 * trusting it when the feed goes quiet for too long; it keeps every
 * revocation it has meanwhile. That time is measured on the monotonic clock
 * (the feed's heartbeats come in real time; the token clock may be frozen
 * in tests, or jump when the wall clock is set).
 */
export class DenySet {
  readonly #revoked: ExpiringMap<true>;
  /** Client cut-offs: (issuer, client id) → tokens issued before this (epoch seconds) are revoked. */
  readonly #cutOffs: ExpiringMap<number>;
  readonly #listeners = new Set<(event: RevocationEvent) => void>();
  #loaded = false;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #run: FollowRun | undefined;
  #unsubscribe: (() => void) | undefined;
  #waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(clock: Clock) {
    this.#revoked = new ExpiringMap(clock);
    this.#cutOffs = new ExpiringMap(clock);
  }

  /**
   * Subscribes to the feed. While the feed cannot be reached it retries in
   * the background (100 ms, doubling, up to 2 s) until stop(). Resolves once
   * the revocations in force are loaded, or once the first attempt failed:
   * it never rejects because the feed is down.
   */
  follow(feed: RevocationFeed): Promise<void> {
    if (this.#run !== undefined) return this.#run.firstAttempt;
    const run: FollowRun = { stopped: false, timer: undefined, firstAttempt: Promise.resolve() };
    this.#run = run;
    let failures = 0;
    const attempt = async (): Promise<void> => {
      run.timer = undefined;
      try {
        const unsubscribe = await feed.subscribe((event) => this.add(event), { onSynced: () => this.#synced() });
        if (run.stopped) return unsubscribe();
        this.#unsubscribe = unsubscribe;
        this.#loaded = true;
        this.#synced();
        for (const waiter of this.#waiters.splice(0)) waiter.resolve();
      } catch {
        if (run.stopped) return;
        failures++;
        run.timer = setTimeout(() => void attempt(), Math.min(100 * 2 ** (failures - 1), MAX_RETRY_DELAY_MS));
        run.timer.unref();
      }
    };
    run.firstAttempt = attempt();
    return run.firstAttempt;
  }

  /** Stops following the feed (and retrying); the set is no longer loaded. */
  stop(): void {
    if (this.#run !== undefined) {
      this.#run.stopped = true;
      clearTimeout(this.#run.timer);
      this.#run = undefined;
    }
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#loaded = false;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new TemporarilyUnavailableError("the verifier was stopped before its revocations were loaded"));
  }

  /** Whether the revocations in force have been loaded. */
  get ready(): boolean {
    return this.#loaded;
  }

  /** When the feed last confirmed the set is in sync (monotonic ms, performance.now()), or undefined before it was loaded. */
  get syncedAt(): number | undefined {
    return this.#loaded ? this.#syncedAt : undefined;
  }

  /** Whether the set is loaded and was in sync with its feed at most `staleAfterMs` ago (undefined: no bound). */
  isCurrent(staleAfterMs: number | undefined): boolean {
    return this.#loaded && (staleAfterMs === undefined || performance.now() - this.#syncedAt <= staleAfterMs);
  }

  /** Resolves once the revocations in force are loaded; rejects if stop() comes first. */
  whenLoaded(): Promise<void> {
    if (this.#loaded) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #synced(): void {
    this.#syncedAt = performance.now();
  }

  add(event: RevocationEvent): void {
    const k = key(event.issuer, event.jti);
    if (event.issuedBefore === undefined) {
      this.#revoked.set(k, true, event.expiresAt);
    } else {
      // A cut-off never moves back: a resync may deliver an older one after a newer.
      this.#cutOffs.set(k, Math.max(event.issuedBefore, this.#cutOffs.get(k) ?? 0), event.expiresAt);
    }
    for (const listener of this.#listeners) listener(event);
  }

  has(issuer: string, jti: string): boolean {
    return this.#revoked.size > 0 && this.#revoked.has(key(issuer, jti));
  }

  /** Which revocation held here covers the token, if any. */
  refusal(claims: RevocableClaims): RevocationReason | undefined {
    if (this.has(claims.iss, claims.jti)) return "token";
    if (this.has(claims.iss, keyRevocationJti(claims.kid))) return "key";
    if (this.#cutOffs.size > 0 && claims.iat < (this.#cutOffs.get(key(claims.iss, clientRevocationJti(claims.clientId))) ?? Number.NEGATIVE_INFINITY)) {
      return "client";
    }
    return undefined;
  }

  /** Calls `listener` for every revocation added from now on (e.g. to end streams). */
  onRevoked(listener: (event: RevocationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Whether `event` revokes the token with these claims. */
export function revocationCovers(event: RevocationEvent, claims: RevocableClaims): boolean {
  if (event.issuer !== claims.iss) return false;
  if (event.issuedBefore !== undefined) return event.jti === clientRevocationJti(claims.clientId) && claims.iat < event.issuedBefore;
  return event.jti === claims.jti || event.jti === keyRevocationJti(claims.kid);
}

function key(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}
