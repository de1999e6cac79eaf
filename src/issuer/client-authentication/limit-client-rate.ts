import { RateLimitedError } from "../../errors/tessera-error.js";
import type { ClientRateLimits, IssuerContext } from "../issuer-context.js";

/** The operations an authenticated client is limited in. */
export type LimitedOperation = "introspections" | "revocations";

/**
 * Counts one request of an authenticated client and refuses it with 429 /
 * RESOURCE_EXHAUSTED (Retry-After: the rest of the window) when the client is
 * over its limit for the operation, so that one client cannot flood the
 * service, nor every verifier with revocations. Fails open: when the limiter's
 * store is unavailable, the request goes on.
 */
export async function refuseIfOverClientRate(ctx: IssuerContext, operation: LimitedOperation, clientId: string): Promise<void> {
  const limits: ClientRateLimits | undefined = ctx.clientLimits;
  const limit = limits?.[operation] ?? 0;
  if (ctx.rateLimiter === undefined || limits === undefined || limit <= 0) return;
  let retryAfter: number;
  try {
    retryAfter = await ctx.rateLimiter.hit(operation, clientId, limit, limits.windowSeconds);
  } catch {
    return; // rate limiting fails open
  }
  if (retryAfter > 0) throw new RateLimitedError(retryAfter, `too many ${operation} by this client, retry later`);
}
