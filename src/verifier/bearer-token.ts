import { InvalidTokenError } from "../errors/tessera-error.js";

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer token of an `authorization` header value (RFC 6750 §2.1), or
 * undefined when there is none. A malformed header or another scheme is
 * refused as invalid_token; no token at all is reported by the caller.
 *
 * @example
 * ```ts
 * import { bearerToken } from "tessera";
 *
 * const token = bearerToken(req.headers.authorization); // undefined: no token; throws InvalidTokenError if malformed
 * if (token !== undefined) console.log((await verifier.verify(token)).scopes);
 * ```
 */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const token = bearerCredential(authorization);
  if (token !== undefined && !isBearerTokenSyntax(token)) throw new InvalidTokenError("the bearer token is malformed");
  return token;
}

/**
 * The credentials of a Bearer `authorization` header, scheme checked but not
 * their syntax (see isBearerTokenSyntax): a verifier that already knows the
 * exact string skips the scan.
 */
export function bearerCredential(authorization: string | null | undefined): string | undefined {
  if (authorization === null || authorization === undefined || authorization === "") return undefined;
  const space = authorization.indexOf(" ");
  const scheme = space < 0 ? authorization : authorization.slice(0, space);
  if (scheme.length !== 6 || scheme.toLowerCase() !== "bearer") throw new InvalidTokenError("the authorization header must use the Bearer scheme");
  if (space < 0) throw new InvalidTokenError("the bearer token is missing from the authorization header");
  return authorization.slice(space + 1).trim();
}

/** Whether a string is an RFC 6750 §2.1 b64token. */
export function isBearerTokenSyntax(token: string): boolean {
  return B64TOKEN.test(token);
}
