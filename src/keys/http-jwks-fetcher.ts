import type { JSONWebKeySet } from "jose";

/** Options of httpJwksFetcher. */
export interface HttpJwksFetcherOptions {
  /** Abort the request after this long. Default 5 s. */
  timeoutMs?: number;
  /** Refuse a response body larger than this. Default 256 KiB. */
  maxBytes?: number;
}

/**
 * Fetches a JWK Set over HTTP(S) with a timeout and a size cap, and checks its
 * shape. Redirects are not followed: a key source must answer where it was configured.
 *
 * @example
 * ```ts
 * import { RemoteKeySet, httpJwksFetcher } from "tessera";
 *
 * const keys = new RemoteKeySet({ fetch: httpJwksFetcher("https://tessera.internal/.well-known/jwks.json", { timeoutMs: 2000 }) });
 * ```
 */
export function httpJwksFetcher(url: string, options: HttpJwksFetcherOptions = {}): () => Promise<JSONWebKeySet> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? 256 * 1024;
  return async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "error", headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`JWKS fetch failed with HTTP ${response.status}`);
    if (Number(response.headers.get("content-length") ?? 0) > maxBytes) throw new Error("JWKS response too large");
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error("JWKS response has no body");
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new Error("JWKS response too large");
      }
      chunks.push(value);
    }
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
      throw new Error("JWKS response is not a JWK Set");
    }
    return parsed as JSONWebKeySet;
  };
}
