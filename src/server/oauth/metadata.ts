import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE, type TesseraConfig } from "../../config/types.js";
import { ASSERTION_ALGORITHMS } from "../../issuer/client-authentication/authenticate-client.js";
import type { IssuerContext } from "../../issuer/issuer-context.js";

/** Paths of the OAuth endpoints on the HTTP listener. */
export const OAUTH_PATHS = {
  token: "/oauth2/token",
  introspection: "/oauth2/introspect",
  revocation: "/oauth2/revoke",
  jwks: "/.well-known/jwks.json",
  metadata: "/.well-known/oauth-authorization-server",
} as const;

/**
 * Authorization server metadata (RFC 8414), listing only what is really
 * allowed: the grant types enabled here, the four client authentication
 * methods and the assertion algorithms they accept, the token signing algorithm.
 */
export function serverMetadata(ctx: IssuerContext, config: TesseraConfig): Record<string, unknown> {
  const base = ctx.issuer.replace(/\/$/, "");
  const authMethods = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"];
  const authAlgs = [...ASSERTION_ALGORITHMS.client_secret_jwt, ...ASSERTION_ALGORITHMS.private_key_jwt];
  const grantTypes = ctx.trustedIssuers.enabled ? [GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER] : [GRANT_CLIENT_CREDENTIALS];
  if (config.clients.some((c) => c.grantTypes.includes(GRANT_TOKEN_EXCHANGE))) grantTypes.push(GRANT_TOKEN_EXCHANGE);
  return {
    issuer: ctx.issuer,
    token_endpoint: `${base}${OAUTH_PATHS.token}`,
    jwks_uri: `${base}${OAUTH_PATHS.jwks}`,
    introspection_endpoint: `${base}${OAUTH_PATHS.introspection}`,
    revocation_endpoint: `${base}${OAUTH_PATHS.revocation}`,
    grant_types_supported: grantTypes,
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: authAlgs,
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: authAlgs,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: authAlgs,
    access_token_signing_alg_values_supported: [config.signing.algorithm],
  };
}
