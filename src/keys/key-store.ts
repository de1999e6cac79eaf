import type { CryptoKey, JWK } from "jose";
import type { SigningAlgorithm } from "../config/types.js";
import type { SigningKey } from "./signing-key.js";

/** Where a key is in its life: published before it signs, published after it stops signing. */
export type KeyState = "next" | "active" | "retired";

/** The keys an issuer signs with and publishes. */
export interface KeyStore {
  /** The key that signs new tokens. */
  signingKey(): SigningKey;
  /**
   * Every published public key (next, active, retired), with kid, alg and use. The same array
   * until the published keys change, then a new one: WatchKeys rebuilds its message on a new array.
   */
  publicJwks(): readonly JWK[];
  /** The public key with exactly this kid, if published. */
  verificationKey(kid: string): { key: CryptoKey; alg: SigningAlgorithm } | undefined;
}

/**
 * A key store held in this process. Exactly one key is active.
 *
 * @example
 * ```ts
 * import { MemoryKeyStore, generateSigningKey } from "tessera/server";
 *
 * // Two keys: the active one signs; the next one is published first, so verifiers know it before it signs.
 * const keys = new MemoryKeyStore([
 *   { key: await generateSigningKey("ES256"), state: "active" },
 *   { key: await generateSigningKey("ES256"), state: "next" },
 * ]);
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  readonly #entries: { key: SigningKey; state: KeyState }[];
  #jwks: readonly JWK[];

  constructor(entries: { key: SigningKey; state: KeyState }[]) {
    if (entries.filter((e) => e.state === "active").length !== 1) throw new Error("a key store needs exactly one active key");
    this.#entries = entries.map((e) => ({ ...e }));
    this.#jwks = this.#publish();
  }

  #publish(): readonly JWK[] {
    return Object.freeze(this.#entries.map((e) => e.key.publicJwk));
  }

  /** Publishes a key that does not sign yet (state next), so that verifiers can learn it first. */
  addNext(key: SigningKey): void {
    if (this.#entries.some((e) => e.key.kid === key.kid)) throw new Error(`key ${key.kid} is already in the store`);
    this.#entries.push({ key, state: "next" });
    this.#jwks = this.#publish();
  }

  /** Makes a published key the signing key; the previous one is retired (still published). */
  activate(kid: string): void {
    const next = this.#entries.find((e) => e.key.kid === kid);
    if (next === undefined) throw new Error(`key ${kid} is not in the store`);
    for (const entry of this.#entries) if (entry.state === "active") entry.state = "retired";
    next.state = "active";
  }

  /** Stops publishing a retired key (once every token it signed has expired). */
  remove(kid: string): void {
    const index = this.#entries.findIndex((e) => e.key.kid === kid);
    if (index < 0) return;
    if (this.#entries[index]!.state === "active") throw new Error("the active key cannot be removed");
    this.#entries.splice(index, 1);
    this.#jwks = this.#publish();
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
