import { inSpan, tracer } from "../internal/library-telemetry.js";
import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER } from "../config/types.js";
import { InvalidGrantError, InvalidRequestError, UnauthorizedClientError, UnsupportedGrantTypeError } from "../errors/tessera-error.js";
import { authenticateClient, consumeClientAssertion } from "./client-authentication/authenticate-client.js";
import { authorizeTarget, checkTargetSyntax, type TargetRequest } from "./authorize-request.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { verifyJwtBearerGrant } from "./jwt-bearer-grant.js";
import { mintAccessToken, type MintedToken } from "./mint-access-token.js";

/** A token request, transport-neutral. */
export interface IssueTokenInput extends TargetRequest {
  grantType: string;
  credentials: ClientCredentialsInput;
  /** The RFC 7523 §2.1 authorization grant, for the jwt-bearer grant type. */
  assertion?: string | undefined;
}

/** The token response (RFC 6749 §5.1). */
export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly scopes: readonly string[];
  readonly audience: string;
}

/**
 * The token endpoint: validates the request, authenticates the client,
 * authorizes audience and scopes against its grant, consumes a client
 * assertion, and only then signs the token.
 */
export function issueToken(ctx: IssuerContext, input: IssueTokenInput): Promise<IssuedToken> {
  return inSpan(tracer(), "tessera.issue_token", {}, async (span) => {
    const issued = await issue(ctx, input);
    span.setAttribute("tessera.audience", issued.audience);
    return issued;
  });
}

async function issue(ctx: IssuerContext, input: IssueTokenInput): Promise<IssuedToken> {
  const grantType = input.grantType || GRANT_CLIENT_CREDENTIALS;
  if (grantType === GRANT_JWT_BEARER) {
    if (!ctx.trustedIssuers.enabled) throw new UnsupportedGrantTypeError("the jwt-bearer grant is not enabled on this server");
    return jwtBearer(ctx, input);
  }
  if (grantType !== GRANT_CLIENT_CREDENTIALS) throw new UnsupportedGrantTypeError("unsupported grant_type");
  if (input.assertion) throw new InvalidRequestError("assertion is not a parameter of the client_credentials grant");
  checkTargetSyntax(input);

  const authenticated = await authenticateClient(ctx, input.credentials);
  const { client } = authenticated;
  if (!client.grantTypes.includes(GRANT_CLIENT_CREDENTIALS)) {
    throw new UnauthorizedClientError("the client may not use the client_credentials grant");
  }
  const target = authorizeTarget(client, input);
  await consumeClientAssertion(ctx, authenticated);
  return issued(ctx, mintAccessToken(ctx, client, target), client.id, GRANT_CLIENT_CREDENTIALS, authenticated.method, input.credentials.source);
}

async function jwtBearer(ctx: IssuerContext, input: IssueTokenInput): Promise<IssuedToken> {
  checkTargetSyntax(input);
  const grant = await verifyJwtBearerGrant(ctx, input.assertion, input.credentials);
  const target = authorizeTarget(grant.client, input);
  if (grant.authenticated !== undefined) await consumeClientAssertion(ctx, grant.authenticated);
  if (!(await ctx.replay.claim(grant.replayKey.key, grant.replayKey.expiresAt))) {
    throw new InvalidGrantError("the assertion has already been used");
  }
  const method = grant.authenticated?.method ?? "none";
  return issued(ctx, mintAccessToken(ctx, grant.client, target), grant.client.id, GRANT_JWT_BEARER, method, input.credentials.source);
}

function issued(ctx: IssuerContext, minted: MintedToken, clientId: string, grantType: string, authMethod: string, source: string | undefined): IssuedToken {
  ctx.events?.tokenIssued({
    clientId,
    audience: minted.audience,
    scopes: minted.scopes,
    jti: minted.jti,
    kid: minted.kid,
    grantType,
    authMethod,
    source,
    expiresAt: minted.expiresAt,
  });
  return { accessToken: minted.accessToken, tokenType: "Bearer", expiresIn: minted.expiresIn, scopes: minted.scopes, audience: minted.audience };
}
