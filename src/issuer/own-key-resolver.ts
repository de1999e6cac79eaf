import type { KeyStore } from "../keys/key-store.js";
import type { VerificationKeyResolver } from "../verifier/verify-access-token.js";

/** Resolves verification keys from the issuer's own key store, by exact kid and matching alg. */
export function localKeyResolver(keys: KeyStore): VerificationKeyResolver {
  return async (kid, alg) => {
    const found = keys.verificationKey(kid);
    return found !== undefined && found.alg === alg ? found.key : undefined;
  };
}
