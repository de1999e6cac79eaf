import { Buffer } from "node:buffer";
import {
  checkClients,
  checkIssuer,
  checkListenerLimits,
  checkIssuerIsExplicit,
  checkLifetimes,
  checkRedisTopology,
  checkRotation,
  checkTokenExchange,
  checkTrustedIssuers,
  type CheckContext,
} from "./checks.js";
import { ConfigError } from "./config-error.js";
import { configError, configErrorFromIssue, fieldName, type IssueContext } from "./config-issues.js";
import { overlayEnv, type EnvOverrides } from "./env-overlay.js";
import { configSchema } from "./schema.js";
import type { TesseraConfig } from "./types.js";

export type { EnvOverrides } from "./env-overlay.js";

/** Resolves `env:NAME` and `file:PATH` secret references; throws a ConfigError naming `field`. */
export type SecretResolver = (reference: string, field: string) => string;

export interface ValidateOptions {
  /** Dev mode: a demo on this machine, where a defaulted issuer is fine even on a wildcard address. */
  devMode?: boolean;
}

function given(doc: unknown, path: readonly string[]): boolean {
  let value = doc;
  for (const key of path) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value !== undefined;
}

/**
 * Validates a parsed configuration document: applies the environment
 * overrides, the schema (shape and defaults) and the cross-field checks, then
 * resolves secret references. Throws a ConfigError naming the first bad field.
 *
 * @example
 * const config = validateConfig(parse(readFileSync("tessera.yaml", "utf8")), process.env, secretResolver(process.env));
 */
export function validateConfig(doc: unknown, env: EnvOverrides, resolveSecret: SecretResolver, options: ValidateOptions = {}): TesseraConfig {
  const overlaid = overlayEnv(doc ?? {}, env);
  const context: IssueContext = overlaid;
  const result = configSchema.safeParse(overlaid.doc);
  if (!result.success) {
    // A misspelt field is also a missing one: name the misspelling, which comes with a suggestion.
    const issues = result.error.issues;
    throw configErrorFromIssue(issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!, context);
  }
  const parsed = result.data;
  const ctx: CheckContext = {
    fail: (path, problem) => {
      throw configError(path, problem, context);
    },
  };

  // Defaults that follow another field when not given.
  if (!given(overlaid.doc, ["tokens", "lifetimeSeconds"]))
    parsed.tokens.lifetimeSeconds = Math.min(parsed.tokens.lifetimeSeconds, parsed.tokens.maxLifetimeSeconds);
  const rotation = parsed.signing.rotation;
  if (!given(overlaid.doc, ["signing", "rotation", "leadTimeSeconds"])) rotation.leadTimeSeconds = Math.min(rotation.leadTimeSeconds, rotation.periodSeconds);
  for (const name of ["http", "grpc"] as const) {
    const limits = parsed[name].limits;
    if (!given(overlaid.doc, [name, "limits", "headersTimeoutMs"])) limits.headersTimeoutMs = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  }
  const { http } = parsed;
  const issuer = parsed.issuer ?? `${http.tls ? "https" : "http"}://${http.host.includes(":") ? `[${http.host}]` : http.host}:${http.port}`;

  checkIssuer(issuer, ctx);
  checkLifetimes(parsed, ctx);
  checkRotation(parsed, ctx);
  checkListenerLimits(parsed, ctx);
  checkClients(parsed, ctx);
  checkTrustedIssuers(parsed, ctx);
  checkTokenExchange(parsed, ctx);
  checkRedisTopology(parsed, ctx);
  checkIssuerIsExplicit(parsed, options.devMode === true, ctx);

  const resolve = (reference: string, path: readonly PropertyKey[]): string => {
    try {
      return resolveSecret(reference, fieldName(path, context));
    } catch (err) {
      throw err instanceof ConfigError ? configError(path, err.problem, context) : err;
    }
  };
  parsed.clients.forEach((client, i) => {
    if (client.authMethod !== "client_secret_jwt") return;
    client.jwtSecret = resolve(client.jwtSecret, ["clients", i, "jwtSecret"]);
    if (Buffer.byteLength(client.jwtSecret, "utf8") < 32) ctx.fail(["clients", i, "jwtSecret"], "the secret must be at least 32 bytes");
  });
  if (parsed.redis?.password !== undefined) parsed.redis.password = resolve(parsed.redis.password, ["redis", "password"]);

  const { issuer: configured, ...rest } = parsed;
  return { ...rest, issuer, issuerFromListener: configured === undefined, devMode: options.devMode === true };
}
