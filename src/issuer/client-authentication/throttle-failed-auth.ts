import { RateLimitedError } from "../../errors/tessera-error.js";
import { throttleSource } from "../../internal/source-address.js";
import { claimedClientId, type ClientCredentialsInput } from "./client-credentials-input.js";
import type { IssuerContext } from "../issuer-context.js";

/** Whose failures a request counts towards: the client it claims to be, from where. */
export interface ThrottleSubject {
  readonly clientId: string;
  readonly source: string;
}

/** The subject of a request: the client it claims to be (claimedClientId) and its source; undefined when it names no client. */
export function throttleSubject(input: ClientCredentialsInput): ThrottleSubject | undefined {
  const clientId = claimedClientId(input);
  return clientId === undefined ? undefined : { clientId, source: throttleSource(input.source) };
}

/**
 * Refuses the request with 429 / RESOURCE_EXHAUSTED when its (client, source)
 * has failed too often within the window, before any credential is checked.
 * Fails open: when the throttle's store is unavailable, the request goes on.
 */
export async function refuseIfThrottled(ctx: IssuerContext, subject: ThrottleSubject): Promise<void> {
  let retryAfter = 0;
  try {
    retryAfter = (await ctx.authThrottle?.retryAfter(subject.clientId, subject.source)) ?? 0;
  } catch {
    return;
  }
  if (retryAfter > 0) {
    ctx.events?.throttleBlocked({ clientId: subject.clientId, source: subject.source, retryAfterSeconds: retryAfter });
    throw new RateLimitedError(retryAfter);
  }
}

/** Counts a failed authentication of (client, source); fails open. */
export async function countFailedAuthentication(ctx: IssuerContext, subject: ThrottleSubject): Promise<void> {
  try {
    await ctx.authThrottle?.recordFailure(subject.clientId, subject.source);
  } catch {
    // Rate limiting fails open: an outage of its store never refuses a request.
  }
}
