import type { TesseraConfig } from "../config/types.js";
import type { Clock } from "../internal/clock.js";
import type { KeyStore } from "../keys/key-store.js";
import type { ClientRegistry } from "../registry/client-registry.js";
import type { TrustedIssuerRegistry } from "../registry/trusted-issuers.js";
import type { AuthThrottle, DenyList, IntrospectionCache, ReplayGuard } from "../store/types.js";

/** What the issuer's operations depend on: narrow interfaces, wired by the composition root. */
export interface IssuerContext {
  /** The issuer identifier: `iss` of tokens, the only accepted `aud` of client assertions. */
  readonly issuer: string;
  readonly tokens: TesseraConfig["tokens"];
  readonly clients: ClientRegistry;
  /** External issuers whose JWTs the jwt-bearer grant accepts. */
  readonly trustedIssuers: TrustedIssuerRegistry;
  readonly keys: KeyStore;
  readonly replay: ReplayGuard;
  readonly denyList: DenyList;
  /**
   * Active introspection answers, bound to `denyList` (it consults it first).
   * Absent: no caching, the deny-list is asked directly.
   */
  readonly introspectionCache?: IntrospectionCache | undefined;
  /** Failed client authentications per (client, source). Absent: no throttling. */
  readonly authThrottle?: AuthThrottle | undefined;
  readonly clock: Clock;
}

/** Clock skew tolerated on client assertions and tokens (seconds). */
export const CLOCK_SKEW_SECONDS = 60;
/** Longest lifetime accepted for a client assertion (RFC 7523 practice: minutes). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
