import type { JSONWebKeySet } from "jose";
import { GRANT_TYPES, type GrantConfig, type GrantType } from "../config/types.js";
import { InvalidRequestError } from "../errors/tessera-error.js";
import { checkedTransportUrl } from "../internal/http-target.js";
import { SCOPE_TOKEN } from "../internal/oauth-syntax.js";
import { MANAGED_AUTH_METHODS, type ManagedAuthMethod, type ManagedClientSettings } from "./managed-client.js";

/**
 * A client's settings as the admin API receives them: unchecked, in the API's
 * vocabulary (0 lifetime = the default, empty strings = not set). Field names
 * in errors are the API's (`client.grants[1].scopes[0]`).
 */
export interface ClientSettingsInput {
  authMethod: string;
  grantTypes: readonly string[];
  grants: readonly { audience: string; scopes: readonly string[] }[];
  audiences: readonly string[];
  introspection: boolean;
  tokenLifetimeSeconds: number;
  enabled: boolean;
  jwksJson: string;
  jwksUri: string;
}

/** The limits a client's settings are checked against. */
export interface SettingsLimits {
  /** tokens.maxLifetimeSeconds. */
  maxTokenLifetimeSeconds: number;
  /** Why a scope may not be granted for an audience (the services' protos do not declare it), or undefined. */
  scopeProblem?: ((audience: string, scope: string) => string | undefined) | undefined;
}

/** Refuses bad input, naming the field; the message never echoes key material. */
function refuse(field: string, problem: string): never {
  throw new InvalidRequestError(`${field}: ${problem}`);
}

/** Client ids and audiences: printable ASCII without spaces (the configuration's rule), at most 255 characters. */
const NAME = /^[\x21-\x7E]{1,255}$/;

/** A client id as the configuration accepts it. */
export function checkClientId(id: string, field = "client.client_id"): string {
  if (id === "") refuse(field, "is required");
  if (!NAME.test(id)) refuse(field, "must be 1 to 255 printable ASCII characters without spaces");
  return id;
}

function checkAudience(audience: string, field: string): string {
  if (audience === "") refuse(field, "is required");
  if (!NAME.test(audience)) refuse(field, "must be 1 to 255 printable ASCII characters without spaces (a URI, a service name or a client id)");
  if (audience.includes("#")) refuse(field, "must not contain a fragment (#)");
  return audience;
}

function checkGrants(grants: ClientSettingsInput["grants"], limits: SettingsLimits): GrantConfig[] {
  const seen = new Set<string>();
  return grants.map((grant, i) => {
    const at = `client.grants[${i}]`;
    const audience = checkAudience(grant.audience, `${at}.audience`);
    if (seen.has(audience)) refuse(`${at}.audience`, `duplicate audience "${audience}"`);
    seen.add(audience);
    grant.scopes.forEach((scope, j) => {
      if (!SCOPE_TOKEN.test(scope)) refuse(`${at}.scopes[${j}]`, "is not a valid scope token (RFC 6749 §3.3)");
      const problem = limits.scopeProblem?.(audience, scope);
      if (problem !== undefined) refuse(`${at}.scopes[${j}]`, problem);
    });
    return { audience, scopes: [...new Set(grant.scopes)] };
  });
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** A JWK Set of public keys, from JSON. */
export function parsePublicJwks(json: string, field: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    refuse(field, "is not valid JSON");
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (typeof parsed !== "object" || parsed === null || !Array.isArray(keys) || keys.length === 0) refuse(field, "must be a JWK Set with a non-empty keys list");
  keys.forEach((key: unknown, i) => {
    if (typeof key !== "object" || key === null || Array.isArray(key) || typeof (key as { kty?: unknown }).kty !== "string")
      refuse(`${field}.keys[${i}]`, "must be a JWK with kty");
    for (const member of PRIVATE_JWK_MEMBERS) if (member in key) refuse(`${field}.keys[${i}].${member}`, "a registered key must be public");
  });
  return { keys: keys as JSONWebKeySet["keys"] };
}

/** A JWKS URL: https, or http on loopback; no user info. */
export function checkJwksUri(uri: string, field: string): string {
  try {
    checkedTransportUrl(uri, "a client's keys", false);
  } catch (err) {
    refuse(field, (err as Error).message);
  }
  return uri;
}

/**
 * Checks and converts a client's settings; every problem is an
 * InvalidRequestError naming the field. `hasSecret` says whether the client
 * has (or is about to get) an active secret.
 */
export function checkSettings(input: ClientSettingsInput, limits: SettingsLimits, hasSecret: boolean): ManagedClientSettings {
  const authMethod = input.authMethod === "" ? "client_secret_basic" : input.authMethod;
  if (authMethod === "client_secret_jwt")
    refuse("client.auth_method", "client_secret_jwt needs a shared secret kept in the clear: configure such clients in the file");
  if (!(MANAGED_AUTH_METHODS as readonly string[]).includes(authMethod)) refuse("client.auth_method", `must be one of ${MANAGED_AUTH_METHODS.join(", ")}`);
  input.grantTypes.forEach((type, i) => {
    if (!(GRANT_TYPES as readonly string[]).includes(type)) refuse(`client.grant_types[${i}]`, `must be one of ${GRANT_TYPES.join(", ")}`);
  });
  const grants = checkGrants(input.grants, limits);
  const audiences = input.audiences.map((a, i) => checkAudience(a, `client.audiences[${i}]`));
  const lifetime = input.tokenLifetimeSeconds;
  if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > limits.maxTokenLifetimeSeconds)
    refuse("client.token_lifetime_seconds", `must be from 1 to ${limits.maxTokenLifetimeSeconds} (tokens.maxLifetimeSeconds), or 0 for the default`);
  if (input.jwksJson !== "" && input.jwksUri !== "") refuse("client.jwks_json", "give exactly one of jwks_json and jwks_uri");
  const jwks = input.jwksJson === "" ? undefined : parsePublicJwks(input.jwksJson, "client.jwks_json");
  const jwksUri = input.jwksUri === "" ? undefined : checkJwksUri(input.jwksUri, "client.jwks_uri");
  if (authMethod === "private_key_jwt" && jwks === undefined && jwksUri === undefined)
    refuse("client.jwks_json", "private_key_jwt needs the client's public keys: jwks_json or jwks_uri");
  if (authMethod !== "private_key_jwt" && !hasSecret) refuse("client.auth_method", `${authMethod} needs an active secret: add one first`);
  return {
    authMethod: authMethod as ManagedAuthMethod,
    grantTypes: [...new Set(input.grantTypes as readonly GrantType[])],
    grants,
    audiences: [...new Set(audiences)],
    introspection: input.introspection,
    tokenLifetimeSeconds: lifetime === 0 ? undefined : lifetime,
    enabled: input.enabled,
    jwks,
    jwksUri,
  };
}

/** The settings back in the API's vocabulary (what an update starts from). */
export function settingsInput(settings: ManagedClientSettings): ClientSettingsInput {
  return {
    authMethod: settings.authMethod,
    grantTypes: [...settings.grantTypes],
    grants: settings.grants.map((g) => ({ audience: g.audience, scopes: [...g.scopes] })),
    audiences: [...settings.audiences],
    introspection: settings.introspection,
    tokenLifetimeSeconds: settings.tokenLifetimeSeconds ?? 0,
    enabled: settings.enabled,
    jwksJson: settings.jwks === undefined ? "" : JSON.stringify(settings.jwks),
    jwksUri: settings.jwksUri ?? "",
  };
}
