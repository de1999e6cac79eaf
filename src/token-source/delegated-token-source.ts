import { sha256 } from "../internal/constant-time.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { ExpiringMap } from "../internal/expiring-map.js";
import { setTarget, tokenRequestPoster, type ClientCredentialsFetcherOptions } from "./client-credentials-fetcher.js";
import type { FetchedToken } from "./token-source.js";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** Exchanges a caller's token for one on its behalf (RFC 8693). Rejects with a TesseraError. */
export type DelegatedTokenFetcher = (request: { subjectToken: string; audience: string; scopes: readonly string[] }) => Promise<FetchedToken>;

/**
 * Exchanges tokens at an OAuth 2.0 token endpoint with the RFC 8693
 * token-exchange grant, authenticating as this client (the actor), with the
 * same options, transport rules and errors as clientCredentialsFetcher.
 *
 * @example
 * ```ts
 * import { DelegatedTokenSource, tokenExchangeFetcher } from "tessera/client";
 *
 * const onBehalf = new DelegatedTokenSource({ fetch: tokenExchangeFetcher({
 *   tokenEndpoint: "http://127.0.0.1:8080/oauth2/token", clientId: "orders",
 *   auth: { method: "workload_identity", token: () => readFile("/var/run/secrets/tessera/token", "utf8") } }) });
 * ```
 */
export function tokenExchangeFetcher(options: ClientCredentialsFetcherOptions): DelegatedTokenFetcher {
  const post = tokenRequestPoster(options, "token exchange");
  return ({ subjectToken, audience, scopes }) => {
    const params = new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE });
    setTarget(params, options, audience, scopes);
    return post(params);
  };
}

/** The cache key: the subject token by its digest (the key never holds the token), the audience, the sorted scopes. */
function cacheKey(subjectToken: string, audience: string, sortedScopes: readonly string[]): string {
  return JSON.stringify([sha256(subjectToken).toString("base64url"), audience, sortedScopes]);
}

/** Options of DelegatedTokenSource. */
export interface DelegatedTokenSourceOptions {
  /** How tokens are exchanged, e.g. tokenExchangeFetcher(...). */
  fetch: DelegatedTokenFetcher;
  /** An exchanged token is no longer handed out this many seconds before it expires. Default 10 (at most 10% of its lifetime). */
  expiryMarginSeconds?: number;
  clock?: Clock;
}

/**
 * Client-side cache of tokens exchanged on a caller's behalf, keyed by
 * (subject token, audience, scopes): a service that received a token calls
 * another one as the caller (`act` naming itself) with one exchange per
 * caller token, audience and scopes, shared by concurrent calls. A failed
 * exchange is not cached. Tokens are held until shortly before they expire,
 * which is never after the caller's token does; expired entries are swept.
 *
 * @example
 * ```ts
 * import { DelegatedTokenSource, tokenExchangeFetcher } from "tessera/client";
 *
 * const onBehalf = new DelegatedTokenSource({ fetch: tokenExchangeFetcher({ tokenEndpoint, clientId: "orders", auth }) });
 * // In a handler, with the caller's bearer token:
 * const token = await onBehalf.get(incomingToken, "https://ledger.example.com", ["ledger.read"]);
 * ```
 */
export class DelegatedTokenSource {
  readonly #fetch: DelegatedTokenFetcher;
  readonly #marginSeconds: number;
  readonly #clock: Clock;
  readonly #entries: ExpiringMap<Promise<string>>;

  constructor(options: DelegatedTokenSourceOptions) {
    this.#fetch = options.fetch;
    this.#marginSeconds = options.expiryMarginSeconds ?? 10;
    this.#clock = options.clock ?? systemClock;
    this.#entries = new ExpiringMap(this.#clock);
  }

  /** A token for the audience and scopes on behalf of the holder of `subjectToken`: cached, or exchanged once for all concurrent callers. */
  get(subjectToken: string, audience: string, scopes: readonly string[]): Promise<string> {
    const normalized = [...new Set(scopes)].sort();
    const key = cacheKey(subjectToken, audience, normalized);
    const cached = this.#entries.get(key);
    if (cached !== undefined) return cached;
    const started = this.#clock.now();
    const exchanged = this.#fetch({ subjectToken, audience, scopes: normalized }).then(
      (fetched) => {
        const margin = Math.min(this.#marginSeconds, fetched.expiresIn / 10);
        const usableUntil = started / 1000 + fetched.expiresIn - margin;
        if (this.#entries.get(key) === exchanged) this.#entries.set(key, exchanged, usableUntil);
        return fetched.accessToken;
      },
      (err: unknown) => {
        if (this.#entries.get(key) === exchanged) this.#entries.delete(key);
        throw err;
      },
    );
    // In flight: held for the request's own timeout at most, then replaced on resolution.
    this.#entries.set(key, exchanged, started / 1000 + 60);
    return exchanged;
  }

  /** Drops a cached token a resource server refused (e.g. it was revoked); a newer one stays. */
  invalidate(subjectToken: string, audience: string, scopes: readonly string[], token: string): void {
    const key = cacheKey(subjectToken, audience, [...new Set(scopes)].sort());
    const entry = this.#entries.get(key);
    entry
      ?.then((held) => {
        if (held === token && this.#entries.get(key) === entry) this.#entries.delete(key);
      })
      .catch(() => {});
  }
}
