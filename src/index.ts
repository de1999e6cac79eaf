// tessera: verifying access tokens, the auth rules declared in .proto options, and the error model;
// shared by both interceptor flavours. Getting tokens: tessera/client. Interceptors: tessera/connect,
// tessera/grpc. The token service: tessera/server. The generated tessera.v1 code:
// tessera/gen/tessera/v1/*_pb.js. Every export is named here; api/public-api.md lists them.
export {
  TesseraError,
  InvalidRequestError,
  InvalidClientError,
  InvalidGrantError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  InvalidScopeError,
  InvalidTargetError,
  InvalidTokenError,
  InsufficientScopeError,
  RateLimitedError,
  TemporarilyUnavailableError,
  ServerError,
  asTesseraError,
} from "./errors/tessera-error.js";
export type { OAuthErrorCode, GrpcCode, AuthChallenge, RefusedTargetOptions } from "./errors/tessera-error.js";
export { toHttpError, wwwAuthenticate } from "./errors/to-http.js";
export type { HttpErrorResponse } from "./errors/to-http.js";

export type { Clock } from "./internal/clock.js";

export { TokenVerifier } from "./verifier/token-verifier.js";
export type { RevocationStatus, TokenVerifierOptions, VerificationKeySource } from "./verifier/token-verifier.js";
export { verifyAccessToken } from "./verifier/verify-access-token.js";
export type { VerifyAccessTokenOptions, VerificationKeyResolver } from "./verifier/verify-access-token.js";
export type { AccessTokenClaims } from "./verifier/access-token-claims.js";
export type { Principal } from "./verifier/principal.js";
export { bearerToken } from "./verifier/bearer-token.js";
export type { AuthorizationHeader } from "./verifier/bearer-token.js";
export { remoteVerifier } from "./verifier/remote-verifier.js";
export type { RemoteVerifierOptions } from "./verifier/remote-verifier.js";
export { RemoteKeySet } from "./keys/remote-key-set.js";
export type { RemoteKeySetOptions, JwksFetcher } from "./keys/remote-key-set.js";
export { httpJwksFetcher } from "./keys/http-jwks-fetcher.js";
export type { HttpJwksFetcherOptions } from "./keys/http-jwks-fetcher.js";
export type { FeedPosition, RevocationEvent, RevocationFeed, RevocationSubscriberHooks } from "./store/types.js";

export { AuthRuleError } from "./policy/read-auth-rules.js";
export { rulesByPath, servicesFromDescriptorSet } from "./policy/rules-by-path.js";
export type { RulesByPath } from "./policy/rules-by-path.js";
export type { ResolvedAuthRule, RuleSource } from "./policy/auth-rule.js";
