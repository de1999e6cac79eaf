import { InvalidTokenError } from "../errors/tessera-error.js";
import type { AccessTokenClaims } from "../verifier/access-token-claims.js";
import { verifyAccessToken } from "../verifier/verify-access-token.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "./issuer-context.js";
import { localKeyResolver } from "./own-key-resolver.js";

/**
 * Verifies a token that this issuer signed, against its own key store.
 * Resolves undefined for anything that is not a valid, unexpired token of
 * ours; rethrows dependency failures.
 */
export async function verifyOwnToken(
  ctx: IssuerContext,
  token: string,
  options: { clockToleranceSeconds?: number } = {},
): Promise<AccessTokenClaims | undefined> {
  try {
    return await verifyAccessToken(token, localKeyResolver(ctx.keys), {
      issuer: ctx.issuer,
      algorithms: ["ES256", "EdDSA", "RS256"],
      clockToleranceSeconds: options.clockToleranceSeconds ?? 0,
      maxLifetimeSeconds: ctx.tokens.maxLifetimeSeconds + CLOCK_SKEW_SECONDS,
      clock: ctx.clock,
    });
  } catch (err) {
    if (err instanceof InvalidTokenError) return undefined;
    throw err;
  }
}
