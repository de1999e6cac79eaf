import type { JSONWebKeySet } from "jose";
import { checkedTransportUrl, fetchFailureReason, printableUrl } from "../internal/http-target.js";

/** Options of httpJwksFetcher. */
export interface HttpJwksFetcherOptions {
  /** Abort the request after this long. Default 5 s. */
  timeoutMs?: number;
  /** Refuse a response body larger than this. Default 256 KiB. */
  maxBytes?: number;
  /**
   * Fetch over cleartext HTTP from a host that is not loopback. Default
   * false: such a URL is refused when the fetcher is created, because whoever
   * answers a cleartext request can publish keys and mint accepted tokens.
   */
  allowInsecure?: boolean;
}

/** Why a JWKS fetch failed, naming the URL (never its user info or query); the original failure is its `cause`. */
export class JwksFetchError extends Error {
  constructor(url: URL, reason: string, options: { cause?: unknown } = {}) {
    super(`JWKS fetch from ${printableUrl(url)} failed: ${reason}`, options);
    this.name = "JwksFetchError";
  }
}

/**
 * Fetches a JWK Set over HTTPS (or HTTP to loopback, unless `allowInsecure`)
 * with a timeout and a size cap, and checks its shape. Redirects are not
 * followed: a key source must answer where it was configured. Failures
 * reject with JwksFetchError.
 *
 * @example
 * ```ts
 * import { RemoteKeySet, httpJwksFetcher } from "tessera";
 *
 * const keys = new RemoteKeySet({ fetch: httpJwksFetcher("https://tessera.internal/.well-known/jwks.json", { timeoutMs: 2000 }) });
 * ```
 */
export function httpJwksFetcher(url: string, options: HttpJwksFetcherOptions = {}): () => Promise<JSONWebKeySet> {
  const target = checkedTransportUrl(url, "a JWKS fetch", options.allowInsecure === true);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? 256 * 1024;
  return async () => {
    let response: Response;
    try {
      response = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), redirect: "error", headers: { accept: "application/json" } });
    } catch (err) {
      throw new JwksFetchError(target, fetchFailureReason(err), { cause: err });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new JwksFetchError(target, `HTTP ${response.status}`);
    }
    if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
      await response.body?.cancel();
      throw new JwksFetchError(target, `the response is too large (over ${maxBytes} bytes)`);
    }
    const reader = response.body?.getReader();
    if (reader === undefined) throw new JwksFetchError(target, "the response has no body");
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel();
          throw new JwksFetchError(target, `the response is too large (over ${maxBytes} bytes)`);
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof JwksFetchError) throw err;
      throw new JwksFetchError(target, fetchFailureReason(err), { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (err) {
      throw new JwksFetchError(target, "the response is not JSON", { cause: err });
    }
    if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
      throw new JwksFetchError(target, "the response is not a JWK Set");
    }
    return parsed as JSONWebKeySet;
  };
}
