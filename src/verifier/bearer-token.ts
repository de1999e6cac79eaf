import { InvalidRequestError, InvalidTokenError } from "../errors/tessera-error.js";

/**
 * The `authorization` of a request as a transport has it: one value, every
 * value it received (gRPC metadata, raw HTTP headers), or none.
 */
export type AuthorizationHeader = string | readonly string[] | null | undefined;

const TWO_CREDENTIALS = "the request carries more than one authorization header; send exactly one";

/**
 * The one `authorization` value of a request, or undefined when there is
 * none. Two values, or one that joins several with a comma (as HTTP
 * intermediaries and fetch Headers combine repeated fields), are refused as
 * invalid_request: a verifier never picks one of two credentials. A bearer
 * token (b64token) never contains a comma.
 */
export function singleAuthorization(authorization: AuthorizationHeader): string | undefined {
  if (authorization === null || authorization === undefined) return undefined;
  let value: string | undefined;
  if (typeof authorization === "string") value = authorization;
  else {
    if (authorization.length > 1) throw new InvalidRequestError(TWO_CREDENTIALS);
    value = authorization[0];
  }
  if (value?.includes(",")) throw new InvalidRequestError(TWO_CREDENTIALS);
  return value;
}

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer token of an `authorization` header value (RFC 6750 §2.1), or
 * undefined when there is none. A malformed header or another scheme is
 * refused as invalid_token, two credentials as invalid_request; no token at
 * all is reported by the caller.
 *
 * @example
 * ```ts
 * import { bearerToken } from "tessera";
 *
 * const token = bearerToken(req.headers.authorization); // undefined: no token; throws InvalidTokenError if malformed
 * if (token !== undefined) console.log((await verifier.verify(token)).scopes);
 * ```
 */
export function bearerToken(authorization: AuthorizationHeader): string | undefined {
  const token = bearerCredential(authorization);
  if (token !== undefined && !isBearerTokenSyntax(token)) throw new InvalidTokenError("the bearer token is malformed");
  return token;
}

/**
 * The credentials of a Bearer `authorization` header, scheme checked but not
 * their syntax (see isBearerTokenSyntax): a verifier that already knows the
 * exact string skips the scan. Two credentials → InvalidRequestError.
 */
export function bearerCredential(header: AuthorizationHeader): string | undefined {
  const authorization = singleAuthorization(header);
  if (authorization === undefined || authorization === "") return undefined;
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
