export type { ClientRateLimits, IssuerContext } from "./issuer-context.js";
export { CLOCK_SKEW_SECONDS, MAX_ASSERTION_LIFETIME_SECONDS } from "./issuer-context.js";
export { parseBasicAuthorization, type ClientCredentialsInput } from "./client-credentials-input.js";
export { authenticateClient, consumeClientAssertion, CLIENT_ASSERTION_TYPE, type AuthenticatedClient } from "./authenticate-client.js";
export { authorizeTarget, parseScopeString, type AuthorizedTarget, type TargetRequest } from "./authorize-request.js";
export { issueToken, type IssueTokenInput, type IssuedToken } from "./issue-token.js";
export { introspectToken, INACTIVE, type IntrospectInput, type IntrospectionResult } from "./introspect-token.js";
export { revokeToken, type RevokeInput } from "./revoke-token.js";
export { getJwks } from "./get-jwks.js";
