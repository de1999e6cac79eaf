/**
 * The auth rule of one RPC, resolved from our proto options
 * (tessera.v1.method_auth / service_auth) or the built-in allow-list.
 */
export type ResolvedAuthRule =
  /** No credentials at all. */
  | { readonly kind: "public"; readonly source: RuleSource }
  /** The method authenticates an OAuth client itself (introspection, revocation). */
  | { readonly kind: "client_authentication"; readonly source: RuleSource }
  /** A bearer token for `audience` carrying every scope of `allOf` and every scope of one `anyOf` set (if any). */
  | {
      readonly kind: "bearer";
      readonly audience: string;
      readonly allOf: readonly string[];
      readonly anyOf: readonly (readonly string[])[];
      readonly source: RuleSource;
    };

/** Where a rule came from, for error messages and `policy check`. */
export type RuleSource = "method" | "service" | "allow-list";

/** Whether granted scopes satisfy a bearer rule (exact string match). */
export function scopesSatisfy(rule: Extract<ResolvedAuthRule, { kind: "bearer" }>, granted: ReadonlySet<string> | readonly string[]): boolean {
  // Loops, not closures: every call of a protected method runs this.
  if (!holdsAll(granted, rule.allOf)) return false;
  if (rule.anyOf.length === 0) return true;
  for (const set of rule.anyOf) if (holdsAll(granted, set)) return true;
  return false;
}

function holdsAll(granted: ReadonlySet<string> | readonly string[], scopes: readonly string[]): boolean {
  const list = Array.isArray(granted) ? (granted as readonly string[]) : undefined;
  for (const scope of scopes) {
    if (!(list !== undefined ? list.includes(scope) : (granted as ReadonlySet<string>).has(scope))) return false;
  }
  return true;
}

/**
 * The least-privilege scopes to request for a bearer rule: every all-of scope
 * plus the first any-of alternative.
 */
export function leastPrivilegeScopes(rule: Extract<ResolvedAuthRule, { kind: "bearer" }>): string[] {
  return [...new Set([...rule.allOf, ...(rule.anyOf[0] ?? [])])];
}

/**
 * Every least-privilege scope set that satisfies a bearer rule, in order of
 * declaration: the all-of scopes plus one any-of alternative each (or the
 * all-of scopes alone when there are no alternatives).
 */
export function scopeAlternatives(rule: Extract<ResolvedAuthRule, { kind: "bearer" }>): string[][] {
  if (rule.anyOf.length === 0) return [[...rule.allOf]];
  return rule.anyOf.map((set) => [...new Set([...rule.allOf, ...set])]);
}

/** The scopes to name in an insufficient_scope answer. */
export function describeRequiredScopes(rule: Extract<ResolvedAuthRule, { kind: "bearer" }>): string[] {
  return leastPrivilegeScopes(rule);
}
