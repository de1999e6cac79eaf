import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { InvalidGrantError, TesseraError } from "../errors/tessera-error.js";
import type { TrustedIssuer } from "../registry/trusted-issuers.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "./issuer-context.js";

/**
 * Who a verified workload token says the caller is: the fact recorded with
 * every token it obtained ("authenticated by workload token of issuer X,
 * subject Y").
 */
export interface WorkloadIdentity {
  /** The trusted issuer (`iss`), e.g. https://kubernetes.default.svc.cluster.local. */
  readonly issuer: string;
  /** The workload (`sub`), e.g. system:serviceaccount:billing:api or spiffe://example.org/billing/api. */
  readonly subject: string;
}

/** A verified token of a trusted issuer, and the client its subject stands for. */
export interface VerifiedWorkloadToken {
  readonly workload: WorkloadIdentity;
  /** The client id the (issuer, subject) pair is mapped to; undefined when not mapped. */
  readonly clientId: string | undefined;
  /**
   * The single-use record to claim right before the request takes effect;
   * undefined under the issuer's reuse-within-lifetime policy.
   */
  readonly replayKey: { key: string; expiresAt: number } | undefined;
}

/** Whether the JWT names a trusted issuer as its `iss` (read without verifying anything). */
export function trustedIssuerOf(ctx: IssuerContext, unverified: JWTPayload): TrustedIssuer | undefined {
  return typeof unverified.iss === "string" ? ctx.trustedIssuers.get(unverified.iss) : undefined;
}

/** Reads a JWT's claims without verifying them; undefined when it is not a well-formed JWT. */
export function peekJwt(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/**
 * Verifies a token of a trusted workload issuer (a Kubernetes projected
 * service-account token, a SPIFFE JWT-SVID, any OIDC issuer's JWT): signed by
 * the issuer's key with one of its algorithms, `iss` exact, `aud` = this
 * issuer (a string or a one-element array, as Kubernetes and SPIRE write it),
 * `exp` and `sub` required, `iat` not in the future, the lifetime (exp − iat,
 * exp − now) within the issuer's maxLifetimeSeconds, and `jti` required when
 * the issuer's replay policy is single-use. Every failure is invalid_grant
 * (client authentication turns it into invalid_client); failures of the key
 * source are rethrown as they are. Changes no state: the replay record is
 * claimed by the caller.
 */
export async function verifyWorkloadToken(ctx: IssuerContext, token: string, trusted: TrustedIssuer): Promise<VerifiedWorkloadToken> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
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
        requiredClaims: ["exp", "sub", "aud"],
      },
    ));
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidGrantError("the assertion has expired");
    throw new InvalidGrantError("the assertion is invalid");
  }

  // aud names this issuer and nothing else. Unlike a client's own assertion, a one-element array is accepted:
  // workload identity providers (Kubernetes service-account tokens, SPIRE's JWT-SVIDs) write an array.
  const aud = payload.aud;
  if (!(aud === ctx.issuer || (Array.isArray(aud) && aud.length === 1 && aud[0] === ctx.issuer))) {
    throw new InvalidGrantError("the assertion's audience must be this issuer");
  }
  const now = ctx.clock.now() / 1000;
  const exp = payload.exp!;
  const max = trusted.maxLifetimeSeconds;
  if (payload.iat !== undefined && payload.iat > now + CLOCK_SKEW_SECONDS) throw new InvalidGrantError("the assertion was issued in the future");
  if (exp - now > max + CLOCK_SKEW_SECONDS || (payload.iat !== undefined && exp - payload.iat > max)) {
    throw new InvalidGrantError("the assertion lives longer than its issuer's maxLifetimeSeconds");
  }
  const jti = typeof payload.jti === "string" && payload.jti !== "" ? payload.jti : undefined;
  if (trusted.replay === "single-use" && jti === undefined) {
    throw new InvalidGrantError("the assertion has no jti, and its issuer's replay policy is single-use");
  }
  if (payload.jti !== undefined && jti === undefined) throw new InvalidGrantError("the assertion's jti is malformed");
  const subject = payload.sub!;
  return {
    workload: Object.freeze({ issuer: trusted.issuer, subject }),
    clientId: trusted.clientFor(subject),
    replayKey: trusted.replay === "single-use" ? { key: `jwt-bearer:${trusted.issuer}:${jti!}`, expiresAt: Math.ceil(exp + CLOCK_SKEW_SECONDS) } : undefined,
  };
}
