import { getOption, hasOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { method_auth, service_auth, type AuthRule } from "../../gen/tessera/v1/options_pb.js";
import { SCOPE_TOKEN } from "../internal/oauth-syntax.js";
import type { ResolvedAuthRule, RuleSource } from "./auth-rule.js";

/** Services that are public without a declared rule: health checks and reflection. */
export const PUBLIC_SERVICES: ReadonlySet<string> = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/**
 * A method without a rule, or with a contradictory one: a configuration error found at start.
 *
 * @example
 * ```ts
 * import { AuthRuleError } from "tessera";
 * import { authServerInterceptor } from "tessera/grpc";
 *
 * try {
 *   authServerInterceptor({ verifier, services: [FilesService] });
 * } catch (err) {
 *   if (err instanceof AuthRuleError) console.error("declare (tessera.v1.method_auth) on", err.methods);
 *   throw err;
 * }
 * ```
 */
export class AuthRuleError extends Error {
  readonly code = "ERR_AUTH_RULE";
  constructor(
    readonly methods: readonly string[],
    problem: string,
  ) {
    super(`${problem}: ${methods.join(", ")}`);
    this.name = "AuthRuleError";
  }
}

const cache = new WeakMap<DescMethod, ResolvedAuthRule>();

function resolve(method: DescMethod, rule: AuthRule, source: RuleSource): ResolvedAuthRule {
  const name = `/${method.parent.typeName}/${method.name}`;
  const bearerParts = rule.scopes.length > 0 || rule.anyOf.length > 0 || rule.audience !== "";
  if (rule.public && rule.clientAuthentication) throw new AuthRuleError([name], "a rule cannot be both public and client_authentication");
  if ((rule.public || rule.clientAuthentication) && bearerParts) {
    throw new AuthRuleError([name], "a public or client_authentication rule cannot name scopes or an audience");
  }
  if (rule.public) return Object.freeze({ kind: "public", source });
  if (rule.clientAuthentication) return Object.freeze({ kind: "client_authentication", source });
  const scopes = [...rule.scopes, ...rule.anyOf.flatMap((s) => s.scopes)];
  if (scopes.some((s) => !SCOPE_TOKEN.test(s))) throw new AuthRuleError([name], "a scope in the rule is not a valid scope token");
  if (rule.anyOf.some((s) => s.scopes.length === 0)) throw new AuthRuleError([name], "an any_of alternative is empty");
  return Object.freeze({
    kind: "bearer",
    audience: rule.audience || method.parent.typeName,
    allOf: Object.freeze([...new Set(rule.scopes)]),
    anyOf: Object.freeze(rule.anyOf.map((s) => Object.freeze([...new Set(s.scopes)]))),
    source,
  });
}

/** The rule of a method, or undefined when none is declared and the service is not allow-listed. Cached. */
export function findAuthRule(method: DescMethod): ResolvedAuthRule | undefined {
  const cached = cache.get(method);
  if (cached !== undefined) return cached;
  let rule: ResolvedAuthRule | undefined;
  if (hasOption(method, method_auth)) rule = resolve(method, getOption(method, method_auth), "method");
  else if (hasOption(method.parent, service_auth)) rule = resolve(method, getOption(method.parent, service_auth), "service");
  else if (PUBLIC_SERVICES.has(method.parent.typeName)) rule = Object.freeze({ kind: "public", source: "allow-list" });
  if (rule !== undefined) cache.set(method, rule);
  return rule;
}

/**
 * The rules of every method of a service. Throws AuthRuleError naming every
 * method without a rule: such a method is never silently open.
 */
export function authRulesOf(service: DescService): ReadonlyMap<string, ResolvedAuthRule> {
  const rules = new Map<string, ResolvedAuthRule>();
  const missing: string[] = [];
  for (const method of service.methods) {
    const rule = findAuthRule(method);
    if (rule === undefined) missing.push(`/${service.typeName}/${method.name}`);
    else rules.set(method.name, rule);
  }
  if (missing.length > 0) throw new AuthRuleError(missing, "no auth rule declared (add option (tessera.v1.method_auth) or (tessera.v1.service_auth))");
  return rules;
}
