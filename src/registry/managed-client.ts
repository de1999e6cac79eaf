import type { JSONWebKeySet } from "jose";
import type { ClientConfig, GrantConfig, GrantType } from "../config/types.js";

/** The authentication methods a client created at run time may use (client_secret_jwt needs a shared secret at rest: file only). */
export const MANAGED_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;
export type ManagedAuthMethod = (typeof MANAGED_AUTH_METHODS)[number];

/** One active secret of a client: only its hash is kept. */
export interface StoredSecret {
  /** A random id the admin API names the secret by; unrelated to the secret. */
  readonly id: string;
  /** `sha256:<base64url digest>` (hashClientSecret). */
  readonly hash: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
}

/** What an administrator sets on a client (everything but its id, secrets and bookkeeping). */
export interface ManagedClientSettings {
  readonly authMethod: ManagedAuthMethod;
  readonly grantTypes: readonly GrantType[];
  readonly grants: readonly GrantConfig[];
  readonly audiences: readonly string[];
  readonly introspection: boolean;
  /** Undefined: the configured default lifetime. */
  readonly tokenLifetimeSeconds?: number | undefined;
  readonly enabled: boolean;
  /** private_key_jwt: inline public keys, or */
  readonly jwks?: JSONWebKeySet | undefined;
  /** private_key_jwt: where the public keys are fetched. */
  readonly jwksUri?: string | undefined;
}

/** A client created through the admin API, as the registry stores it. */
export interface ManagedClient extends ManagedClientSettings {
  readonly id: string;
  /** Assigned by the store on every write; increases with every change. */
  readonly version: number;
  readonly secrets: readonly StoredSecret[];
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A client about to be written: the store assigns its version. */
export type ManagedClientDraft = Omit<ManagedClient, "version">;

/** At most this many active secrets per client: one in use, one being rolled out. */
export const MAX_ACTIVE_SECRETS = 2;

/** The client in the configuration's shape, as the issuer's registry builds it (inline keys only; a jwksUri is resolved by the registry). */
export function managedClientConfig(client: ManagedClient): ClientConfig {
  return {
    id: client.id,
    authMethod: client.authMethod,
    grantTypes: [...client.grantTypes],
    grants: client.grants.map((g) => ({ audience: g.audience, scopes: [...g.scopes] })),
    audiences: [...client.audiences],
    introspection: client.introspection,
    tokenLifetimeSeconds: client.tokenLifetimeSeconds,
    ...(client.authMethod === "private_key_jwt"
      ? client.jwks !== undefined
        ? { jwks: client.jwks }
        : {}
      : { secretHashes: client.secrets.map((s) => s.hash) }),
  };
}
