import { GRANT_JWT_BEARER } from "../config/types.js";
import { InvalidGrantError, InvalidRequestError, UnauthorizedClientError } from "../errors/tessera-error.js";
import type { RegisteredClient } from "../registry/registered-client.js";
import { authenticateClient, type AuthenticatedClient } from "./client-authentication/authenticate-client.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { peekJwt, trustedIssuerOf, verifyWorkloadToken, type WorkloadIdentity } from "./workload-token.js";

/** The outcome of a verified JWT authorization grant. */
export interface VerifiedGrant {
  readonly client: RegisteredClient;
  /** The authenticated client, when the request also carried client credentials. */
  readonly authenticated: AuthenticatedClient | undefined;
  /** The workload the grant was issued to. */
  readonly workload: WorkloadIdentity;
  /** The single-use record of the grant's jti; undefined under the issuer's reuse-within-lifetime policy. */
  readonly replayKey: { key: string; expiresAt: number } | undefined;
}

function hasCredentials(c: ClientCredentialsInput): boolean {
  return [c.basic, c.clientSecret, c.clientAssertion, c.clientAssertionType].some((v) => v !== undefined);
}

/**
 * Verifies an RFC 7523 §2.1 JWT authorization grant: a token of a trusted
 * issuer (verifyWorkloadToken: key, `aud` = our issuer, lifetime within the
 * issuer's cap, `jti` required under the single-use policy), its subject
 * mapped to a registered client allowed the jwt-bearer grant. Client
 * credentials, when sent, must belong to that client. Every failure of the
 * assertion is invalid_grant. No state changes: the jti is claimed by the
 * caller right before minting.
 */
export async function verifyJwtBearerGrant(ctx: IssuerContext, assertion: string | undefined, credentials: ClientCredentialsInput): Promise<VerifiedGrant> {
  if (!assertion) throw new InvalidRequestError("assertion is required for the jwt-bearer grant");
  const unverified = peekJwt(assertion);
  if (unverified === undefined) throw new InvalidGrantError("the assertion is not a well-formed JWT");
  const trusted = trustedIssuerOf(ctx, unverified);
  if (trusted === undefined) throw new InvalidGrantError("the assertion's issuer is not trusted");

  const verified = await verifyWorkloadToken(ctx, assertion, trusted);
  const client = verified.clientId === undefined ? undefined : ctx.clients.get(verified.clientId);
  if (client === undefined) throw new InvalidGrantError("the assertion's subject is not mapped to a client");
  if (!client.grantTypes.includes(GRANT_JWT_BEARER)) throw new UnauthorizedClientError("the client may not use the jwt-bearer grant");

  let authenticated: AuthenticatedClient | undefined;
  if (hasCredentials(credentials)) {
    authenticated = await authenticateClient(ctx, credentials);
    if (authenticated.client.id !== client.id) throw new InvalidGrantError("the assertion was issued for another client");
  }
  return { client, authenticated, workload: verified.workload, replayKey: verified.replayKey };
}
