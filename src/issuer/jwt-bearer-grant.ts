import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { GRANT_JWT_BEARER } from "../config/types.js";
import { InvalidGrantError, InvalidRequestError, TesseraError, UnauthorizedClientError } from "../errors/tessera-error.js";
import type { RegisteredClient } from "../registry/registered-client.js";
import { authenticateClient, type AuthenticatedClient } from "./client-authentication/authenticate-client.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "./issuer-context.js";

/** Longest lifetime accepted for a JWT authorization grant. */
export const MAX_GRANT_LIFETIME_SECONDS = 3600;

/** The outcome of a verified JWT authorization grant. */
export interface VerifiedGrant {
  readonly client: RegisteredClient;
  /** The authenticated client, when the request also carried client credentials. */
  readonly authenticated: AuthenticatedClient | undefined;
  /** The single-use record of the grant's jti. */
  readonly replayKey: { key: string; expiresAt: number };
}

function hasCredentials(c: ClientCredentialsInput): boolean {
  return [c.basic, c.clientSecret, c.clientAssertion, c.clientAssertionType].some((v) => v !== undefined);
}

/**
 * Verifies an RFC 7523 §2.1 JWT authorization grant: issued by a trusted
 * issuer and signed with its key, `aud` = our issuer, `exp` required and at
 * most an hour away (and after `iat`, which must not be in the future), `jti` required, the subject mapped to a registered client
 * allowed the jwt-bearer grant. Client credentials, when sent, must belong to
 * that client. Every failure of the assertion is invalid_grant. No state
 * changes: the jti is claimed by the caller right before minting.
 */
export async function verifyJwtBearerGrant(ctx: IssuerContext, assertion: string | undefined, credentials: ClientCredentialsInput): Promise<VerifiedGrant> {
  if (!assertion) throw new InvalidRequestError("assertion is required for the jwt-bearer grant");
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(assertion);
  } catch {
    throw new InvalidGrantError("the assertion is not a well-formed JWT");
  }
  const trusted = typeof unverified.iss === "string" ? ctx.trustedIssuers.get(unverified.iss) : undefined;
  if (trusted === undefined) throw new InvalidGrantError("the assertion's issuer is not trusted");

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      assertion,
      async (header) => {
        const key = await trusted.resolveKey(header);
        if (key === undefined) throw new InvalidGrantError("the assertion was signed with an unknown key");
        return key;
      },
      {
        algorithms: [...trusted.algorithms],
        issuer: trusted.issuer,
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(ctx.clock.now()),
        requiredClaims: ["exp", "jti", "sub", "aud"],
      },
    ));
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidGrantError("the assertion has expired");
    throw new InvalidGrantError("the assertion is invalid");
  }

  // aud names this issuer and nothing else. Unlike a client assertion, a one-element array is accepted:
  // workload identity providers (Kubernetes service-account tokens, for one) always write an array.
  const aud = payload.aud;
  if (!(aud === ctx.issuer || (Array.isArray(aud) && aud.length === 1 && aud[0] === ctx.issuer))) {
    throw new InvalidGrantError("the assertion's audience must be this issuer");
  }
  const now = ctx.clock.now() / 1000;
  const exp = payload.exp!;
  if (payload.iat !== undefined && payload.iat > now + CLOCK_SKEW_SECONDS) throw new InvalidGrantError("the assertion was issued in the future");
  if (exp - now > MAX_GRANT_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS || (payload.iat !== undefined && exp - payload.iat > MAX_GRANT_LIFETIME_SECONDS)) {
    throw new InvalidGrantError("the assertion lives longer than one hour");
  }
  if (typeof payload.jti !== "string" || payload.jti === "") throw new InvalidGrantError("the assertion has no jti");
  const clientId = trusted.clientFor(payload.sub!);
  const client = clientId === undefined ? undefined : ctx.clients.get(clientId);
  if (client === undefined) throw new InvalidGrantError("the assertion's subject is not mapped to a client");
  if (!client.grantTypes.includes(GRANT_JWT_BEARER)) throw new UnauthorizedClientError("the client may not use the jwt-bearer grant");

  let authenticated: AuthenticatedClient | undefined;
  if (hasCredentials(credentials)) {
    authenticated = await authenticateClient(ctx, credentials);
    if (authenticated.client.id !== client.id) throw new InvalidGrantError("the assertion was issued for another client");
  }
  return {
    client,
    authenticated,
    replayKey: { key: `jwt-bearer:${trusted.issuer}:${payload.jti}`, expiresAt: Math.ceil(exp + CLOCK_SKEW_SECONDS) },
  };
}
