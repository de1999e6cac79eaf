/** OAuth 2.0 error codes (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009, RFC 8707) that Tessera answers with. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_token_type"
  | "invalid_scope"
  | "invalid_target"
  | "invalid_token"
  | "insufficient_scope"
  | "slow_down"
  | "temporarily_unavailable"
  | "server_error";

/**
 * gRPC status codes used by the error model. The numbers are fixed by the gRPC
 * protocol, so grpc-js and Connect share them.
 */
export const GrpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** Which HTTP authentication scheme a 401/403 answer challenges with. */
export type AuthChallenge = "Basic" | "Bearer";

interface ErrorShape {
  readonly code: string;
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly grpcCode: GrpcCode;
}

/**
 * The one error model of Tessera. Every failure the service reports is a
 * subclass with a stable `ERR_*` code, the OAuth error name, the HTTP status and
 * the gRPC code; transports map it once (to-http.ts, to-grpc.ts, to-connect.ts).
 * Messages are written for the caller and never contain a secret or a token.
 *
 * @example
 * ```ts
 * import { TesseraError } from "tessera";
 *
 * try {
 *   await verifier.verify(token);
 * } catch (err) {
 *   if (!(err instanceof TesseraError)) throw err;
 *   console.warn(err.code, err.error, err.status, err.grpcCode); // e.g. ERR_INVALID_TOKEN invalid_token 401 16
 * }
 * ```
 */
export abstract class TesseraError extends Error {
  /** Stable machine-readable code, e.g. `ERR_INVALID_CLIENT`. */
  readonly code: string;
  /** OAuth error name for the `error` member. */
  readonly error: OAuthErrorCode;
  /** HTTP status of the OAuth surface. */
  readonly status: number;
  /** gRPC status code of the gRPC and Connect surfaces. */
  readonly grpcCode: GrpcCode;
  /** Seconds after which a retry makes sense (429, 503). */
  readonly retryAfterSeconds: number | undefined;
  /** The `WWW-Authenticate` scheme to challenge with, if any. */
  readonly challenge: AuthChallenge | undefined;
  /** For insufficient_scope: the scopes the resource requires. */
  readonly requiredScopes: readonly string[];
  /** For insufficient_scope: the audience the resource requires. */
  readonly requiredAudience: string | undefined;

  protected constructor(shape: ErrorShape, description: string, extra: ErrorExtra = {}) {
    super(description);
    this.name = new.target.name;
    this.code = shape.code;
    this.error = shape.error;
    this.status = shape.status;
    this.grpcCode = shape.grpcCode;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.challenge = extra.challenge;
    this.requiredScopes = extra.requiredScopes ?? [];
    this.requiredAudience = extra.requiredAudience;
  }
}

interface ErrorExtra {
  retryAfterSeconds?: number | undefined;
  challenge?: AuthChallenge | undefined;
  requiredScopes?: readonly string[] | undefined;
  requiredAudience?: string | undefined;
}

/**
 * Malformed request: a missing, repeated or invalid parameter.
 *
 * @example
 * ```ts
 * import { InvalidRequestError } from "tessera";
 *
 * if (!request.resource) throw new InvalidRequestError("resource is required"); // 400 / INVALID_ARGUMENT
 * ```
 */
export class InvalidRequestError extends TesseraError {
  constructor(description: string) {
    super({ code: "ERR_INVALID_REQUEST", error: "invalid_request", status: 400, grpcCode: GrpcCode.INVALID_ARGUMENT }, description);
  }
}

/**
 * Client authentication failed. The description is the same whatever the
 * reason, so that an unknown client and a wrong secret are indistinguishable.
 *
 * @example
 * ```ts
 * import { InvalidClientError } from "tessera";
 *
 * // What a TokenSource rejects with when the token service refuses the client's credentials.
 * tokens.get("https://files.internal", ["file.view"]).catch((err) => {
 *   if (err instanceof InvalidClientError) console.error("check the client id and secret");
 * });
 * ```
 */
export class InvalidClientError extends TesseraError {
  /**
   * Why, for the operator's log, audit stream and metrics (e.g. `auth_method_mismatch`): never sent to
   * the client, whose answer stays the same whatever the reason.
   */
  readonly reason: string;
  /** The reason in a sentence for the operator, without any secret. */
  readonly detail: string | undefined;

  constructor(options: { basicChallenge?: boolean; reason?: string; detail?: string } = {}) {
    super({ code: "ERR_INVALID_CLIENT", error: "invalid_client", status: 401, grpcCode: GrpcCode.UNAUTHENTICATED }, "client authentication failed", {
      challenge: options.basicChallenge ? "Basic" : undefined,
    });
    this.reason = options.reason ?? "invalid_credentials";
    this.detail = options.detail;
  }
}

/**
 * The authorization grant (e.g. a JWT-bearer assertion) is invalid.
 *
 * @example
 * ```ts
 * import { InvalidGrantError } from "tessera";
 *
 * if (err instanceof InvalidGrantError) console.error("the assertion was refused:", err.message);
 * ```
 */
export class InvalidGrantError extends TesseraError {
  constructor(description: string) {
    super({ code: "ERR_INVALID_GRANT", error: "invalid_grant", status: 400, grpcCode: GrpcCode.INVALID_ARGUMENT }, description);
  }
}

/**
 * The client may not use this grant type.
 *
 * @example
 * ```ts
 * import { UnauthorizedClientError } from "tessera";
 *
 * if (err instanceof UnauthorizedClientError) console.error("this client may not use that grant type");
 * ```
 */
export class UnauthorizedClientError extends TesseraError {
  constructor(description: string) {
    super({ code: "ERR_UNAUTHORIZED_CLIENT", error: "unauthorized_client", status: 400, grpcCode: GrpcCode.PERMISSION_DENIED }, description);
  }
}

/**
 * The grant type is not supported by this server.
 *
 * @example
 * ```ts
 * import { UnsupportedGrantTypeError } from "tessera";
 *
 * if (err instanceof UnsupportedGrantTypeError) console.error(err.error); // "unsupported_grant_type"
 * ```
 */
export class UnsupportedGrantTypeError extends TesseraError {
  constructor(description: string) {
    super({ code: "ERR_UNSUPPORTED_GRANT_TYPE", error: "unsupported_grant_type", status: 400, grpcCode: GrpcCode.INVALID_ARGUMENT }, description);
  }
}

/** Options of InvalidScopeError and InvalidTargetError. */
export interface RefusedTargetOptions {
  /** The request is malformed (INVALID_ARGUMENT) rather than outside the grant (PERMISSION_DENIED). */
  malformed?: boolean;
  /**
   * What the RPC the token was wanted for requires: set by the client
   * interceptors when the token service refused the token they asked for, so
   * that the caller reads the same details as from a resource server's
   * insufficient_scope.
   */
  required?: { scopes: readonly string[]; audience?: string };
}

/**
 * A requested scope is malformed (INVALID_ARGUMENT) or outside the client's
 * grant (PERMISSION_DENIED). Never answered by silently dropping the scope.
 *
 * @example
 * ```ts
 * import { InvalidScopeError } from "tessera";
 *
 * // A client interceptor asked for scopes outside the client's grant: the RPC fails before it is sent.
 * if (err instanceof InvalidScopeError) console.error("grant these scopes:", err.requiredScopes);
 * ```
 */
export class InvalidScopeError extends TesseraError {
  constructor(description: string, options: RefusedTargetOptions = {}) {
    super(
      {
        code: "ERR_INVALID_SCOPE",
        error: "invalid_scope",
        status: 400,
        grpcCode: options.malformed ? GrpcCode.INVALID_ARGUMENT : GrpcCode.PERMISSION_DENIED,
      },
      description,
      { requiredScopes: options.required?.scopes, requiredAudience: options.required?.audience },
    );
  }
}

/**
 * The resource (RFC 8707) is malformed (INVALID_ARGUMENT) or not granted (PERMISSION_DENIED).
 *
 * @example
 * ```ts
 * import { InvalidTargetError } from "tessera";
 *
 * if (err instanceof InvalidTargetError) console.error("no grant for audience", err.requiredAudience);
 * ```
 */
export class InvalidTargetError extends TesseraError {
  constructor(description: string, options: RefusedTargetOptions = {}) {
    super(
      {
        code: "ERR_INVALID_TARGET",
        error: "invalid_target",
        status: 400,
        grpcCode: options.malformed ? GrpcCode.INVALID_ARGUMENT : GrpcCode.PERMISSION_DENIED,
      },
      description,
      { requiredScopes: options.required?.scopes, requiredAudience: options.required?.audience },
    );
  }
}

/**
 * A resource server got no token (`tokenSent: false`) or a bad one.
 *
 * @example
 * ```ts
 * import { InvalidTokenError } from "tessera";
 *
 * try {
 *   await verifier.verify(token);
 * } catch (err) {
 *   if (err instanceof InvalidTokenError) return reply(401, err.tokenSent ? "bad token" : "no token");
 *   throw err;
 * }
 * ```
 */
export class InvalidTokenError extends TesseraError {
  /** False when the request carried no token at all (RFC 6750 §3.1: no error code in the challenge). */
  readonly tokenSent: boolean;
  constructor(description: string, options: { tokenSent?: boolean } = {}) {
    super({ code: "ERR_INVALID_TOKEN", error: "invalid_token", status: 401, grpcCode: GrpcCode.UNAUTHENTICATED }, description, { challenge: "Bearer" });
    this.tokenSent = options.tokenSent ?? true;
  }
}

/**
 * A valid token that lacks the audience or scopes the resource requires.
 *
 * @example
 * ```ts
 * import { InsufficientScopeError } from "tessera";
 *
 * if (!principal.scopes.includes("file.delete")) {
 *   throw new InsufficientScopeError("file.delete required", { scopes: ["file.delete"], audience: "files" });
 * }
 * ```
 */
export class InsufficientScopeError extends TesseraError {
  constructor(description: string, required: { scopes: readonly string[]; audience?: string }) {
    super({ code: "ERR_INSUFFICIENT_SCOPE", error: "insufficient_scope", status: 403, grpcCode: GrpcCode.PERMISSION_DENIED }, description, {
      challenge: "Bearer",
      requiredScopes: required.scopes,
      requiredAudience: required.audience,
    });
  }
}

/** A named thing (e.g. a service in a health check) does not exist. */
export class NotFoundError extends TesseraError {
  constructor(description: string) {
    super({ code: "ERR_NOT_FOUND", error: "invalid_request", status: 404, grpcCode: GrpcCode.NOT_FOUND }, description);
  }
}

/** The request body exceeds the size limit (HTTP 413). */
export class PayloadTooLargeError extends TesseraError {
  constructor(limitBytes: number) {
    super(
      { code: "ERR_PAYLOAD_TOO_LARGE", error: "invalid_request", status: 413, grpcCode: GrpcCode.RESOURCE_EXHAUSTED },
      `request body larger than ${limitBytes} bytes`,
    );
  }
}

/**
 * Too many requests (failed attempts from one source, or a client over its rate): slow down (429, RESOURCE_EXHAUSTED).
 *
 * @example
 * ```ts
 * import { RateLimitedError } from "tessera";
 *
 * if (err instanceof RateLimitedError) setTimeout(retry, (err.retryAfterSeconds ?? 1) * 1000);
 * ```
 */
export class RateLimitedError extends TesseraError {
  constructor(retryAfterSeconds: number, description = "too many failed attempts, retry later") {
    super({ code: "ERR_RATE_LIMITED", error: "slow_down", status: 429, grpcCode: GrpcCode.RESOURCE_EXHAUSTED }, description, { retryAfterSeconds });
  }
}

/**
 * A dependency the answer relies on (Redis, the key store) is unavailable.
 * Never reported as invalid_client, invalid_token or inactive: that would turn
 * an outage into a wrong security answer.
 *
 * @example
 * ```ts
 * import { TemporarilyUnavailableError } from "tessera";
 *
 * // Fail closed: an outage is neither a valid nor an invalid token.
 * if (err instanceof TemporarilyUnavailableError) return reply(503, { retryAfter: err.retryAfterSeconds });
 * ```
 */
export class TemporarilyUnavailableError extends TesseraError {
  constructor(description: string, retryAfterSeconds = 1) {
    super({ code: "ERR_TEMPORARILY_UNAVAILABLE", error: "temporarily_unavailable", status: 503, grpcCode: GrpcCode.UNAVAILABLE }, description, {
      retryAfterSeconds,
    });
  }
}

/**
 * An unexpected failure; the description is generic so that no internal detail leaks.
 *
 * @example
 * ```ts
 * import { ServerError } from "tessera";
 *
 * throw new ServerError(); // 500 / INTERNAL, "internal error": nothing internal leaks
 * ```
 */
export class ServerError extends TesseraError {
  constructor(description = "internal error") {
    super({ code: "ERR_SERVER_ERROR", error: "server_error", status: 500, grpcCode: GrpcCode.INTERNAL }, description);
  }
}

/**
 * The error to report for anything thrown: Tessera errors as they are, anything else as a generic server_error.
 *
 * @example
 * ```ts
 * import { asTesseraError, toHttpError } from "tessera";
 *
 * const { status, headers, body } = toHttpError(asTesseraError(thrown));
 * ```
 */
export function asTesseraError(err: unknown): TesseraError {
  return err instanceof TesseraError ? err : new ServerError();
}
