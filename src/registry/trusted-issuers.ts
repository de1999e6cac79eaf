import type { CryptoKey, JWSHeaderParameters, KeyObject } from "jose";
import type { WorkloadReplayPolicy } from "../config/types.js";

/**
 * An external issuer (a workload identity provider) whose JWTs stand for
 * clients: as a jwt-bearer grant (RFC 7523 §2.1), or as the client assertion
 * of a workload_identity client.
 */
export interface TrustedIssuer {
  /** The issuer identifier, matched exactly against the assertion's `iss`. */
  readonly issuer: string;
  /** Accepted assertion algorithms (asymmetric only). */
  readonly algorithms: readonly string[];
  /** single-use: each jti once (jti required); reuse-within-lifetime: the token is accepted until its exp. */
  readonly replay: WorkloadReplayPolicy;
  /** Longest accepted lifetime, exp − iat and exp − now, in seconds. */
  readonly maxLifetimeSeconds: number;
  /** The verification key for an assertion's header, or undefined when none matches. */
  resolveKey(header: JWSHeaderParameters): Promise<CryptoKey | KeyObject | undefined>;
  /** The client an assertion subject stands for, if mapped. */
  clientFor(subject: string): string | undefined;
}

/** Looks trusted issuers up by identifier. */
export interface TrustedIssuerRegistry {
  get(issuer: string): TrustedIssuer | undefined;
  /** Whether any issuer is trusted (the jwt-bearer grant is offered only then). */
  readonly enabled: boolean;
}

/** A registry over a fixed list. */
export class StaticTrustedIssuers implements TrustedIssuerRegistry {
  readonly #byIssuer: Map<string, TrustedIssuer>;
  constructor(issuers: readonly TrustedIssuer[]) {
    this.#byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  }
  get(issuer: string): TrustedIssuer | undefined {
    return this.#byIssuer.get(issuer);
  }
  get enabled(): boolean {
    return this.#byIssuer.size > 0;
  }
}
