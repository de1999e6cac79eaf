import { httpJwksFetcher } from "../keys/http-jwks-fetcher.js";
import { RemoteKeySet } from "../keys/remote-key-set.js";
import { TokenVerifier, type TokenVerifierOptions } from "./token-verifier.js";

/** Options of remoteVerifier: where the issuer is, and the TokenVerifier options. */
export interface RemoteVerifierOptions extends Omit<TokenVerifierOptions, "keys"> {
  /** The issuer's JWKS. Default: `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Minimum time between two JWKS fetches (unknown-kid refetch included). Default 30 s. */
  jwksCooldownMs?: number;
}

/**
 * A TokenVerifier for a service that is not the token service itself: keys
 * from the issuer's JWKS over HTTP, cached, refetched on an unknown kid at
 * most once per cooldown, the last good set kept when a refresh fails.
 *
 * @example
 * const verifier = remoteVerifier({ issuer: "http://127.0.0.1:8080" });
 * await verifier.start();
 */
export function remoteVerifier(options: RemoteVerifierOptions): TokenVerifier {
  const { jwksUrl, jwksCooldownMs, ...rest } = options;
  const url = jwksUrl ?? `${options.issuer.replace(/\/$/, "")}/.well-known/jwks.json`;
  const keys = new RemoteKeySet({
    fetch: httpJwksFetcher(url),
    ...(jwksCooldownMs !== undefined ? { cooldownMs: jwksCooldownMs } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  return new TokenVerifier({ ...rest, keys });
}
