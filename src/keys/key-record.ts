import type { JWK } from "jose";
import type { SigningAlgorithm } from "../config/types.js";

/**
 * Where a key is in its life:
 * next (published, not signing) → active (signing) → retired (published until
 * every token it signed has expired) → removed; revoked in an emergency
 * (withdrawn from JWKS at once, its tokens rejected by verifiers).
 */
export type KeyRecordState = "next" | "active" | "retired" | "revoked";

/** One key of a key ring, as stored (private key sealed under the key-encryption key). */
export interface KeyRecord {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly state: KeyRecordState;
  /** Epoch seconds: when the key was published. */
  readonly publishedAt: number;
  /** Epoch seconds: when it started signing. */
  readonly activatedAt?: number;
  /** Epoch seconds: when it stopped signing (retired or revoked). */
  readonly endedAt?: number;
  /** Epoch seconds after which the record is deleted. */
  readonly removeAt?: number;
  /** The public JWK as published (kid, alg, use set). */
  readonly publicJwk: JWK;
  /** The private JWK, sealed (JWE compact, dir + A256GCM) under the key-encryption key. */
  readonly sealed: string;
}

/** The whole ring with its version, for compare-and-set updates across replicas. */
export interface KeyRingState {
  /**
   * The ring's lineage: a random id given when a ring is created (or re-created after its store lost
   * it) and kept by every later write. Undefined when no ring is stored; "" for a ring stored before
   * epochs existed. Versions count within one epoch, so a ring rebuilt from scratch never passes for
   * the one it replaces.
   */
  readonly epoch?: string;
  readonly version: number;
  readonly records: readonly KeyRecord[];
  /** Epoch seconds of a `keys rotate` request not yet carried out. */
  readonly rotateRequestedAt?: number;
}
