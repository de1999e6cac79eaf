import { InvalidRequestError, UnauthorizedClientError } from "../errors/tessera-error.js";
import { authenticateClient, consumeClientAssertion } from "./authenticate-client.js";
import type { ClientCredentialsInput } from "./client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { verifyOwnToken } from "./own-token.js";

export interface IntrospectInput {
  credentials: ClientCredentialsInput;
  token: string | undefined;
  tokenTypeHint?: string | undefined;
}

/** RFC 7662 §2.2 response. An inactive token is exactly `{ active: false }`. */
export type IntrospectionResult =
  | { readonly active: false }
  | {
      readonly active: true;
      readonly scope: string;
      readonly client_id: string;
      readonly token_type: "Bearer";
      readonly exp: number;
      readonly iat: number;
      readonly nbf?: number;
      readonly sub: string;
      readonly aud: string;
      readonly iss: string;
      readonly jti: string;
    };

export const INACTIVE: IntrospectionResult = Object.freeze({ active: false });

/**
 * Token introspection (RFC 7662). The caller authenticates as a client that
 * may introspect, and learns about a token only if the token was issued for
 * one of its own audiences; anything else is `{ active: false }`. The
 * deny-list is consulted, and its failure is an error, never "inactive".
 */
export async function introspectToken(ctx: IssuerContext, input: IntrospectInput): Promise<IntrospectionResult> {
  if (input.token === undefined) throw new InvalidRequestError("token is missing");
  const authenticated = await authenticateClient(ctx, input.credentials);
  if (!authenticated.client.introspection) throw new UnauthorizedClientError("the client may not introspect tokens");
  await consumeClientAssertion(ctx, authenticated);

  const claims = await verifyOwnToken(ctx, input.token);
  if (claims === undefined || !authenticated.client.resourceAudiences.has(claims.aud)) return INACTIVE;
  if (await ctx.denyList.isRevoked(claims.iss, claims.jti)) return INACTIVE;
  return {
    active: true,
    scope: claims.scopes.join(" "),
    client_id: claims.clientId,
    token_type: "Bearer",
    exp: claims.exp,
    iat: claims.iat,
    ...(claims.nbf !== undefined ? { nbf: claims.nbf } : {}),
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    jti: claims.jti,
  };
}
