import { GRANT_TOKEN_EXCHANGE } from "../config/types.js";
import { InvalidRequestError, InvalidScopeError, InvalidTargetError, UnauthorizedClientError } from "../errors/tessera-error.js";
import type { RegisteredClient } from "../registry/registered-client.js";
import type { AccessTokenClaims } from "../verifier/access-token-claims.js";
import { authorizeTarget, checkTargetSyntax, type AuthorizedTarget, type TargetRequest } from "./authorize-request.js";
import { authenticateClient, consumeClientAssertion } from "./client-authentication/authenticate-client.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { mintAccessToken, type MintedToken } from "./mint-access-token.js";
import { verifyOwnToken } from "./own-token.js";
import type { WorkloadIdentity } from "./workload-token.js";

/** RFC 8693 §3: the token type of an access token, the only one exchanged and issued here. */
export const TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

/** A token-exchange request (RFC 8693 §2.1), transport-neutral. */
export interface ExchangeTokenInput extends TargetRequest {
  /** The actor's client authentication: the actor is the authenticated client. */
  credentials: ClientCredentialsInput;
  /** An access token of this issuer, issued to the actor, about the subject the new token will be about. */
  subjectToken?: string | undefined;
  subjectTokenType?: string | undefined;
  /** Optional: an access token of this issuer issued to the actor itself, proving it once more. */
  actorToken?: string | undefined;
  actorTokenType?: string | undefined;
  /** Optional; only the access-token type is issued. */
  requestedTokenType?: string | undefined;
}

/** A token exchanged on the subject's behalf, and what it was derived from. */
export interface ExchangedToken {
  readonly minted: MintedToken;
  readonly client: RegisteredClient;
  /** `sub` of the new token: the subject token's. */
  readonly subject: string;
  /** The new token's act chain, the actor (the client) first. */
  readonly actors: readonly string[];
  /** The jti of the subject token it was exchanged for. */
  readonly subjectTokenId: string;
  /** The actor's workload token, when it authenticated with one. */
  readonly workload: WorkloadIdentity | undefined;
  /** How the actor authenticated (client_secret_basic, workload_identity, …). */
  readonly authMethod: string;
}

function checkSyntax(input: ExchangeTokenInput): void {
  if (!input.subjectToken) throw new InvalidRequestError("subject_token is required");
  if (input.subjectTokenType !== TOKEN_TYPE_ACCESS_TOKEN) throw new InvalidRequestError(`subject_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}`);
  if ((input.actorToken === undefined) !== (input.actorTokenType === undefined)) {
    throw new InvalidRequestError("actor_token and actor_token_type go together");
  }
  if (input.actorTokenType !== undefined && input.actorTokenType !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw new InvalidRequestError(`actor_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}`);
  }
  if (input.requestedTokenType !== undefined && input.requestedTokenType !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw new InvalidRequestError(`requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}: only access tokens are issued`);
  }
  checkTargetSyntax(input);
}

/** A valid, unexpired, unrevoked access token of ours; anything else is invalid_request (RFC 8693 §2.2.2). */
async function activeToken(ctx: IssuerContext, token: string, name: "subject_token" | "actor_token"): Promise<AccessTokenClaims> {
  const claims = await verifyOwnToken(ctx, token);
  if (claims === undefined) throw new InvalidRequestError(`the ${name} is not a valid, unexpired access token of this issuer`);
  if (await ctx.denyList.isRevoked(claims.iss, claims.jti)) throw new InvalidRequestError(`the ${name} has been revoked`);
  return claims;
}

/**
 * The target of the exchanged token: inside the actor's grant (authorizeTarget)
 * and its exchange audiences, with scopes inside the subject token's too. No
 * scope requested: the intersection of the grant and the subject token's
 * scopes, refused when empty. Never more than either side allows.
 */
function exchangeTarget(client: RegisteredClient, input: TargetRequest, subject: AccessTokenClaims): AuthorizedTarget {
  const target = authorizeTarget(client, input);
  const audiences = client.tokenExchange?.audiences;
  if (audiences !== undefined && !audiences.has(target.audience)) {
    throw new InvalidTargetError("the client may not ask for this audience on someone's behalf");
  }
  const held = new Set(subject.scopes);
  const requested = input.scopes !== undefined && input.scopes.length > 0;
  if (requested) {
    const outside = target.scopes.filter((s) => !held.has(s));
    if (outside.length > 0) throw new InvalidScopeError(`scope not held by the subject token: ${outside.join(" ")}`);
    return target;
  }
  const common = target.scopes.filter((s) => held.has(s));
  if (common.length === 0) throw new InvalidScopeError("the subject token holds none of the scopes granted for this audience");
  return Object.freeze({ audience: target.audience, scopes: Object.freeze(common) });
}

/** What an exchange may issue: the target, the act chain (the actor first), and the latest exp. */
export interface ExchangeDecision {
  readonly target: AuthorizedTarget;
  readonly actors: readonly string[];
  /** Epoch seconds: the subject token's exp. */
  readonly notAfter: number;
}

/**
 * The rules of a delegation, without I/O: the subject token must have been
 * issued to the actor (its audience is one the actor answers to), the actor
 * must be allowed the grant and to act for the subject (tokenExchange), the
 * chain no deeper than maxDepth actors, the audience inside the actor's grant
 * (and its exchange audiences), the scopes inside that grant AND the subject
 * token's scopes, and the token ends no later than the subject token.
 */
export function authorizeExchange(client: RegisteredClient, subject: AccessTokenClaims, request: TargetRequest, maxDepth: number): ExchangeDecision {
  const policy = client.tokenExchange;
  if (!client.grantTypes.includes(GRANT_TOKEN_EXCHANGE) || policy === undefined) {
    throw new UnauthorizedClientError("the client may not use the token-exchange grant");
  }
  if (!client.resourceAudiences.has(subject.aud)) throw new InvalidRequestError("the subject_token was not issued to this client");
  if (!policy.subjects.has(subject.sub) && !policy.subjects.has("*")) {
    throw new InvalidRequestError("the client may not act for the subject_token's subject");
  }
  const actors = Object.freeze([client.id, ...subject.actors]);
  if (actors.length > maxDepth) throw new InvalidRequestError(`the delegation chain would exceed ${maxDepth} actors`);
  return { target: exchangeTarget(client, request, subject), actors, notAfter: subject.exp };
}

/**
 * Token exchange (RFC 8693) for delegation: the authenticated client B
 * presents an access token it received (subject_token, `sub` A) and gets a
 * token for another audience, still about A, with `act` naming B in front of
 * the subject token's own actors (§4.1). The power only shrinks along a
 * chain (authorizeExchange). A revoked or expired subject token is refused;
 * an actor_token, when sent, must be an active token of the client itself.
 * Every refusal happens before any state changes (the client assertion is
 * consumed right before minting): nothing is issued on a refusal.
 */
export async function exchangeToken(ctx: IssuerContext, input: ExchangeTokenInput): Promise<ExchangedToken> {
  checkSyntax(input);
  const authenticated = await authenticateClient(ctx, input.credentials);
  const { client } = authenticated;
  if (!client.grantTypes.includes(GRANT_TOKEN_EXCHANGE)) throw new UnauthorizedClientError("the client may not use the token-exchange grant");

  const subject = await activeToken(ctx, input.subjectToken!, "subject_token");
  const decision = authorizeExchange(client, subject, input, ctx.tokens.maxActorChainDepth);
  if (input.actorToken !== undefined) {
    const actor = await activeToken(ctx, input.actorToken, "actor_token");
    if (actor.sub !== client.id || actor.clientId !== client.id || actor.actors.length > 0) {
      throw new InvalidRequestError("the actor_token does not stand for the authenticated client");
    }
  }

  await consumeClientAssertion(ctx, authenticated);
  const { actors, notAfter } = decision;
  const minted = mintAccessToken(ctx, client, decision.target, { subject: subject.sub, actors, notAfter });
  return { minted, client, subject: subject.sub, actors, subjectTokenId: subject.jti, workload: authenticated.workload, authMethod: authenticated.method };
}
