import { createLocalJWKSet, errors as joseErrors, type CryptoKey, type JSONWebKeySet, type JWSHeaderParameters, type KeyObject } from "jose";

/** Finds the key for a JWS header in a key set; undefined when none (or more than one) matches. */
export type HeaderKeyResolver = (header: JWSHeaderParameters) => Promise<CryptoKey | KeyObject | undefined>;

/** Key selection by kid, alg and key type, as jose's createLocalJWKSet does it. */
export function localKeySet(jwks: JSONWebKeySet): HeaderKeyResolver {
  const local = createLocalJWKSet(jwks);
  return async (header) => {
    try {
      return await local(header, { payload: "", signature: "" });
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) return undefined;
      throw err;
    }
  };
}
