import { inSpan, tracer } from "../internal/library-telemetry.js";
import { InvalidRequestError, UnauthorizedClientError } from "../errors/tessera-error.js";
import { sha256 } from "../internal/constant-time.js";
import { decodeAccessTokenJws } from "../keys/jws.js";
import { authenticateClient, consumeClientAssertion } from "./client-authentication/authenticate-client.js";
import { claimedClientId, type ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { refuseIfOverClientRate } from "./client-authentication/limit-client-rate.js";
import { verifyOwnToken } from "./own-token.js";
import { actClaim, type ActClaim } from "../verifier/actor-chain.js";
import type { IntrospectionCacheKey } from "../store/types.js";

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
      /** An exchanged token's actors (RFC 8693 §4.1 act), the current one outermost. */
      readonly act?: ActClaim;
    };

export const INACTIVE: IntrospectionResult = Object.freeze({ active: false });

/**
 * Token introspection (RFC 7662). The caller authenticates as a client that
 * may introspect, and learns about a token only if the token was issued for
 * one of its own audiences; anything else is `{ active: false }`. The
 * deny-list is consulted (the token's own entry, and a cut-off of its
 * client), and its failure is an error, never "inactive".
 *
 * With an introspection cache, the answer for (iss, jti, caller) is looked up
 * first, in one step with the deny-list (a revoked token is inactive whatever
 * is cached); a cached answer is used only for the very token it was made
 * for (its SHA-256 is stored with it, so that a re-encoded signature is
 * verified afresh) and never past its exp. A fresh active answer is cached
 * unless the token was revoked meanwhile, which then makes it inactive.
 */
export function introspectToken(ctx: IssuerContext, input: IntrospectInput): Promise<IntrospectionResult> {
  return inSpan(tracer(), "tessera.introspect", {}, async (span) => {
    const result = await introspect(ctx, input);
    span.setAttribute("tessera.active", result.active);
    return result;
  });
}

async function introspect(ctx: IssuerContext, input: IntrospectInput): Promise<IntrospectionResult> {
  if (input.token === undefined) throw new InvalidRequestError("token is missing");
  const cache = ctx.introspectionCache;
  const id = cache === undefined ? undefined : tokenId(input.token, ctx.issuer);
  // The cache is asked for the caller the request claims to be while that claim is checked (one round trip
  // to Redis for both); the answer is used only if the authenticated caller is that very client.
  const claimed = id === undefined ? undefined : claimedClientId(input.credentials);
  const early = cache !== undefined && id !== undefined && claimed !== undefined ? cache.lookup({ ...id, caller: claimed }) : undefined;
  early?.catch(() => {}); // a failure is met below, once awaited, or is moot when authentication fails
  const authenticated = await authenticateClient(ctx, input.credentials);
  const caller = authenticated.client;
  if (!caller.introspection) throw new UnauthorizedClientError("the client may not introspect tokens");
  await refuseIfOverClientRate(ctx, "introspections", caller.id);
  await consumeClientAssertion(ctx, authenticated);

  const digest = cache === undefined ? "" : sha256(input.token).toString("base64url");
  if (cache !== undefined && id !== undefined) {
    const found = await (claimed === caller.id && early !== undefined ? early : cache.lookup({ ...id, caller: caller.id }));
    if (found.revoked) return INACTIVE;
    const hit = found.value === undefined ? undefined : cachedAnswer(found.value, digest);
    const usable = hit !== undefined && hit.exp > ctx.clock.now() / 1000 && hit.iss === ctx.issuer && caller.resourceAudiences.has(hit.aud);
    ctx.events?.introspectionCache(usable);
    if (usable) return hit;
  }

  const claims = await verifyOwnToken(ctx, input.token);
  if (claims === undefined || !caller.resourceAudiences.has(claims.aud)) return INACTIVE;
  const result: ActiveIntrospection = {
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
    ...(claims.actors.length > 0 ? { act: actClaim(claims.actors)! } : {}),
  };
  if (cache === undefined) {
    const [revoked, cutOff] = await Promise.all([
      ctx.denyList.isRevoked(claims.iss, claims.jti),
      ctx.denyList.isClientRevoked(claims.iss, claims.clientId, claims.iat),
    ]);
    return revoked || cutOff ? INACTIVE : result;
  }
  // Checks the deny-list (the token's entry and its client's cut-off) again, atomically with the fill:
  // a revocation since the lookup makes the token inactive.
  const key = { issuer: claims.iss, jti: claims.jti, caller: caller.id, client: { id: claims.clientId, issuedAt: claims.iat } };
  const stored = await cache.store(key, JSON.stringify({ d: digest, r: result }), claims.exp);
  return stored ? result : INACTIVE;
}

type ActiveIntrospection = Extract<IntrospectionResult, { active: true }>;

/** (iss, jti, client_id, iat) of a token of ours, read without verifying it: the cache key, never trusted on its own. */
function tokenId(token: string, issuer: string): Omit<IntrospectionCacheKey, "caller"> | undefined {
  let claims: Readonly<Record<string, unknown>>;
  try {
    claims = decodeAccessTokenJws(token).payload;
  } catch {
    return undefined; // not one of ours: no cache key; verification answers
  }
  const { iss, jti, client_id: clientId, iat } = claims;
  if (iss !== issuer || typeof jti !== "string" || jti === "") return undefined;
  if (typeof clientId !== "string" || typeof iat !== "number" || !Number.isFinite(iat)) return undefined;
  return { issuer: iss, jti, client: { id: clientId, issuedAt: iat } };
}

/** The cached answer, if it was made for the token with this digest. */
function cachedAnswer(value: string, digest: string): ActiveIntrospection | undefined {
  try {
    const parsed = JSON.parse(value) as { d?: unknown; r?: ActiveIntrospection };
    return parsed.d === digest && parsed.r?.active === true ? parsed.r : undefined;
  } catch {
    return undefined;
  }
}
