import {
  InvalidClientError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  RateLimitedError,
  TemporarilyUnavailableError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  type TesseraError,
} from "./tessera-error.js";

/**
 * The error model's class for an OAuth error answer received from a token
 * service (the client side of to-http.ts), so that callers see the same codes
 * whichever side failed.
 */
export function errorFromOAuthResponse(status: number, body: { error?: unknown; error_description?: unknown }, retryAfterSeconds?: number): TesseraError {
  const description = typeof body.error_description === "string" ? body.error_description : `token service answered HTTP ${status}`;
  switch (body.error) {
    case "invalid_client":
      return new InvalidClientError();
    case "invalid_scope":
      return new InvalidScopeError(description);
    case "invalid_target":
      return new InvalidTargetError(description);
    case "unauthorized_client":
      return new UnauthorizedClientError(description);
    case "invalid_grant":
      return new InvalidGrantError(description);
    case "unsupported_grant_type":
      return new UnsupportedGrantTypeError(description);
    case "invalid_request":
      return new InvalidRequestError(description);
    case "slow_down":
      return new RateLimitedError(retryAfterSeconds ?? 1);
    default:
      if (status === 429) return new RateLimitedError(retryAfterSeconds ?? 1);
      if (status >= 500 || body.error === "temporarily_unavailable")
        return new TemporarilyUnavailableError(`token service unavailable: ${description}`, retryAfterSeconds);
      return new InvalidRequestError(description);
  }
}
