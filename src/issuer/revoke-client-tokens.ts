import { InvalidRequestError } from "../errors/tessera-error.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "./issuer-context.js";

/**
 * Cuts off a client: every token of `clientId` issued by this issuer with iat strictly before
 * `issuedBefore` (epoch seconds; default: the next whole second, so that every token issued up to
 * now is covered) is refused by verifiers and introspection. The cut-off is kept until no token it
 * covers can still be unexpired (issuedBefore + tokens.maxLifetimeSeconds + the clock skew
 * allowance), and resolves only once stored. For the admin API (client disabled, deleted, or its
 * tokens revoked at once). Resolves the time used.
 */
export async function revokeClientTokens(ctx: IssuerContext, clientId: string, issuedBefore?: number): Promise<number> {
  if (clientId === "") throw new InvalidRequestError("client_id is missing");
  const before = issuedBefore ?? Math.floor(ctx.clock.now() / 1000) + 1;
  if (!Number.isFinite(before) || before <= 0) throw new InvalidRequestError("issued_before must be a time in epoch seconds");
  await ctx.denyList.revokeClient(ctx.issuer, clientId, before, before + ctx.tokens.maxLifetimeSeconds + CLOCK_SKEW_SECONDS);
  return before;
}
