import type { JSONWebKeySet } from "jose";

/** JWS algorithms Tessera signs access tokens with. ES256 is the default: fast to sign and verify. */
export type SigningAlgorithm = "ES256" | "EdDSA" | "RS256";
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ["ES256", "EdDSA", "RS256"];

/** Client authentication methods (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9). */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "client_secret_jwt" | "private_key_jwt";
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  "client_secret_basic",
  "client_secret_post",
  "client_secret_jwt",
  "private_key_jwt",
];

export const GRANT_CLIENT_CREDENTIALS = "client_credentials";
export const GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export type GrantType = typeof GRANT_CLIENT_CREDENTIALS | typeof GRANT_JWT_BEARER;
export const GRANT_TYPES: readonly GrantType[] = [GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER];

/** One audience a client may get tokens for, and the scopes it may get there. */
export interface GrantConfig {
  /** The audience: a resource indicator (absolute URI), a service name or another client's id. Matched exactly. */
  audience: string;
  /** The scopes the client may request for this audience. */
  scopes: string[];
}

/** A registered client. */
export interface ClientConfig {
  /** The client identifier; also usable as an audience (every client can be a resource server). */
  id: string;
  /** The one authentication method this client uses. */
  authMethod: ClientAuthMethod;
  /**
   * client_secret_basic / client_secret_post: SHA-256 digests of the client's
   * secrets, as `sha256:<base64url>` (`tessera secret` makes one). At most two,
   * so that a secret can be rotated.
   */
  secretHashes?: string[];
  /**
   * client_secret_jwt: the shared HMAC secret (at least 32 bytes). Given as
   * `env:NAME` or `file:PATH` so that it is not written in the config file;
   * the loaded configuration holds the resolved value.
   */
  jwtSecret?: string;
  /** private_key_jwt: the client's public keys. */
  jwks?: JSONWebKeySet;
  /** Grant types the client may use. Default: client_credentials. */
  grantTypes: GrantType[];
  /** Audiences and scopes the client may get tokens for. */
  grants: GrantConfig[];
  /** Further audience names under which this client acts as a resource server (besides its id). */
  audiences: string[];
  /** Whether the client may introspect tokens issued for its audiences (RFC 7662). Default false. */
  introspection: boolean;
  /** Lifetime of tokens issued to this client, capped by tokens.maxLifetimeSeconds. Default: tokens.lifetimeSeconds. */
  tokenLifetimeSeconds?: number;
}

export interface ListenerConfig {
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
}

/**
 * Limits of one listener against slow, idle and excess connections
 * (defaults in src/config/defaults.ts; README "Listeners: timeouts, limits and shutdown").
 */
export interface ListenerLimits {
  /** Open connections at most; further ones are closed on accept. Default 1024. */
  maxConnections: number;
  /** A new connection must deliver its first complete request (gRPC: its first call) within this time; HTTP/1.1 each further request head too. Default 10000. */
  headersTimeoutMs: number;
  /** A request (gRPC call) must have arrived completely, body included, within this time of its start. Default 30000. */
  requestTimeoutMs: number;
  /** A connection with no request in flight (HTTP/1.1 keep-alive, HTTP/2 session without streams) is closed after this time. Default 60000. */
  idleTimeoutMs: number;
  /** Concurrent HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  maxConcurrentStreams: number;
  /** Largest request head: HTTP/1.1 request line and headers, HTTP/2 header list. Default 16384. */
  maxHeaderBytes: number;
}

export interface TlsConfig {
  /** PEM certificate chain file. */
  certFile: string;
  /** PEM private key file. */
  keyFile: string;
}

/** An external issuer trusted for the jwt-bearer grant (RFC 7523 §2.1), e.g. a workload identity provider. */
export interface TrustedIssuerConfig {
  /** The issuer identifier, matched exactly against the assertion's `iss`. */
  issuer: string;
  /** Its public keys, inline. Exactly one of jwks and jwksUri. */
  jwks?: JSONWebKeySet;
  /** Where its public keys are fetched (timeout 5 s, 256 KiB cap, refetch cooldown 30 s). https, or http on loopback. */
  jwksUri?: string;
  /** Accepted assertion algorithms. Default: RS256, PS256, ES256, ES384, EdDSA. */
  algorithms: string[];
  /** Which assertion subject stands for which registered client. */
  subjects: { subject: string; clientId: string }[];
}

export const DEFAULT_GRANT_ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];

/** A Redis node address. */
export interface RedisNodeConfig {
  host: string;
  port: number;
}

/**
 * Shared state in Redis (deny-list and revocation feed, introspection cache,
 * assertion replay, failed-authentication counts). Exactly one of `url`,
 * `sentinels` (with `name`) and `cluster`.
 */
export interface RedisConfig {
  /** Standalone server: `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). REDIS_URL overrides. */
  url?: string;
  /** Sentinel: the sentinels' addresses; `name` is the monitored master's name. */
  sentinels?: RedisNodeConfig[];
  /** Sentinel: the name of the master set. */
  name?: string;
  /** Cluster: some of its nodes (the rest is discovered). */
  cluster?: RedisNodeConfig[];
  /** ACL user name (sentinel and cluster; a URL carries its own). */
  username?: string;
  /** Password, given as `env:NAME` or `file:PATH` (sentinel and cluster; a URL carries its own); resolved here. */
  password?: string;
  /** Prefix of every key Tessera writes. Default "tessera:". */
  keyPrefix: string;
  /** Replicas that must confirm a revocation (WAIT) before it is acknowledged: 0 or 1. Default 0. */
  waitReplicas: 0 | 1;
  /** How long a revocation waits for the replica, in milliseconds. Default 500. */
  waitTimeoutMs: number;
  /** Longest a Redis operation may take before the request fails with 503, in milliseconds. Default 2000. */
  commandTimeoutMs: number;
}

/** The whole Tessera configuration, after defaults and validation. */
export interface TesseraConfig {
  /** The issuer identifier (`iss` of every token, `aud` of client assertions). Default: http://<http.host>:<http.port>. */
  issuer: string;
  /** The HTTP listener: Connect, gRPC-Web, OAuth endpoints; HTTP/1.1 and h2c. Default 127.0.0.1:8080. */
  http: ListenerConfig & { tls?: TlsConfig; limits: ListenerLimits };
  /** The gRPC listener (grpc-js). Default 127.0.0.1:9090. */
  grpc: ListenerConfig & {
    tls?: TlsConfig;
    limits: ListenerLimits;
    /** Serve gRPC server reflection (grpc.reflection.v1, v1alpha) for TokenService and Health. Default true. */
    reflection: boolean;
  };
  /** Graceful shutdown on SIGTERM/SIGINT. */
  shutdown: {
    /** How long Tessera keeps serving while not ready, so that load balancers stop sending to it. Default 5000. */
    drainMs: number;
    /** After the drain, how long in-flight requests and streams may take before their connections are closed. Default 10000. */
    graceMs: number;
  };
  tokens: {
    /** Default access-token lifetime in seconds. Default 300. */
    lifetimeSeconds: number;
    /** Upper bound for any per-client lifetime. Default 3600. */
    maxLifetimeSeconds: number;
  };
  signing: {
    /** Algorithm of a generated key. Default ES256. */
    algorithm: SigningAlgorithm;
    /**
     * A PEM (PKCS#8) or JWK private key file, for keys managed elsewhere: it
     * signs as it is, without rotation. When absent, Tessera manages its keys
     * (see rotation): in memory for one process, in Redis (sealed under
     * TESSERA_KEK) for replicas.
     */
    keyFile?: string;
    /** Rotation of managed keys. */
    rotation: {
      /** How long a key signs before the next takes over. Default 7 days. */
      periodSeconds: number;
      /** How long a key is published before it signs; longer than any verifier's JWKS cache. Default 1 hour. */
      leadTimeSeconds: number;
      /** How often each replica checks the schedule. Default 60 s. */
      checkIntervalSeconds: number;
    };
  };
  /** Registered clients. */
  clients: ClientConfig[];
  /** External issuers for the jwt-bearer grant. */
  trustedIssuers: TrustedIssuerConfig[];
  /** Shared state in Redis; absent: in this process's memory (one replica only). */
  redis?: RedisConfig;
  introspection: {
    /** How long an active introspection answer is cached (never past the token's exp); 0: no cache. Default 60. */
    cacheSeconds: number;
  };
  /** Throttling of failed client authentications per (client, source address). */
  rateLimit: {
    /** Failed authentications within the window after which the pair gets 429; 0: no throttling. Default 10. */
    failures: number;
    /** The window, in seconds, counted from the first failure. Default 60. */
    windowSeconds: number;
  };
  /** True when no issuer was configured: it is then the HTTP listener's URL, as bound (port 0 resolved). */
  issuerFromListener: boolean;
  /** True when Tessera runs with generated defaults and a demo client. */
  devMode: boolean;
}
