import type { CryptoKey, JWK } from "jose";
import type { SigningAlgorithm } from "../config/types.js";
import type { SigningKey } from "./signing-key.js";

/** Where a key is in its life: published before it signs, published after it stops signing. */
export type KeyState = "next" | "active" | "retired";

/** The keys an issuer signs with and publishes. */
export interface KeyStore {
  /** The key that signs new tokens. */
  signingKey(): SigningKey;
  /** Every published public key (next, active, retired), with kid, alg and use. */
  publicJwks(): readonly JWK[];
  /** The public key with exactly this kid, if published. */
  verificationKey(kid: string): { key: CryptoKey; alg: SigningAlgorithm } | undefined;
}

/** A key store held in this process. Exactly one key is active. */
export class MemoryKeyStore implements KeyStore {
  readonly #entries: { key: SigningKey; state: KeyState }[];
  #jwks: readonly JWK[];

  constructor(entries: { key: SigningKey; state: KeyState }[]) {
    if (entries.filter((e) => e.state === "active").length !== 1) throw new Error("a key store needs exactly one active key");
    this.#entries = [...entries];
    this.#jwks = Object.freeze(this.#entries.map((e) => e.key.publicJwk));
  }

  static single(key: SigningKey): MemoryKeyStore {
    return new MemoryKeyStore([{ key, state: "active" }]);
  }

  signingKey(): SigningKey {
    return this.#entries.find((e) => e.state === "active")!.key;
  }

  publicJwks(): readonly JWK[] {
    return this.#jwks;
  }

  verificationKey(kid: string): { key: CryptoKey; alg: SigningAlgorithm } | undefined {
    const entry = this.#entries.find((e) => e.key.kid === kid);
    return entry ? { key: entry.key.publicKey, alg: entry.key.alg } : undefined;
  }
}
