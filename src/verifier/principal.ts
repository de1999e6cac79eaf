import type { AccessTokenClaims } from "./access-token-claims.js";

/** Who is calling, as proven by a verified access token. Reaches handlers through the interceptors. */
export interface Principal {
  /** The calling client (`client_id`). */
  readonly clientId: string;
  /** The token's subject (`sub`); the client id for client_credentials tokens. */
  readonly subject: string;
  /** The audience the token was issued for. */
  readonly audience: string;
  /** The token's scopes. */
  readonly scopes: ReadonlySet<string>;
  /**
   * Who acts for `subject` (RFC 8693 `act`), the current actor (= clientId)
   * first, then the prior actors; empty when the client calls for itself.
   * A service that received a call through B from A sees subject "A",
   * actors ["B"].
   */
  readonly actors: readonly string[];
  /** All verified claims. */
  readonly claims: AccessTokenClaims;
}

export function principalOf(claims: AccessTokenClaims): Principal {
  return Object.freeze({
    clientId: claims.clientId,
    subject: claims.sub,
    audience: claims.aud,
    scopes: new Set(claims.scopes),
    actors: claims.actors,
    claims,
  });
}
