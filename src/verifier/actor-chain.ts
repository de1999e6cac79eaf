import { InvalidTokenError } from "../errors/tessera-error.js";

/** The deepest act claim any token may carry (tokens.maxActorChainDepth is at most this). */
export const MAX_ACTOR_CHAIN_DEPTH = 16;

/** One level of an RFC 8693 §4.1 `act` claim: the actor, and the one who acted before it. */
export interface ActClaim {
  readonly sub: string;
  readonly act?: ActClaim;
}

/**
 * The actors an `act` claim names, the current actor first (the outermost
 * `act`), then each prior actor (RFC 8693 §4.1: nested `act` members are
 * prior actors, informational only). Empty when the claim is absent. A claim
 * that is not an object with a string `sub` at every level, or deeper than
 * MAX_ACTOR_CHAIN_DEPTH, refuses the token.
 */
export function actorChain(act: unknown): readonly string[] {
  const chain: string[] = [];
  let level = act;
  while (level !== undefined) {
    if (typeof level !== "object" || level === null || Array.isArray(level)) throw new InvalidTokenError("the token's act claim is malformed");
    const { sub, act: prior } = level as Record<string, unknown>;
    if (typeof sub !== "string" || sub === "") throw new InvalidTokenError("the token's act claim is malformed");
    chain.push(sub);
    if (chain.length > MAX_ACTOR_CHAIN_DEPTH) throw new InvalidTokenError("the token's act claim is nested too deeply");
    level = prior;
  }
  return Object.freeze(chain);
}

/** The `act` claim naming `actor` as the current actor in front of a prior chain (current first). */
export function actClaim(actors: readonly string[]): ActClaim | undefined {
  let claim: ActClaim | undefined;
  for (let i = actors.length - 1; i >= 0; i--) claim = claim === undefined ? { sub: actors[i]! } : { sub: actors[i]!, act: claim };
  return claim;
}
