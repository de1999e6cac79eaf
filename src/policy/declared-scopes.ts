import { readFileSync } from "node:fs";
import type { DescMethod } from "@bufbuild/protobuf";
import { ConfigError } from "../config/config-error.js";
import { nearestField } from "../config/config-issues.js";
import type { ClientConfig } from "../config/types.js";
import type { ResolvedAuthRule } from "./auth-rule.js";
import { findAuthRule } from "./read-auth-rules.js";
import { servicesFromDescriptorSet } from "./rules-by-path.js";

/** One method of a loaded descriptor set and its rule (undefined: no rule declared, or a contradictory one: see problem). */
export interface DeclaredMethod {
  readonly path: string;
  readonly rule: ResolvedAuthRule | undefined;
  /** Why the declared rule is unusable (AuthRuleError's message). */
  readonly problem?: string;
}

function declaredMethod(path: string, method: DescMethod): DeclaredMethod {
  try {
    return { path, rule: findAuthRule(method) };
  } catch (err) {
    return { path, rule: undefined, problem: (err as Error).message };
  }
}

/**
 * What the services Tessera issues tokens for declare in their protos, from
 * descriptor sets (`buf build -o`, `protoc --include_imports
 * --descriptor_set_out`): every method's rule, and each audience's scopes.
 * A grant naming a scope that no method of its audience declares is a
 * mistake (a typo, a renamed scope): scopeProblem says so, with the nearest
 * declared scope. Audiences no loaded service declares are not checked.
 */
export class DeclaredScopes {
  readonly methods: readonly DeclaredMethod[];
  /** Audience → every scope its methods declare (all-of and any-of). */
  readonly byAudience: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(sets: readonly Uint8Array[]) {
    const methods: DeclaredMethod[] = [];
    const seen = new Set<string>();
    for (const set of sets) {
      for (const service of servicesFromDescriptorSet(set)) {
        for (const method of service.methods as readonly DescMethod[]) {
          const path = `/${service.typeName}/${method.name}`;
          if (seen.has(path)) continue;
          seen.add(path);
          methods.push(declaredMethod(path, method));
        }
      }
    }
    const byAudience = new Map<string, Set<string>>();
    for (const { rule } of methods) {
      if (rule?.kind !== "bearer") continue;
      const scopes = byAudience.get(rule.audience) ?? new Set<string>();
      byAudience.set(rule.audience, scopes);
      for (const scope of [...rule.allOf, ...rule.anyOf.flat()]) scopes.add(scope);
    }
    this.methods = methods;
    this.byAudience = byAudience;
  }

  /** Why `scope` may not be granted for `audience`, or undefined when it may (or the audience is not a loaded service's). */
  scopeProblem(audience: string, scope: string): string | undefined {
    const declared = this.byAudience.get(audience);
    if (declared === undefined || declared.has(scope)) return undefined;
    const known = [...declared].sort();
    const near = nearestField(scope, known);
    const hint =
      near !== undefined
        ? `; did you mean "${near}"?`
        : known.length > 0
          ? `; it declares ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", …" : ""}`
          : "";
    return `no method of ${audience} declares the scope "${scope}"${hint}`;
  }

  /** Every problem of the clients' grants, by configuration path (`clients[1].grants[0].scopes[2]`). */
  grantProblems(clients: readonly ClientConfig[]): { field: string; label: string; problem: string }[] {
    const found: { field: string; label: string; problem: string }[] = [];
    for (const [i, client] of clients.entries()) {
      for (const [j, grant] of client.grants.entries()) {
        for (const [k, scope] of grant.scopes.entries()) {
          const problem = this.scopeProblem(grant.audience, scope);
          if (problem !== undefined)
            found.push({ field: `clients[${i}].grants[${j}].scopes[${k}]`, label: `clients[${i}] (${client.id}).grants[${j}].scopes[${k}]`, problem });
        }
      }
    }
    return found;
  }
}

/**
 * The declared scopes of the configured descriptor sets (undefined when none
 * are configured), with every grant of the file's clients checked against
 * them. Throws ConfigError for an unreadable set or a grant naming an
 * undeclared scope.
 */
export function loadDeclaredScopes(paths: readonly string[], clients: readonly ClientConfig[]): DeclaredScopes | undefined {
  if (paths.length === 0) return undefined;
  const sets = paths.map((path, i) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`policy.descriptorSets[${i}]`, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  });
  let declared: DeclaredScopes;
  try {
    declared = new DeclaredScopes(sets);
  } catch (err) {
    throw new ConfigError("policy.descriptorSets", `not a descriptor set Tessera can read: ${(err as Error).message}`);
  }
  const [first] = declared.grantProblems(clients);
  if (first !== undefined) throw new ConfigError(first.field, first.problem, first.label);
  return declared;
}
