import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import type { ClientAuthMethod } from "../../config/types.js";
import { InvalidClientError, InvalidGrantError, InvalidRequestError, TesseraError } from "../../errors/tessera-error.js";
import { secretMatchesDigest } from "../../internal/constant-time.js";
import type { RegisteredClient } from "../../registry/registered-client.js";
import type { ClientCredentialsInput } from "./client-credentials-input.js";
import { CLOCK_SKEW_SECONDS, MAX_ASSERTION_LIFETIME_SECONDS, type IssuerContext } from "../issuer-context.js";
import { countFailedAuthentication, refuseIfThrottled, throttleSubject } from "./throttle-failed-auth.js";
import type { TrustedIssuer } from "../../registry/trusted-issuers.js";
import { trustedIssuerOf, verifyWorkloadToken, type VerifiedWorkloadToken, type WorkloadIdentity } from "../workload-token.js";
import { claimedClientId } from "./client-credentials-input.js";

import { CLIENT_ASSERTION_TYPE } from "../../internal/oauth-syntax.js";

export { CLIENT_ASSERTION_TYPE };

/** HMAC algorithms for client_secret_jwt; asymmetric ones for private_key_jwt. Never mixed. */
export const ASSERTION_ALGORITHMS: Record<"client_secret_jwt" | "private_key_jwt", string[]> = {
  client_secret_jwt: ["HS256", "HS384", "HS512"],
  private_key_jwt: ["ES256", "ES384", "ES512", "EdDSA", "Ed25519", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
};

/** A client whose credentials checked out. A client assertion is consumed only by consumeClientAssertion. */
export interface AuthenticatedClient {
  readonly client: RegisteredClient;
  readonly method: ClientAuthMethod;
  /** The single-use record of the assertion's jti, claimed right before the request takes effect. */
  readonly assertionReplayKey?: { key: string; expiresAt: number } | undefined;
  /** workload_identity: the trusted issuer and subject of the token the client authenticated with. */
  readonly workload?: WorkloadIdentity | undefined;
}

/** Digest of a random secret, compared against when the client is unknown so the timing matches. */
const UNKNOWN_CLIENT_DIGEST = Buffer.alloc(32);

function verifySecret(client: RegisteredClient | undefined, secret: string): boolean {
  const digests = client?.secretDigests.length ? client.secretDigests : [UNKNOWN_CLIENT_DIGEST];
  let ok = false;
  for (const digest of digests) ok = secretMatchesDigest(secret, digest) || ok;
  return ok && client !== undefined;
}

/**
 * Authenticates the client of a request with exactly one method (RFC 6749
 * §2.3): Basic header, secret in the body, or a JWT client assertion (RFC 7523
 * §2.2, §3) to the strict profile: `aud` exactly the issuer as a string, `iss`
 * = `sub` = the client, `exp` and `jti` required, `iat` (when sent) not in
 * the future beyond the clock skew, a lifetime (exp − iat, exp − now) within
 * the configured cap, signed with the algorithm registered for the client's
 * key; a body client_id other than the assertion's subject is invalid_request.
 * A workload_identity client's assertion is instead a token of a trusted
 * issuer (workloadClient), mapped to the client by (iss, sub). Every failure
 * of the credentials gives the same invalid_client answer; a request that
 * uses two methods or none is invalid_request /
 * invalid_client. Failures are counted per (client, source) when the context
 * has an authThrottle, and a pair over its threshold is refused (429) before
 * its credentials are checked. Changes no other state: see consumeClientAssertion.
 */
export async function authenticateClient(ctx: IssuerContext, input: ClientCredentialsInput): Promise<AuthenticatedClient> {
  const usesAssertion = input.clientAssertion !== undefined || input.clientAssertionType !== undefined;
  const usesBody = input.clientSecret !== undefined;
  const used = (input.basic !== undefined ? 1 : 0) + (usesBody ? 1 : 0) + (usesAssertion ? 1 : 0);
  if (used > 1) throw new InvalidRequestError("use exactly one client authentication method per request");
  if (used === 0) throw refused(ctx, input, new InvalidClientError({ reason: "no_credentials", detail: "the request carried no client credentials" }));

  const subject = ctx.authThrottle === undefined ? undefined : throttleSubject(input);
  if (subject !== undefined) await refuseIfThrottled(ctx, subject);
  try {
    return await checkCredentials(ctx, input);
  } catch (err) {
    if (err instanceof InvalidClientError) {
      refused(ctx, input, err);
      if (subject !== undefined) await countFailedAuthentication(ctx, subject);
    }
    throw err;
  }
}

/** The method a request used, for the operator: which credential it carried. */
function methodUsed(input: ClientCredentialsInput): string | undefined {
  if (input.basic !== undefined) return "client_secret_basic";
  if (input.clientSecret !== undefined) return "client_secret_post";
  if (input.clientAssertion !== undefined || input.clientAssertionType !== undefined) return "client_assertion";
  return undefined;
}

/** Reports a refused client authentication with its real reason (the client only ever hears invalid_client). */
function refused(ctx: IssuerContext, input: ClientCredentialsInput, err: InvalidClientError): InvalidClientError {
  ctx.events?.clientAuthRefused({
    claimedClientId: claimedClientId(input),
    method: methodUsed(input),
    reason: err.reason,
    detail: err.detail,
    source: input.source,
  });
  return err;
}

async function checkCredentials(ctx: IssuerContext, input: ClientCredentialsInput): Promise<AuthenticatedClient> {
  if (input.basic !== undefined) {
    const { clientId, clientSecret } = input.basic;
    if (input.clientId !== undefined && input.clientId !== clientId) {
      throw new InvalidRequestError("client_id in the body differs from the Basic credentials");
    }
    return secretClient(ctx, clientId, clientSecret, "client_secret_basic");
  }
  if (input.clientSecret !== undefined) {
    if (input.clientId === undefined) throw new InvalidClientError({ reason: "no_client_id", detail: "client_secret sent without client_id" });
    return secretClient(ctx, input.clientId, input.clientSecret!, "client_secret_post");
  }
  return assertionClient(ctx, input);
}

function secretClient(ctx: IssuerContext, clientId: string, secret: string, method: ClientAuthMethod): AuthenticatedClient {
  const client = ctx.clients.get(clientId);
  const ok = verifySecret(client, secret);
  if (!ok || client === undefined || client.authMethod !== method) {
    throw new InvalidClientError({ basicChallenge: method === "client_secret_basic", ...secretFailure(client, ok, method) });
  }
  return { client, method };
}

/** Why a secret did not authenticate its client; the method mismatch first, since it is what the operator can fix. */
function secretFailure(client: RegisteredClient | undefined, ok: boolean, method: ClientAuthMethod): { reason: string; detail: string } {
  if (client === undefined) return { reason: "unknown_client", detail: "no client is registered with this id" };
  if (client.authMethod !== method) {
    return { reason: "auth_method_mismatch", detail: `the client is registered for ${client.authMethod} but sent ${method}` };
  }
  return { reason: ok ? "invalid_credentials" : "wrong_secret", detail: "the secret matches none of the client's secret hashes" };
}

async function assertionClient(ctx: IssuerContext, input: ClientCredentialsInput): Promise<AuthenticatedClient> {
  if (input.clientAssertionType !== CLIENT_ASSERTION_TYPE) {
    throw new InvalidRequestError(`client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
  }
  if (!input.clientAssertion) throw new InvalidRequestError("client_assertion is missing");
  const assertion = input.clientAssertion;

  let unverified: JWTPayload;
  let alg: string | undefined;
  try {
    unverified = decodeJwt(assertion);
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    throw new InvalidClientError({ reason: "assertion_malformed", detail: "the client assertion is not a JWT" });
  }
  // A token of a trusted workload issuer (iss ≠ sub: not a client's own assertion) authenticates a workload_identity client.
  const trusted = unverified.iss !== unverified.sub ? trustedIssuerOf(ctx, unverified) : undefined;
  if (trusted !== undefined) return workloadClient(ctx, input, assertion, trusted);
  const clientId = typeof unverified.sub === "string" ? unverified.sub : undefined;
  if (input.clientId !== undefined && clientId !== undefined && input.clientId !== clientId) {
    throw new InvalidRequestError("client_id differs from the client assertion's subject");
  }
  const client = clientId === undefined ? undefined : ctx.clients.get(clientId);
  if (client === undefined) throw new InvalidClientError({ reason: "unknown_client", detail: "no client is registered with the assertion's sub" });
  if (client.authMethod !== "client_secret_jwt" && client.authMethod !== "private_key_jwt") {
    throw new InvalidClientError({ reason: "auth_method_mismatch", detail: `the client is registered for ${client.authMethod} but sent a client assertion` });
  }
  const algorithms = ASSERTION_ALGORITHMS[client.authMethod];
  if (alg === undefined || !algorithms.includes(alg)) {
    throw new InvalidClientError({ reason: "assertion_algorithm", detail: `${client.authMethod} assertions must use one of ${algorithms.join(", ")}` });
  }

  let payload: JWTPayload;
  try {
    const options = {
      algorithms,
      issuer: client.id,
      subject: client.id,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(ctx.clock.now()),
      requiredClaims: ["exp", "jti", "iss", "sub", "aud"],
    };
    payload =
      client.authMethod === "client_secret_jwt"
        ? (await jwtVerify(assertion, client.jwtSecret!, options)).payload
        : (await jwtVerify(assertion, client.assertionKeys!, options)).payload;
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new InvalidClientError({
      reason: "assertion_rejected",
      detail: `the client assertion failed verification${typeof code === "string" ? ` (${code})` : ""}`,
    });
  }

  // aud is the issuer identifier as a string, never an array (RFC 7523bis: audience-injection hardening).
  const now = ctx.clock.now() / 1000;
  const exp = payload.exp!;
  const iat = payload.iat;
  const jti = payload.jti;
  const maxLifetime = ctx.maxAssertionLifetimeSeconds ?? MAX_ASSERTION_LIFETIME_SECONDS;
  const lifetimeOk = exp - now <= maxLifetime + CLOCK_SKEW_SECONDS && (iat === undefined || (iat <= now + CLOCK_SKEW_SECONDS && exp - iat <= maxLifetime));
  if (payload.aud !== ctx.issuer)
    throw new InvalidClientError({ reason: "assertion_audience", detail: "the assertion's aud must be the issuer identifier, as a string" });
  if (typeof jti !== "string" || jti.length === 0) throw new InvalidClientError({ reason: "assertion_jti", detail: "the assertion has no jti" });
  if (!lifetimeOk)
    throw new InvalidClientError({ reason: "assertion_lifetime", detail: `the assertion lives longer than ${maxLifetime} s or is issued in the future` });
  return {
    client,
    method: client.authMethod,
    assertionReplayKey: { key: `client-assertion:${client.id}:${jti}`, expiresAt: Math.ceil(exp + CLOCK_SKEW_SECONDS) },
  };
}

/**
 * workload_identity: the client assertion is a token of a trusted issuer
 * (verifyWorkloadToken), whose (issuer, subject) is mapped to a client
 * registered with that method; the issuer's replay policy decides whether the
 * token is single-use. A body client_id must name that client.
 */
async function workloadClient(ctx: IssuerContext, input: ClientCredentialsInput, assertion: string, trusted: TrustedIssuer): Promise<AuthenticatedClient> {
  let verified: VerifiedWorkloadToken;
  try {
    verified = await verifyWorkloadToken(ctx, assertion, trusted);
  } catch (err) {
    if (err instanceof InvalidGrantError) throw new InvalidClientError();
    throw err;
  }
  if (input.clientId !== undefined && verified.clientId !== undefined && input.clientId !== verified.clientId) {
    throw new InvalidRequestError("client_id differs from the client the workload token stands for");
  }
  const client = verified.clientId === undefined ? undefined : ctx.clients.get(verified.clientId);
  if (client === undefined || client.authMethod !== "workload_identity") throw new InvalidClientError();
  return { client, method: "workload_identity", assertionReplayKey: verified.replayKey, workload: verified.workload };
}

/**
 * Records the client assertion's jti as used, atomically. Called right before
 * the request takes effect (a token is minted, a revocation stored), so that
 * of many parallel copies of one assertion exactly one succeeds, and a request
 * refused for another reason leaves the assertion unused.
 */
export async function consumeClientAssertion(ctx: IssuerContext, authenticated: AuthenticatedClient): Promise<void> {
  const record = authenticated.assertionReplayKey;
  if (record === undefined) return;
  if (!(await ctx.replay.claim(record.key, record.expiresAt))) {
    const err = new InvalidClientError({ reason: "assertion_replayed", detail: "the assertion's jti was already used" });
    ctx.events?.clientAuthRefused({
      claimedClientId: authenticated.client.id,
      method: authenticated.method,
      reason: err.reason,
      detail: err.detail,
      source: undefined,
    });
    throw err;
  }
}
