import type { TesseraConfig } from "../config/types.js";
import type { Clock } from "../internal/clock.js";
import type { ServiceEvents } from "../internal/service-events.js";
import type { KeyStore } from "../keys/key-store.js";
import type { ClientRegistry } from "../registry/client-registry.js";
import type { TrustedIssuerRegistry } from "../registry/trusted-issuers.js";
import type { AuthThrottle, DenyList, IntrospectionCache, RateLimiter, ReplayGuard } from "../store/types.js";

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
  /** Request rates per authenticated client (introspection, revocation). Absent: no per-client limits. */
  readonly rateLimiter?: RateLimiter | undefined;
  /** The per-client limits `rateLimiter` enforces; a limit of 0 is off. Absent: none. */
  readonly clientLimits?: ClientRateLimits | undefined;
  /** Longest accepted client-assertion lifetime, in seconds. Default MAX_ASSERTION_LIFETIME_SECONDS. */
  readonly maxAssertionLifetimeSeconds?: number | undefined;
  readonly clock: Clock;
  /** Where issued tokens, refused authentications, revocations and cache lookups are reported (audit, metrics). Absent: nowhere. */
  readonly events?: ServiceEvents | undefined;
}

/** Requests each authenticated client may make per window. */
export type ClientRateLimits = TesseraConfig["rateLimit"]["perClient"];

/** Clock skew tolerated on client assertions and tokens (seconds). */
export const CLOCK_SKEW_SECONDS = 60;
/** Default longest lifetime of a client assertion, exp − iat and exp − now (RFC 7523 practice: minutes). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
