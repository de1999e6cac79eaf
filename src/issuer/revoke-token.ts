import { inSpan, tracer } from "../internal/library-telemetry.js";
import { InvalidRequestError, UnauthorizedClientError } from "../errors/tessera-error.js";
import { authenticateClient, consumeClientAssertion } from "./client-authentication/authenticate-client.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "./issuer-context.js";
import { refuseIfOverClientRate } from "./client-authentication/limit-client-rate.js";
import { verifyOwnToken } from "./own-token.js";

export interface RevokeInput {
  credentials: ClientCredentialsInput;
  token: string | undefined;
  tokenTypeHint?: string | undefined;
}

/**
 * Token revocation (RFC 7009). A client revokes only tokens issued to itself,
 * within its revocation rate;
 * an unknown, malformed or expired token is accepted silently (§2.2). The
 * revocation is keyed on (iss, jti), kept until the token expires, and the
 * call resolves only after the deny-list write succeeded.
 */
export function revokeToken(ctx: IssuerContext, input: RevokeInput): Promise<void> {
  return inSpan(tracer(), "tessera.revoke", {}, () => revoke(ctx, input));
}

async function revoke(ctx: IssuerContext, input: RevokeInput): Promise<void> {
  if (input.token === undefined) throw new InvalidRequestError("token is missing");
  const authenticated = await authenticateClient(ctx, input.credentials);
  await refuseIfOverClientRate(ctx, "revocations", authenticated.client.id);
  await consumeClientAssertion(ctx, authenticated);

  const claims = await verifyOwnToken(ctx, input.token, { clockToleranceSeconds: CLOCK_SKEW_SECONDS });
  if (claims === undefined) return;
  if (claims.clientId !== authenticated.client.id) {
    throw new UnauthorizedClientError("a client may revoke only its own tokens");
  }
  await ctx.denyList.revoke(claims.iss, claims.jti, claims.exp + CLOCK_SKEW_SECONDS);
  ctx.events?.tokenRevoked({ clientId: authenticated.client.id, jti: claims.jti, audience: claims.aud, source: input.credentials.source });
}
