import type { JSONWebKeySet } from "jose";
import { ConfigError } from "./config-error.js";
import { DEFAULTS } from "./defaults.js";
import {
  CLIENT_AUTH_METHODS,
  DEFAULT_GRANT_ALGORITHMS,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_TYPES,
  SIGNING_ALGORITHMS,
  type ClientAuthMethod,
  type ClientConfig,
  type GrantConfig,
  type GrantType,
  type ListenerLimits,
  type RedisConfig,
  type RedisNodeConfig,
  type SigningAlgorithm,
  type TesseraConfig,
  type TlsConfig,
  type TrustedIssuerConfig,
} from "./types.js";

type Obj = Record<string, unknown>;

/** Resolves `env:NAME` and `file:PATH` secret references. */
export type SecretResolver = (reference: string, field: string) => string;

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function obj(value: unknown, field: string): Obj {
  if (value === undefined) return {};
  if (!isObj(value)) throw new ConfigError(field, "must be an object");
  return value;
}

function knownKeys(value: Obj, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ConfigError(field ? `${field}.${key}` : key, "unknown field");
  }
}

function str(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) throw new ConfigError(field, "must be a non-empty string");
  return value;
}

function optStr(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : str(value, field);
}

function int(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(field, `must be an integer from ${min} to ${max}`);
  }
  return n;
}

function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ConfigError(field, "must be true or false");
  return value;
}

function strList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(field, "must be a list of strings");
  return value.map((item, i) => str(item, `${field}[${i}]`));
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(field, `must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function listenerLimits(value: unknown, field: string): ListenerLimits {
  const o = obj(value, field);
  knownKeys(o, field, ["maxConnections", "headersTimeoutMs", "requestTimeoutMs", "idleTimeoutMs", "maxConcurrentStreams", "maxHeaderBytes"]);
  const requestTimeoutMs = int(o["requestTimeoutMs"], `${field}.requestTimeoutMs`, 50, 3_600_000, DEFAULTS.listenerRequestTimeoutMs);
  return {
    maxConnections: int(o["maxConnections"], `${field}.maxConnections`, 1, 1_000_000, DEFAULTS.listenerMaxConnections),
    // Node refuses a headers timeout longer than the request timeout.
    headersTimeoutMs: int(o["headersTimeoutMs"], `${field}.headersTimeoutMs`, 50, requestTimeoutMs, Math.min(DEFAULTS.listenerHeadersTimeoutMs, requestTimeoutMs)),
    requestTimeoutMs,
    idleTimeoutMs: int(o["idleTimeoutMs"], `${field}.idleTimeoutMs`, 50, 3_600_000, DEFAULTS.listenerIdleTimeoutMs),
    maxConcurrentStreams: int(o["maxConcurrentStreams"], `${field}.maxConcurrentStreams`, 1, 10_000, DEFAULTS.listenerMaxConcurrentStreams),
    maxHeaderBytes: int(o["maxHeaderBytes"], `${field}.maxHeaderBytes`, 1024, 1_048_576, DEFAULTS.listenerMaxHeaderBytes),
  };
}

function listener(value: unknown, field: string, host: string, port: number): TesseraConfig["http"] {
  const o = obj(value, field);
  knownKeys(o, field, ["host", "port", "tls", "limits"]);
  const result: TesseraConfig["http"] = {
    host: optStr(o["host"], `${field}.host`) ?? host,
    port: int(o["port"], `${field}.port`, 0, 65535, port),
    limits: listenerLimits(o["limits"], `${field}.limits`),
  };
  if (o["tls"] !== undefined) {
    const t = obj(o["tls"], `${field}.tls`);
    knownKeys(t, `${field}.tls`, ["certFile", "keyFile"]);
    const tls: TlsConfig = { certFile: str(t["certFile"], `${field}.tls.certFile`), keyFile: str(t["keyFile"], `${field}.tls.keyFile`) };
    result.tls = tls;
  }
  return result;
}

function grant(value: unknown, field: string): GrantConfig {
  const o = obj(value, field);
  knownKeys(o, field, ["audience", "scopes"]);
  const audience = str(o["audience"], `${field}.audience`);
  if (/\s/.test(audience)) throw new ConfigError(`${field}.audience`, "must not contain white space");
  const scopes = strList(o["scopes"], `${field}.scopes`);
  scopes.forEach((scope, i) => {
    if (!SCOPE_TOKEN.test(scope)) throw new ConfigError(`${field}.scopes[${i}]`, "is not a valid scope token (RFC 6749 §3.3)");
  });
  return { audience, scopes };
}

const SECRET_HASH = /^sha256:[A-Za-z0-9_-]{43}$/;

function jwks(value: unknown, field: string): JSONWebKeySet {
  const o = obj(value, field);
  if (!Array.isArray(o["keys"]) || o["keys"].length === 0) throw new ConfigError(`${field}.keys`, "must be a non-empty list of JWKs");
  o["keys"].forEach((key: unknown, i: number) => {
    if (!isObj(key) || typeof key["kty"] !== "string") throw new ConfigError(`${field}.keys[${i}]`, "must be a JWK with kty");
    for (const priv of ["d", "p", "q", "dp", "dq", "qi", "k"]) {
      if (priv in key) throw new ConfigError(`${field}.keys[${i}].${priv}`, "a client's registered key must be public");
    }
  });
  return o as unknown as JSONWebKeySet;
}

function client(value: unknown, field: string, resolveSecret: SecretResolver, seen: Set<string>): ClientConfig {
  const o = obj(value, field);
  knownKeys(o, field, [
    "id",
    "authMethod",
    "secretHashes",
    "jwtSecret",
    "jwks",
    "grantTypes",
    "grants",
    "audiences",
    "introspection",
    "tokenLifetimeSeconds",
  ]);
  const id = str(o["id"], `${field}.id`);
  if (!/^[\x21-\x7E]+$/.test(id)) {
    throw new ConfigError(`${field}.id`, "must be printable ASCII without spaces");
  }
  if (seen.has(id)) throw new ConfigError(`${field}.id`, `duplicate client id "${id}"`);
  seen.add(id);
  const authMethod: ClientAuthMethod = oneOf(o["authMethod"], `${field}.authMethod`, CLIENT_AUTH_METHODS);
  const result: ClientConfig = {
    id,
    authMethod,
    grantTypes: o["grantTypes"] === undefined ? [GRANT_CLIENT_CREDENTIALS] : [],
    grants: [],
    audiences: strList(o["audiences"], `${field}.audiences`),
    introspection: bool(o["introspection"], `${field}.introspection`, false),
  };
  if (o["grantTypes"] !== undefined) {
    result.grantTypes = strList(o["grantTypes"], `${field}.grantTypes`).map((g, i) =>
      oneOf<GrantType>(g, `${field}.grantTypes[${i}]`, GRANT_TYPES),
    );
  }
  if (!Array.isArray(o["grants"] ?? [])) throw new ConfigError(`${field}.grants`, "must be a list");
  result.grants = ((o["grants"] ?? []) as unknown[]).map((g, i) => grant(g, `${field}.grants[${i}]`));
  const audiences = new Set<string>();
  result.grants.forEach((g, i) => {
    if (audiences.has(g.audience)) throw new ConfigError(`${field}.grants[${i}].audience`, `duplicate audience "${g.audience}"`);
    audiences.add(g.audience);
  });
  if (o["tokenLifetimeSeconds"] !== undefined) {
    result.tokenLifetimeSeconds = int(o["tokenLifetimeSeconds"], `${field}.tokenLifetimeSeconds`, 1, 86400, 0);
  }

  const needs = (key: string, when: boolean) => {
    if (when && o[key] === undefined) throw new ConfigError(`${field}.${key}`, `is required for ${authMethod}`);
    if (!when && o[key] !== undefined) throw new ConfigError(`${field}.${key}`, `is not used by ${authMethod}`);
  };
  const secretMethod = authMethod === "client_secret_basic" || authMethod === "client_secret_post";
  needs("secretHashes", secretMethod);
  needs("jwtSecret", authMethod === "client_secret_jwt");
  needs("jwks", authMethod === "private_key_jwt");
  if (secretMethod) {
    const hashes = strList(o["secretHashes"], `${field}.secretHashes`);
    if (hashes.length < 1 || hashes.length > 2) throw new ConfigError(`${field}.secretHashes`, "must hold one or two hashes");
    hashes.forEach((h, i) => {
      if (!SECRET_HASH.test(h)) throw new ConfigError(`${field}.secretHashes[${i}]`, "must be sha256:<43 base64url characters>");
    });
    result.secretHashes = hashes;
  }
  if (authMethod === "client_secret_jwt") {
    const ref = str(o["jwtSecret"], `${field}.jwtSecret`);
    if (!ref.startsWith("env:") && !ref.startsWith("file:")) {
      throw new ConfigError(`${field}.jwtSecret`, "must be a reference, env:NAME or file:PATH, not the secret itself");
    }
    const secret = resolveSecret(ref, `${field}.jwtSecret`);
    if (Buffer.byteLength(secret, "utf8") < 32) throw new ConfigError(`${field}.jwtSecret`, "the secret must be at least 32 bytes");
    result.jwtSecret = secret;
  }
  if (authMethod === "private_key_jwt") result.jwks = jwks(o["jwks"], `${field}.jwks`);
  return result;
}

const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function trustedIssuer(value: unknown, field: string, clients: readonly ClientConfig[]): TrustedIssuerConfig {
  const o = obj(value, field);
  knownKeys(o, field, ["issuer", "jwks", "jwksUri", "algorithms", "subjects"]);
  const result: TrustedIssuerConfig = {
    issuer: str(o["issuer"], `${field}.issuer`),
    algorithms: o["algorithms"] === undefined ? [...DEFAULT_GRANT_ALGORITHMS] : strList(o["algorithms"], `${field}.algorithms`),
    subjects: [],
  };
  result.algorithms.forEach((alg, i) => {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) throw new ConfigError(`${field}.algorithms[${i}]`, "must be an asymmetric JWS algorithm");
  });
  if ((o["jwks"] === undefined) === (o["jwksUri"] === undefined)) throw new ConfigError(`${field}.jwks`, "give exactly one of jwks and jwksUri");
  if (o["jwks"] !== undefined) result.jwks = jwks(o["jwks"], `${field}.jwks`);
  if (o["jwksUri"] !== undefined) {
    const uri = str(o["jwksUri"], `${field}.jwksUri`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new ConfigError(`${field}.jwksUri`, "must be an absolute URL");
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
      throw new ConfigError(`${field}.jwksUri`, "must be https (http only on loopback)");
    }
    result.jwksUri = uri;
  }
  if (!Array.isArray(o["subjects"]) || o["subjects"].length === 0) throw new ConfigError(`${field}.subjects`, "must be a non-empty list");
  result.subjects = (o["subjects"] as unknown[]).map((m, i) => {
    const f = `${field}.subjects[${i}]`;
    const mapping = obj(m, f);
    knownKeys(mapping, f, ["subject", "clientId"]);
    const clientId = str(mapping["clientId"], `${f}.clientId`);
    const client = clients.find((c) => c.id === clientId);
    if (client === undefined) throw new ConfigError(`${f}.clientId`, `no client "${clientId}"`);
    if (!client.grantTypes.includes(GRANT_JWT_BEARER)) throw new ConfigError(`${f}.clientId`, `client "${clientId}" does not allow the jwt-bearer grant`);
    return { subject: str(mapping["subject"], `${f}.subject`), clientId };
  });
  return result;
}

function redisNode(value: unknown, field: string): RedisNodeConfig {
  const text = str(value, field);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:\[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) throw new ConfigError(field, "must be host:port (IPv6 as [addr]:port)");
  return { host: match[1] ?? match[2]!, port };
}

function redisNodes(value: unknown, field: string): RedisNodeConfig[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(field, "must be a non-empty list of host:port");
  return value.map((v, i) => redisNode(v, `${field}[${i}]`));
}

function redisUrl(value: unknown, field: string): string {
  const url = str(value, field);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL may hold a password: never echo it.
    throw new ConfigError(field, "must be a redis:// or rediss:// URL");
  }
  if ((parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || parsed.hostname === "") {
    throw new ConfigError(field, "must be a redis:// or rediss:// URL");
  }
  if (parsed.pathname !== "" && parsed.pathname !== "/" && !/^\/\d{1,2}$/.test(parsed.pathname)) {
    throw new ConfigError(field, "the path, if any, must be a database number");
  }
  return url;
}

/**
 * The `redis` section, or REDIS_URL: absent both, undefined (memory store).
 * Exactly one topology: url (standalone), sentinels + name, or cluster.
 */
function redis(value: unknown, envUrl: string | undefined, resolveSecret: SecretResolver): RedisConfig | undefined {
  if (value === undefined && !envUrl) return undefined;
  const o = obj(value, "redis");
  knownKeys(o, "redis", ["url", "sentinels", "name", "cluster", "username", "password", "keyPrefix", "waitReplicas", "waitTimeoutMs", "commandTimeoutMs"]);
  const keyPrefix = o["keyPrefix"] === undefined ? DEFAULTS.redisKeyPrefix : str(o["keyPrefix"], "redis.keyPrefix");
  // Tessera adds its own hash tags ({…}) where keys must share a Cluster slot: a brace in the prefix would override them.
  if (!/^[\x21-\x7A\x7C\x7E]+$/.test(keyPrefix) || keyPrefix.length > 64) {
    throw new ConfigError("redis.keyPrefix", "must be at most 64 printable ASCII characters without spaces, { or }");
  }
  const waitReplicas = int(o["waitReplicas"], "redis.waitReplicas", 0, 1, DEFAULTS.redisWaitReplicas) as 0 | 1;
  const config: RedisConfig = {
    keyPrefix,
    waitReplicas,
    waitTimeoutMs: int(o["waitTimeoutMs"], "redis.waitTimeoutMs", 10, 60_000, DEFAULTS.redisWaitTimeoutMs),
    commandTimeoutMs: int(o["commandTimeoutMs"], "redis.commandTimeoutMs", 50, 60_000, DEFAULTS.redisCommandTimeoutMs),
  };
  if (envUrl) {
    for (const other of ["url", "sentinels", "name", "cluster"]) {
      if (o[other] !== undefined) throw new ConfigError("REDIS_URL", `conflicts with redis.${other} in the configuration file`);
    }
    config.url = redisUrl(envUrl, "REDIS_URL");
  } else {
    const topologies = ["url", "sentinels", "cluster"].filter((k) => o[k] !== undefined);
    if (topologies.length !== 1) throw new ConfigError("redis", "give exactly one of url, sentinels (with name) and cluster");
    if (o["url"] !== undefined) config.url = redisUrl(o["url"], "redis.url");
    if (o["sentinels"] !== undefined) {
      config.sentinels = redisNodes(o["sentinels"], "redis.sentinels");
      config.name = str(o["name"], "redis.name");
    } else if (o["name"] !== undefined) {
      throw new ConfigError("redis.name", "is used only with redis.sentinels");
    }
    if (o["cluster"] !== undefined) config.cluster = redisNodes(o["cluster"], "redis.cluster");
  }
  if (config.url !== undefined) {
    for (const k of ["username", "password"]) {
      if (o[k] !== undefined) throw new ConfigError(`redis.${k}`, "is given in the URL for a standalone server");
    }
  }
  if (o["username"] !== undefined) config.username = str(o["username"], "redis.username");
  if (o["password"] !== undefined) {
    const ref = str(o["password"], "redis.password");
    if (!ref.startsWith("env:") && !ref.startsWith("file:")) {
      throw new ConfigError("redis.password", "must be a reference, env:NAME or file:PATH, not the password itself");
    }
    config.password = resolveSecret(ref, "redis.password");
  }
  return config;
}

/** Environment variables that override the file (documented in README). */
export interface EnvOverrides {
  TESSERA_ISSUER?: string | undefined;
  TESSERA_HTTP_HOST?: string | undefined;
  TESSERA_HTTP_PORT?: string | undefined;
  TESSERA_GRPC_HOST?: string | undefined;
  TESSERA_GRPC_PORT?: string | undefined;
  TESSERA_TOKEN_LIFETIME?: string | undefined;
  TESSERA_SIGNING_ALG?: string | undefined;
  TESSERA_SIGNING_KEY_FILE?: string | undefined;
  /** A standalone Redis (redis:// or rediss://): shared state instead of this process's memory. */
  REDIS_URL?: string | undefined;
}

/**
 * Validates a parsed configuration document, applies environment overrides and
 * defaults, and returns the typed configuration. Throws ConfigError naming the
 * first bad field.
 */
export function validateConfig(doc: unknown, env: EnvOverrides, resolveSecret: SecretResolver): TesseraConfig {
  const root = obj(doc, "(root)");
  knownKeys(root, "", ["issuer", "http", "grpc", "tokens", "signing", "clients", "trustedIssuers", "redis", "introspection", "rateLimit", "shutdown"]);
  const http = listener(root["http"], "http", DEFAULTS.httpHost, DEFAULTS.httpPort);
  const { reflection, ...grpcListener } = obj(root["grpc"], "grpc");
  const grpc: TesseraConfig["grpc"] = {
    ...listener(grpcListener, "grpc", DEFAULTS.grpcHost, DEFAULTS.grpcPort),
    reflection: bool(reflection, "grpc.reflection", DEFAULTS.grpcReflection),
  };
  if (env.TESSERA_HTTP_HOST) http.host = env.TESSERA_HTTP_HOST;
  if (env.TESSERA_HTTP_PORT) http.port = int(env.TESSERA_HTTP_PORT, "TESSERA_HTTP_PORT", 0, 65535, 0);
  if (env.TESSERA_GRPC_HOST) grpc.host = env.TESSERA_GRPC_HOST;
  if (env.TESSERA_GRPC_PORT) grpc.port = int(env.TESSERA_GRPC_PORT, "TESSERA_GRPC_PORT", 0, 65535, 0);

  const urlHost = http.host.includes(":") ? `[${http.host}]` : http.host;
  const configuredIssuer = env.TESSERA_ISSUER || optStr(root["issuer"], "issuer");
  const issuer = configuredIssuer ?? `${http.tls ? "https" : "http"}://${urlHost}:${http.port}`;
  if (issuer.trim() !== issuer) throw new ConfigError("issuer", "must not have leading or trailing white space");
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new ConfigError("issuer", "must be an absolute URL");
  }
  // URL.search and URL.hash are "" for an empty query ("…/?") or fragment ("…#"): check the string too.
  if (issuer.includes("?") || issuer.includes("#") || issuerUrl.search || issuerUrl.hash || !["http:", "https:"].includes(issuerUrl.protocol)) {
    throw new ConfigError("issuer", "must be an http(s) URL without query or fragment (RFC 8414 §2)");
  }

  const tokensDoc = obj(root["tokens"], "tokens");
  knownKeys(tokensDoc, "tokens", ["lifetimeSeconds", "maxLifetimeSeconds"]);
  const maxLifetimeSeconds = int(tokensDoc["maxLifetimeSeconds"], "tokens.maxLifetimeSeconds", 1, 86400, DEFAULTS.maxTokenLifetimeSeconds);
  const lifetimeSeconds = int(
    env.TESSERA_TOKEN_LIFETIME || tokensDoc["lifetimeSeconds"],
    env.TESSERA_TOKEN_LIFETIME ? "TESSERA_TOKEN_LIFETIME" : "tokens.lifetimeSeconds",
    1,
    maxLifetimeSeconds,
    Math.min(DEFAULTS.tokenLifetimeSeconds, maxLifetimeSeconds),
  );

  const signingDoc = obj(root["signing"], "signing");
  knownKeys(signingDoc, "signing", ["algorithm", "keyFile", "rotation"]);
  const algorithm = oneOf<SigningAlgorithm>(
    env.TESSERA_SIGNING_ALG || signingDoc["algorithm"],
    env.TESSERA_SIGNING_ALG ? "TESSERA_SIGNING_ALG" : "signing.algorithm",
    SIGNING_ALGORITHMS,
    DEFAULTS.signingAlgorithm,
  );
  const rotationDoc = obj(signingDoc["rotation"], "signing.rotation");
  knownKeys(rotationDoc, "signing.rotation", ["periodSeconds", "leadTimeSeconds", "checkIntervalSeconds"]);
  const periodSeconds = int(rotationDoc["periodSeconds"], "signing.rotation.periodSeconds", 3600, 366 * 86_400, DEFAULTS.keyRotationPeriodSeconds);
  const rotation = {
    periodSeconds,
    leadTimeSeconds: int(rotationDoc["leadTimeSeconds"], "signing.rotation.leadTimeSeconds", 60, periodSeconds, Math.min(DEFAULTS.keyLeadTimeSeconds, periodSeconds)),
    checkIntervalSeconds: int(rotationDoc["checkIntervalSeconds"], "signing.rotation.checkIntervalSeconds", 1, 3600, DEFAULTS.keyCheckIntervalSeconds),
  };
  const signing: TesseraConfig["signing"] = { algorithm, rotation };
  const keyFile = env.TESSERA_SIGNING_KEY_FILE || optStr(signingDoc["keyFile"], "signing.keyFile");
  if (keyFile !== undefined) signing.keyFile = keyFile;

  if (root["clients"] !== undefined && !Array.isArray(root["clients"])) throw new ConfigError("clients", "must be a list");
  const seen = new Set<string>();
  const clients = ((root["clients"] ?? []) as unknown[]).map((c, i) => client(c, `clients[${i}]`, resolveSecret, seen));
  clients.forEach((c, i) => {
    if (c.tokenLifetimeSeconds !== undefined && c.tokenLifetimeSeconds > maxLifetimeSeconds) {
      throw new ConfigError(`clients[${i}].tokenLifetimeSeconds`, `must not exceed tokens.maxLifetimeSeconds (${maxLifetimeSeconds})`);
    }
  });

  if (root["trustedIssuers"] !== undefined && !Array.isArray(root["trustedIssuers"])) throw new ConfigError("trustedIssuers", "must be a list");
  const trustedIssuers = ((root["trustedIssuers"] ?? []) as unknown[]).map((t, i) => trustedIssuer(t, `trustedIssuers[${i}]`, clients));

  const redisConfig = redis(root["redis"], env.REDIS_URL, resolveSecret);
  const introspectionDoc = obj(root["introspection"], "introspection");
  knownKeys(introspectionDoc, "introspection", ["cacheSeconds"]);
  const rateLimitDoc = obj(root["rateLimit"], "rateLimit");
  knownKeys(rateLimitDoc, "rateLimit", ["failures", "windowSeconds"]);
  const shutdownDoc = obj(root["shutdown"], "shutdown");
  knownKeys(shutdownDoc, "shutdown", ["drainMs", "graceMs"]);

  return {
    issuer,
    http,
    grpc,
    tokens: { lifetimeSeconds, maxLifetimeSeconds },
    signing,
    clients,
    trustedIssuers,
    ...(redisConfig !== undefined ? { redis: redisConfig } : {}),
    introspection: {
      cacheSeconds: int(introspectionDoc["cacheSeconds"], "introspection.cacheSeconds", 0, 3600, DEFAULTS.introspectionCacheSeconds),
    },
    rateLimit: {
      failures: int(rateLimitDoc["failures"], "rateLimit.failures", 0, 1_000_000, DEFAULTS.rateLimitFailures),
      windowSeconds: int(rateLimitDoc["windowSeconds"], "rateLimit.windowSeconds", 1, 86_400, DEFAULTS.rateLimitWindowSeconds),
    },
    shutdown: {
      drainMs: int(shutdownDoc["drainMs"], "shutdown.drainMs", 0, 600_000, DEFAULTS.shutdownDrainMs),
      graceMs: int(shutdownDoc["graceMs"], "shutdown.graceMs", 0, 600_000, DEFAULTS.shutdownGraceMs),
    },
    issuerFromListener: configuredIssuer === undefined,
    devMode: false,
  };
}
