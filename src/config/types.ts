// The configuration's types, inferred from the schema (schema.ts), where each
// field's documentation lives. Inferred rather than hand-written so that the
// shape cannot drift from what validation accepts.
import type { z } from "zod";
import type { configSchema } from "./schema.js";

export {
  CLIENT_AUTH_METHODS,
  DEFAULT_GRANT_ALGORITHMS,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_TOKEN_EXCHANGE,
  GRANT_TYPES,
  SIGNING_ALGORITHMS,
  WORKLOAD_REPLAY_POLICIES,
} from "./schema.js";

/** The configuration as the schema parses it (defaults applied), before the derived fields of TesseraConfig. */
export type ParsedConfig = z.output<typeof configSchema>;

/** A client as validation leaves it: one of five shapes, by authMethod, each with its own credential. */
export type ClientVariant = ParsedConfig["clients"][number];
/** The fields that hold a client's credential; exactly one, by authMethod. */
export type ClientCredentialField = "secretHashes" | "jwtSecret" | "jwks";

/**
 * A registered client. Validation guarantees exactly its method's credential
 * (see ClientVariant); this flatter type is what the registry and tests use.
 */
export type ClientConfig = Omit<ClientVariant, "authMethod" | ClientCredentialField> & {
  authMethod: ClientVariant["authMethod"];
} & { [K in ClientCredentialField]?: Extract<ClientVariant, Record<K, unknown>>[K] };

/** The whole Tessera configuration, after the environment overlay, defaults, checks and secret resolution. */
export type TesseraConfig = Omit<ParsedConfig, "issuer" | "clients"> & {
  /** Registered clients. */
  clients: ClientConfig[];
  /** The issuer identifier: configured, or http://<http.host>:<http.port> (see issuerFromListener). */
  issuer: string;
  /** True when no issuer was configured: it is then the HTTP listener's URL, as bound (port 0 resolved). */
  issuerFromListener: boolean;
  /** True when Tessera runs with generated defaults and a demo client. */
  devMode: boolean;
};

export type ClientAuthMethod = ClientConfig["authMethod"];
/** One audience a client may get tokens for, and the scopes it may get there. */
export type GrantConfig = ClientConfig["grants"][number];
export type GrantType = ClientConfig["grantTypes"][number];
export type SigningAlgorithm = ParsedConfig["signing"]["algorithm"];
export type ListenerConfig = Omit<ParsedConfig["http"], "tls">;
export type TlsConfig = NonNullable<ParsedConfig["http"]["tls"]>;
/** What one client can hold on a listener: timeouts and caps. */
export type ListenerLimits = ParsedConfig["http"]["limits"];
/** An external issuer trusted for the jwt-bearer grant (RFC 7523 §2.1). */
export type TrustedIssuerConfig = ParsedConfig["trustedIssuers"][number];
/** A trusted issuer's replay policy: single-use, or reuse-within-lifetime. */
export type WorkloadReplayPolicy = TrustedIssuerConfig["replay"];
/** A client's token-exchange (RFC 8693) policy as an actor. */
export type TokenExchangeConfig = NonNullable<ClientConfig["tokenExchange"]>;
/** Shared state in Redis. */
export type RedisConfig = NonNullable<ParsedConfig["redis"]>;
export type RedisNodeConfig = NonNullable<RedisConfig["cluster"]>[number];
