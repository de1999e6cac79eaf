import { libraryInstruments } from "../internal/library-telemetry.js";
import type { CryptoKey, JSONWebKeySet, JWSHeaderParameters, KeyObject } from "jose";
import { TemporarilyUnavailableError } from "../errors/tessera-error.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { singleFlight } from "../internal/single-flight.js";
import { localKeySet, type HeaderKeyResolver } from "./local-key-set.js";

const FETCH_OK = Object.freeze({ result: "ok" });
const FETCH_FAILED = Object.freeze({ result: "error" });
/** Fetches a JWK Set; rejects on any failure. */
export type JwksFetcher = () => Promise<JSONWebKeySet>;

/** Options of RemoteKeySet. */
export interface RemoteKeySetOptions {
  /** Where the keys come from (an HTTP JWKS, GetJwks, ...). */
  fetch: JwksFetcher;
  /** Minimum time between two fetches, whatever triggers them (unknown kid floods included). Default 30 s. */
  cooldownMs?: number;
  /** Age after which the set is refreshed on the next use (the last good set stays in use if that fails). Default 5 min. */
  maxAgeMs?: number;
  clock?: Clock;
}

/**
 * A key set fetched from elsewhere and cached. An unknown `kid` triggers at
 * most one refetch per cooldown, so a flood of random kids causes no fetch
 * storm; a failed refresh keeps the last good set. A set without a single
 * usable key (no key with a `kid`) counts as a failed refresh: an issuer
 * never rotates to no keys at all, so it is a fault, not a revocation. Key selection by kid, alg
 * and key type is jose's (createLocalJWKSet).
 *
 * @example
 * ```ts
 * import { RemoteKeySet, TokenVerifier, httpJwksFetcher } from "tessera";
 *
 * const keys = new RemoteKeySet({ fetch: httpJwksFetcher("https://tessera.internal/.well-known/jwks.json"), cooldownMs: 30_000 });
 * const verifier = new TokenVerifier({ issuer: "https://tessera.internal", keys });
 * ```
 */
export class RemoteKeySet {
  readonly #fetch: JwksFetcher;
  readonly #cooldownMs: number;
  readonly #maxAgeMs: number;
  readonly #clock: Clock;
  #local: HeaderKeyResolver | undefined;
  /** Keys found in the current set, by kid and alg: a first sight skips jose's selection. Replaced with the set. */
  #found = new Map<string, Map<string, CryptoKey | KeyObject>>();
  #kids = new Set<string>();
  /** Kids revoked in an emergency (pushed by WatchKeys): refused whatever set holds them. Never forgotten. */
  readonly #revokedKids = new Set<string>();
  /** The JSON of the current set, so that a push of the same set (a heartbeat) keeps the keys already found. */
  #json = "";
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;
  readonly #refresh: () => Promise<void>;

  constructor(options: RemoteKeySetOptions) {
    this.#fetch = options.fetch;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    this.#clock = options.clock ?? systemClock;
    const { jwksFetches } = libraryInstruments();
    this.#refresh = singleFlight(async () => {
      this.#attemptedAt = this.#clock.now();
      let jwks: Awaited<ReturnType<JwksFetcher>>;
      try {
        jwks = await this.#fetch();
      } catch (err) {
        jwksFetches.add(1, FETCH_FAILED);
        throw err;
      }
      jwksFetches.add(1, FETCH_OK);
      this.#install(jwks);
    });
  }

  /** Makes `jwks` the current set; throws (keeping the last good set) when it holds no key with a kid. */
  #install(jwks: JSONWebKeySet): void {
    const kids = new Set(jwks.keys.map((k) => k.kid).filter((kid): kid is string => typeof kid === "string" && kid.length > 0));
    if (kids.size === 0) throw new Error("the JWK Set holds no key with a kid");
    const json = JSON.stringify(jwks.keys);
    if (json !== this.#json || this.#local === undefined) {
      this.#local = localKeySet(jwks);
      this.#found = new Map();
      this.#kids = kids;
      this.#json = json;
    }
    this.#fetchedAt = this.#clock.now();
    this.#lastError = undefined;
  }

  /**
   * A key set pushed by the issuer (tessera.v1.TokenService/WatchKeys), in
   * place of a fetch: it becomes the current set (a set without a usable key
   * is ignored, as a failed fetch is), and every kid in `revokedKids` is
   * refused from now on, at once, whatever set still holds it.
   */
  update(jwks: JSONWebKeySet, revokedKids: Iterable<string> = []): void {
    for (const kid of revokedKids) this.#revokedKids.add(kid);
    try {
      this.#install(jwks);
    } catch (err) {
      this.#lastError = err;
    }
  }

  /** Whether a kid was revoked in an emergency (see update). */
  isRevoked(kid: string): boolean {
    return this.#revokedKids.size > 0 && this.#revokedKids.has(kid);
  }

  /** Whether a fetch is allowed now: false while cooling down. */
  #mayFetch(): boolean {
    return this.#clock.now() - this.#attemptedAt >= this.#cooldownMs;
  }

  /** Refreshes when allowed; a failure keeps the last good set and is reported only when there is none. */
  async #tryRefresh(): Promise<void> {
    try {
      await this.#refresh();
    } catch (err) {
      this.#lastError = err;
      if (this.#local === undefined) throw this.#unavailable();
    }
  }

  /** The answer while no key set was ever fetched. The message goes to callers, so the details (URL, reason) stay in `cause`. */
  #unavailable(): TemporarilyUnavailableError {
    const error = new TemporarilyUnavailableError("the key set cannot be fetched");
    error.cause = this.#lastError;
    return error;
  }

  /** Why the last fetch failed (e.g. a JwksFetchError naming the URL), or undefined after a success. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Fetches the set now (e.g. at start), ignoring the cooldown. Rejects if it fails. */
  async load(): Promise<void> {
    await this.#refresh();
  }

  /** Whether a kid is in the current set (no fetch). */
  has(kid: string): boolean {
    return this.#kids.has(kid);
  }

  /** The key for a JWS header if it was found before in the current set and the set needs no refresh; else undefined. */
  resolveNow(header: JWSHeaderParameters): CryptoKey | KeyObject | undefined {
    if (this.isRevoked(header.kid ?? "")) return undefined;
    if (this.#local === undefined || this.#clock.now() - this.#fetchedAt > this.#maxAgeMs) return undefined;
    return this.#found.get(header.alg ?? "")?.get(header.kid ?? "");
  }

  /** The key for a JWS header, or undefined when no key matches even after an allowed refetch. */
  async resolve(header: JWSHeaderParameters): Promise<CryptoKey | KeyObject | undefined> {
    if (this.isRevoked(header.kid ?? "")) return undefined;
    const stale = this.#clock.now() - this.#fetchedAt > this.#maxAgeMs;
    if (this.#local === undefined || ((stale || !this.has(header.kid ?? "")) && this.#mayFetch())) {
      await this.#tryRefresh();
    }
    const local = this.#local;
    if (local === undefined) throw this.#unavailable();
    const found = this.#found;
    const kid = header.kid ?? "";
    const alg = header.alg ?? "";
    const known = found.get(alg)?.get(kid);
    if (known !== undefined) return known;
    const key = await local(header);
    if (key !== undefined && this.#local === local) {
      let byKid = found.get(alg);
      if (byKid === undefined) {
        byKid = new Map();
        found.set(alg, byKid);
      }
      byKid.set(kid, key);
    }
    return key;
  }
}
