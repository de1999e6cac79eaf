import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { ClientAuthMethod, ClientConfig, GrantConfig, GrantType } from "../config/types.js";

/** A client as the issuer uses it: its configuration with credentials decoded once. */
export interface RegisteredClient {
  readonly id: string;
  readonly authMethod: ClientAuthMethod;
  readonly grantTypes: readonly GrantType[];
  readonly grants: readonly GrantConfig[];
  /** Every audience this client answers to as a resource server: its id and its configured audiences. */
  readonly resourceAudiences: ReadonlySet<string>;
  readonly introspection: boolean;
  readonly tokenLifetimeSeconds: number | undefined;
  /** client_secret_basic/post: SHA-256 digests of the active secrets. */
  readonly secretDigests: readonly Buffer[];
  /** client_secret_jwt: the HMAC key. */
  readonly jwtSecret: Uint8Array | undefined;
  /** private_key_jwt: resolves the client's public key for an assertion. */
  readonly assertionKeys: JWTVerifyGetKey | undefined;
  /** Token exchange as an actor: whose tokens it may exchange, towards which audiences. Undefined: none. */
  readonly tokenExchange: ActorPolicy | undefined;
}

/** Whom a client may act for in a token exchange (RFC 8693), and towards which audiences. */
export interface ActorPolicy {
  /** Subjects (`sub` of subject tokens) it may act for; "*" matches any. */
  readonly subjects: ReadonlySet<string>;
  /** Audiences it may ask for on someone's behalf; undefined: every audience of its grants. */
  readonly audiences: ReadonlySet<string> | undefined;
}

/** `assertionKeys` stands in for inline `jwks` (e.g. the keys behind a client's JWKS URL). */
export function registeredClient(config: ClientConfig, assertionKeys?: JWTVerifyGetKey): RegisteredClient {
  return Object.freeze({
    id: config.id,
    authMethod: config.authMethod,
    grantTypes: Object.freeze([...config.grantTypes]),
    grants: Object.freeze(config.grants.map((g) => Object.freeze({ audience: g.audience, scopes: Object.freeze([...g.scopes]) as string[] }))),
    resourceAudiences: new Set([config.id, ...config.audiences]),
    introspection: config.introspection,
    tokenLifetimeSeconds: config.tokenLifetimeSeconds,
    secretDigests: (config.secretHashes ?? []).map((h) => Buffer.from(h.slice("sha256:".length), "base64url")),
    jwtSecret: config.jwtSecret === undefined ? undefined : new TextEncoder().encode(config.jwtSecret),
    assertionKeys: assertionKeys ?? (config.jwks === undefined ? undefined : createLocalJWKSet(withRegisteredAlgorithms(config.jwks))),
    tokenExchange:
      config.tokenExchange === undefined
        ? undefined
        : Object.freeze({
            subjects: new Set(config.tokenExchange.subjects),
            audiences: config.tokenExchange.audiences === undefined ? undefined : new Set(config.tokenExchange.audiences),
          }),
  });
}

/** The one algorithm an EC key without `alg` is registered for, by its curve. */
const EC_ALGORITHMS: Record<string, string> = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };

/**
 * The client's keys with every RSA or EC key pinned to one algorithm: its
 * `alg` when registered, else ES256/ES384/ES512 by curve, and RS256 for RSA
 * (as OpenID registration defaults token_endpoint_auth_signing_alg). A key
 * then verifies only assertions signed with that algorithm (the key set
 * selects keys by `alg`): an RSA key registered for RS256 never accepts a
 * PS512 assertion. OKP keys have one signature scheme per curve already.
 */
export function withRegisteredAlgorithms(jwks: JSONWebKeySet): JSONWebKeySet {
  return {
    keys: jwks.keys.map((key) => {
      if (typeof key.alg === "string") return key;
      if (key.kty === "RSA") return { ...key, alg: "RS256" };
      const ec = key.kty === "EC" && typeof key.crv === "string" ? EC_ALGORITHMS[key.crv] : undefined;
      return ec === undefined ? key : { ...key, alg: ec };
    }),
  };
}
