import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from "../config/types.js";
import { inSpan, tracer } from "../internal/library-telemetry.js";
import { InvalidGrantError, InvalidRequestError, UnauthorizedClientError, UnsupportedGrantTypeError } from "../errors/tessera-error.js";
import type { RegisteredClient } from "../registry/registered-client.js";
import { authenticateClient, consumeClientAssertion } from "./client-authentication/authenticate-client.js";
import { authorizeTarget, checkTargetSyntax, type TargetRequest } from "./authorize-request.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { verifyJwtBearerGrant } from "./jwt-bearer-grant.js";
import { mintAccessToken, type MintedToken } from "./mint-access-token.js";
import { exchangeToken, TOKEN_TYPE_ACCESS_TOKEN } from "./token-exchange.js";
import type { WorkloadIdentity } from "./workload-token.js";

/** A token request, transport-neutral. */
export interface IssueTokenInput extends TargetRequest {
  grantType: string;
  credentials: ClientCredentialsInput;
  /** The RFC 7523 §2.1 authorization grant, for the jwt-bearer grant type. */
  assertion?: string | undefined;
  /** Token exchange (RFC 8693 §2.1): the token the client acts on. */
  subjectToken?: string | undefined;
  subjectTokenType?: string | undefined;
  actorToken?: string | undefined;
  actorTokenType?: string | undefined;
  requestedTokenType?: string | undefined;
}

/** The token response (RFC 6749 §5.1), and the facts an audit record of the issuance needs. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly scopes: readonly string[];
  readonly audience: string;
  /** The client the token was issued to (`client_id`). */
  readonly clientId: string;
  /** The token's `jti`: what revokes it. */
  readonly jti: string;
  /** Token exchange only: RFC 8693 issued_token_type, always the access-token type. */
  readonly issuedTokenType?: typeof TOKEN_TYPE_ACCESS_TOKEN;
  /**
   * The workload token that stood for the client: its client assertion
   * (workload_identity) or its jwt-bearer grant. The audit fact
   * "authenticated by workload token of issuer X, subject Y".
   */
  readonly workload?: WorkloadIdentity;
  /** Token exchange only: on whose behalf (`sub`), through whom (`act`, the client first), from which subject token (its jti). */
  readonly delegation?: { readonly subject: string; readonly actors: readonly string[]; readonly subjectTokenId: string };
}

const EXCHANGE_PARAMETERS = ["subjectToken", "subjectTokenType", "actorToken", "actorTokenType", "requestedTokenType"] as const;

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
  if (grantType === GRANT_TOKEN_EXCHANGE) {
    if (input.assertion) throw new InvalidRequestError("assertion is not a parameter of the token-exchange grant");
    const exchanged = await exchangeToken(ctx, input);
    const { subject, actors, subjectTokenId } = exchanged;
    const token = issued(ctx, exchanged.minted, exchanged.client, {
      grantType: GRANT_TOKEN_EXCHANGE,
      authMethod: exchanged.authMethod,
      source: input.credentials.source,
      workload: exchanged.workload,
      delegation: { subject, actors, subjectTokenId },
    });
    return { ...token, issuedTokenType: TOKEN_TYPE_ACCESS_TOKEN };
  }
  if (EXCHANGE_PARAMETERS.some((name) => input[name] !== undefined)) {
    throw new InvalidRequestError("subject_token, actor_token and their types are parameters of the token-exchange grant only");
  }
  if (grantType === GRANT_JWT_BEARER) {
    if (!ctx.trustedIssuers.enabled) throw new UnsupportedGrantTypeError("the jwt-bearer grant is not enabled on this server");
    return jwtBearer(ctx, input);
  }
  if (grantType !== GRANT_CLIENT_CREDENTIALS) throw new UnsupportedGrantTypeError("unsupported grant_type");
  if (input.assertion) throw new InvalidRequestError("assertion is not a parameter of the client_credentials grant");
  const checked = checkTargetSyntax(input);

  const authenticated = await authenticateClient(ctx, input.credentials);
  const { client } = authenticated;
  if (!client.grantTypes.includes(GRANT_CLIENT_CREDENTIALS)) {
    throw new UnauthorizedClientError("the client may not use the client_credentials grant");
  }
  const target = authorizeTarget(client, input, checked);
  // A secret leaves nothing to consume: no promise to wait for.
  if (authenticated.assertionReplayKey !== undefined) await consumeClientAssertion(ctx, authenticated);
  return issued(ctx, mintAccessToken(ctx, client, target), client, {
    grantType: GRANT_CLIENT_CREDENTIALS,
    authMethod: authenticated.method,
    source: input.credentials.source,
    workload: authenticated.workload,
  });
}

async function jwtBearer(ctx: IssuerContext, input: IssueTokenInput): Promise<IssuedToken> {
  const checked = checkTargetSyntax(input);
  const grant = await verifyJwtBearerGrant(ctx, input.assertion, input.credentials);
  const target = authorizeTarget(grant.client, input, checked);
  if (grant.authenticated !== undefined) await consumeClientAssertion(ctx, grant.authenticated);
  if (grant.replayKey !== undefined && !(await ctx.replay.claim(grant.replayKey.key, grant.replayKey.expiresAt))) {
    throw new InvalidGrantError("the assertion has already been used");
  }
  return issued(ctx, mintAccessToken(ctx, grant.client, target), grant.client, {
    grantType: GRANT_JWT_BEARER,
    authMethod: grant.authenticated?.method ?? "none",
    source: input.credentials.source,
    workload: grant.workload,
  });
}

/** What the audit record of an issuance says besides the token itself. */
interface IssuanceFacts {
  readonly grantType: string;
  readonly authMethod: string;
  readonly source: string | undefined;
  readonly workload: WorkloadIdentity | undefined;
  readonly delegation?: IssuedToken["delegation"];
}

function issued(ctx: IssuerContext, minted: MintedToken, client: RegisteredClient, facts: IssuanceFacts): IssuedToken {
  const { workload, delegation } = facts;
  ctx.events?.tokenIssued({
    clientId: client.id,
    audience: minted.audience,
    scopes: minted.scopes,
    jti: minted.jti,
    kid: minted.kid,
    grantType: facts.grantType,
    authMethod: facts.authMethod,
    source: facts.source,
    expiresAt: minted.expiresAt,
    ...(workload === undefined ? {} : { workload }),
    ...(delegation === undefined ? {} : { delegation }),
  });
  return {
    accessToken: minted.accessToken,
    tokenType: "Bearer",
    expiresIn: minted.expiresIn,
    scopes: minted.scopes,
    audience: minted.audience,
    clientId: client.id,
    jti: minted.jti,
    ...(workload === undefined ? {} : { workload }),
    ...(delegation === undefined ? {} : { delegation }),
  };
}
