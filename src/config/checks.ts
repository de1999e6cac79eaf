// The rules that span fields, each a named check over the parsed
// configuration. A check reports through `fail`, which names the field.
import type { z } from "zod";
import { GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE, type configSchema } from "./schema.js";
import { isLoopbackHost } from "../internal/http-target.js";

type Parsed = z.output<typeof configSchema>;
type Path = readonly PropertyKey[];

export interface CheckContext {
  /** Throws the ConfigError for the field at `path`. */
  fail(path: Path, problem: string): never;
}

/** RFC 8414 §2: an http(s) URL without query or fragment, no surrounding white space. */
export function checkIssuer(issuer: string, ctx: CheckContext): void {
  if (issuer.trim() !== issuer) ctx.fail(["issuer"], "must not have leading or trailing white space");
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    ctx.fail(["issuer"], "must be an absolute URL");
  }
  // URL.search and URL.hash are "" for an empty query ("…/?") or fragment ("…#"): check the string too.
  if (issuer.includes("?") || issuer.includes("#") || url.search || url.hash || !["http:", "https:"].includes(url.protocol)) {
    ctx.fail(["issuer"], "must be an http(s) URL without query or fragment (RFC 8414 §2)");
  }
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * The issuer defaults to the HTTP listener's URL, which is right for one
 * process on a known address only. Replicas sharing Redis must agree on one
 * issuer, and a wildcard address is no URL a client can use: then it must be set.
 */
export function checkIssuerIsExplicit(config: Parsed, devMode: boolean, ctx: CheckContext): void {
  if (config.issuer !== undefined) return;
  if (config.redis !== undefined) {
    ctx.fail(
      ["issuer"],
      "must be set when Redis is configured: every replica must use the same issuer (set issuer, or TESSERA_ISSUER, to the URL clients reach Tessera at)",
    );
  }
  if (WILDCARD_HOSTS.has(config.http.host) && !devMode) {
    ctx.fail(["issuer"], "must be set when http.host is a wildcard address (set issuer, or TESSERA_ISSUER, to the URL clients reach Tessera at)");
  }
}

/** No lifetime above tokens.maxLifetimeSeconds: neither the default nor a client's. */
export function checkLifetimes(config: Parsed, ctx: CheckContext): void {
  const max = config.tokens.maxLifetimeSeconds;
  if (config.tokens.lifetimeSeconds > max) ctx.fail(["tokens", "lifetimeSeconds"], `must not exceed tokens.maxLifetimeSeconds (${max})`);
  config.clients.forEach((client, i) => {
    if (client.tokenLifetimeSeconds !== undefined && client.tokenLifetimeSeconds > max) {
      ctx.fail(["clients", i, "tokenLifetimeSeconds"], `must not exceed tokens.maxLifetimeSeconds (${max})`);
    }
  });
}

export function checkRotation(config: Parsed, ctx: CheckContext): void {
  const { periodSeconds, leadTimeSeconds } = config.signing.rotation;
  if (leadTimeSeconds > periodSeconds)
    ctx.fail(["signing", "rotation", "leadTimeSeconds"], `must not exceed signing.rotation.periodSeconds (${periodSeconds})`);
}

/** Client ids are unique (exact strings), and each client grants an audience once. */
export function checkClients(config: Parsed, ctx: CheckContext): void {
  const ids = new Set<string>();
  config.clients.forEach((client, i) => {
    if (ids.has(client.id)) ctx.fail(["clients", i, "id"], `duplicate client id "${client.id}"`);
    ids.add(client.id);
    const audiences = new Set<string>();
    client.grants.forEach((grant, j) => {
      if (audiences.has(grant.audience)) ctx.fail(["clients", i, "grants", j, "audience"], `duplicate audience "${grant.audience}"`);
      audiences.add(grant.audience);
    });
  });
}

/**
 * Keys inline or by an https URL (exactly one); every subject maps to a client
 * that allows the jwt-bearer grant or authenticates with workload_identity, and
 * every workload_identity client is the mapping of some subject.
 */
export function checkTrustedIssuers(config: Parsed, ctx: CheckContext): void {
  config.trustedIssuers.forEach((trusted, i) => {
    const at = ["trustedIssuers", i] as const;
    if ((trusted.jwks === undefined) === (trusted.jwksUri === undefined)) ctx.fail([...at, "jwks"], "give exactly one of jwks and jwksUri");
    if (trusted.jwksUri !== undefined) {
      let url: URL;
      try {
        url = new URL(trusted.jwksUri);
      } catch {
        ctx.fail([...at, "jwksUri"], "must be an absolute URL");
      }
      if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname)))
        ctx.fail([...at, "jwksUri"], "must be https (http only on loopback)");
    }
    trusted.subjects.forEach(({ clientId }, j) => {
      const client = config.clients.find((c) => c.id === clientId);
      if (client === undefined) ctx.fail([...at, "subjects", j, "clientId"], `no client "${clientId}"`);
      if (!client.grantTypes.includes(GRANT_JWT_BEARER) && client.authMethod !== "workload_identity")
        ctx.fail([...at, "subjects", j, "clientId"], `client "${clientId}" neither allows the jwt-bearer grant nor authenticates with workload_identity`);
    });
  });
  config.clients.forEach((client, i) => {
    if (client.authMethod !== "workload_identity") return;
    const mapped = config.trustedIssuers.some((t) => t.subjects.some((s) => s.clientId === client.id));
    if (!mapped) ctx.fail(["clients", i, "authMethod"], "workload_identity needs a trustedIssuers[].subjects entry that maps a workload to this client");
  });
}

/** A token-exchange client says whom it may act for (tokenExchange), and may act only towards audiences it is granted. */
export function checkTokenExchange(config: Parsed, ctx: CheckContext): void {
  config.clients.forEach((client, i) => {
    const exchange = client.tokenExchange;
    if (client.grantTypes.includes(GRANT_TOKEN_EXCHANGE) && exchange === undefined) {
      ctx.fail(["clients", i, "tokenExchange"], "is required with the token-exchange grant type: name the subjects this client may act for");
    }
    if (exchange === undefined) return;
    if (!client.grantTypes.includes(GRANT_TOKEN_EXCHANGE)) ctx.fail(["clients", i, "tokenExchange"], "is used only with the token-exchange grant type");
    exchange.audiences?.forEach((audience, j) => {
      if (!client.grants.some((g) => g.audience === audience))
        ctx.fail(["clients", i, "tokenExchange", "audiences", j], `"${audience}" is not one of the client's grants`);
    });
  });
}

/** Exactly one topology: url (standalone), sentinels with name, or cluster; a URL carries its own credentials. */
export function checkRedisTopology(config: Parsed, ctx: CheckContext): void {
  const redis = config.redis;
  if (redis === undefined) return;
  const topologies = [redis.url, redis.sentinels, redis.cluster].filter((t) => t !== undefined);
  if (topologies.length !== 1) ctx.fail(["redis"], "give exactly one of url, sentinels (with name) and cluster");
  if (redis.sentinels !== undefined && redis.name === undefined) ctx.fail(["redis", "name"], "is required with redis.sentinels");
  if (redis.sentinels === undefined && redis.name !== undefined) ctx.fail(["redis", "name"], "is used only with redis.sentinels");
  if (redis.url !== undefined) {
    if (redis.username !== undefined) ctx.fail(["redis", "username"], "is given in the URL for a standalone server");
    if (redis.password !== undefined) ctx.fail(["redis", "password"], "is given in the URL for a standalone server");
  }
}

/** A connection's first request cannot be given longer than a whole request. */
export function checkListenerLimits(config: Parsed, ctx: CheckContext): void {
  for (const name of ["http", "grpc"] as const) {
    const { headersTimeoutMs, requestTimeoutMs } = config[name].limits;
    if (headersTimeoutMs > requestTimeoutMs)
      ctx.fail([name, "limits", "headersTimeoutMs"], `must not exceed ${name}.limits.requestTimeoutMs (${requestTimeoutMs})`);
  }
}
