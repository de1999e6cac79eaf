import type { JSONWebKeySet } from "jose";
import type { IssuerContext } from "./issuer-context.js";

/** The published JWK Set: public members only, each with kid, alg and use. */
export function getJwks(ctx: IssuerContext): JSONWebKeySet {
  return { keys: ctx.keys.publicJwks().map((k) => ({ ...k })) };
}
