import { inSpan, libraryInstruments, refusalReason, type LibraryInstruments } from "../internal/library-telemetry.js";
import { systemClock, type Clock } from "../internal/clock.js";

/** A token as the token service returned it. */
export interface FetchedToken {
  readonly accessToken: string;
  /** Seconds until it expires, from the moment it was received. */
  readonly expiresIn: number;
}

/** Gets a new token for an audience and scopes from the token service. Rejects with a TesseraError. */
export type TokenFetcher = (request: { audience: string; scopes: readonly string[] }) => Promise<FetchedToken>;

/** Options of TokenSource. */
export interface TokenSourceOptions {
  /** How tokens are obtained, e.g. clientCredentialsFetcher(...). */
  fetch: TokenFetcher;
  /**
   * A token is refreshed in the background once this share of its lifetime
   * has passed, minus a random jitter of up to 10% (so that many clients do
   * not refresh at once). Default 0.75.
   */
  refreshAt?: number;
  /** A token is no longer handed out this many seconds before it expires. Default 10 (at most 10% of the lifetime). */
  expiryMarginSeconds?: number;
  clock?: Clock;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
}

interface Entry {
  token: string | undefined;
  /** ms: stop handing the token out. */
  usableUntil: number;
  /** ms: refresh in the background from then on. */
  refreshFrom: number;
  inFlight: Promise<string> | undefined;
}

/**
 * Client-side token cache, keyed by (audience, scopes). A token is reused
 * until shortly before it expires and refreshed ahead of that in the
 * background; concurrent callers share one fetch (single-flight), so 1000
 * cold calls cost one token request. When the token service is down, cached
 * tokens keep being used until shortly before they expire.
 *
 * @example
 * const tokens = new TokenSource({ fetch: clientCredentialsFetcher({ tokenEndpoint, clientId: "tasks", auth }) });
 * const token = await tokens.get("example.calendar.v1.CalendarService", ["event.view"]);
 */
export class TokenSource {
  readonly #telemetry: LibraryInstruments;
  readonly #fetch: TokenFetcher;
  readonly #refreshAt: number;
  readonly #marginSeconds: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: TokenSourceOptions) {
    this.#fetch = options.fetch;
    this.#refreshAt = options.refreshAt ?? 0.75;
    this.#marginSeconds = options.expiryMarginSeconds ?? 10;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#telemetry = libraryInstruments();
  }

  /** A token for the audience and scopes: cached, or fetched once for all concurrent callers. */
  async get(audience: string, scopes: readonly string[]): Promise<string> {
    const normalized = [...new Set(scopes)].sort();
    const key = JSON.stringify([audience, normalized]);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { token: undefined, usableUntil: 0, refreshFrom: 0, inFlight: undefined };
      this.#entries.set(key, entry);
    }
    const now = this.#clock.now();
    if (entry.token !== undefined && now < entry.usableUntil) {
      if (now >= entry.refreshFrom && entry.inFlight === undefined) {
        // Refresh ahead; the current token stays in use if that fails.
        this.#refresh(entry, audience, normalized).catch(() => {});
      }
      return entry.token;
    }
    return entry.inFlight ?? this.#refresh(entry, audience, normalized);
  }

  #refresh(entry: Entry, audience: string, scopes: readonly string[]): Promise<string> {
    const kind = entry.token === undefined ? "first" : "refresh";
    const { tokenRequests, tracer } = this.#telemetry;
    const fetching = inSpan(tracer, "tessera.token_source.fetch", { "tessera.audience": audience, "tessera.fetch.kind": kind }, () =>
      this.#fetch({ audience, scopes }),
    );
    const inFlight = fetching.then(
      (fetched) => {
        tokenRequests.add(1, { kind, result: "ok" });
        const now = this.#clock.now();
        const lifetimeMs = fetched.expiresIn * 1000;
        const margin = Math.min(this.#marginSeconds * 1000, lifetimeMs / 10);
        const share = this.#refreshAt - 0.1 * this.#random();
        entry.token = fetched.accessToken;
        entry.usableUntil = now + lifetimeMs - margin;
        entry.refreshFrom = now + lifetimeMs * share;
        entry.inFlight = undefined;
        return fetched.accessToken;
      },
      (err: unknown) => {
        tokenRequests.add(1, { kind, result: refusalReason(err) });
        entry.inFlight = undefined;
        throw err;
      },
    );
    entry.inFlight = inFlight;
    return inFlight;
  }

  /**
   * Drops a cached token that a resource server refused as invalid (e.g. it
   * was revoked), so that the next call fetches a new one. Only the given
   * token is dropped: a newer one fetched meanwhile stays.
   */
  invalidate(audience: string, scopes: readonly string[], token: string): void {
    const key = JSON.stringify([audience, [...new Set(scopes)].sort()]);
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.token === token) {
      entry.token = undefined;
      entry.usableUntil = 0;
    }
  }
}
