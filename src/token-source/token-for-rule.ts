import { GrpcCode, InvalidScopeError, InvalidTargetError } from "../errors/tessera-error.js";
import { describeRequiredScopes, scopeAlternatives, type ResolvedAuthRule } from "../policy/auth-rule.js";
import type { TokenSource } from "./token-source.js";

type BearerRule = Extract<ResolvedAuthRule, { kind: "bearer" }>;

/** Which alternative of a rule this client was granted, once found. */
const granted = new WeakMap<TokenSource, WeakMap<BearerRule, number>>();

/**
 * A token with the least scopes that satisfy a method's rule. With any-of
 * alternatives, the first one the client's grant allows: an alternative the
 * token service refuses as invalid_scope is skipped, and the one that worked
 * is remembered for the next calls. Rejects with the last refusal when none works.
 *
 * A refusal (the scope or the audience is outside the client's grant) names
 * what the method requires, as a resource server's insufficient_scope does, so
 * that the caller reads the same error details whichever side said no.
 */
export async function tokenForRule(tokens: TokenSource, rule: BearerRule): Promise<{ token: string; scopes: readonly string[] }> {
  let memo = granted.get(tokens);
  if (memo === undefined) {
    memo = new WeakMap();
    granted.set(tokens, memo);
  }
  const alternatives = scopeAlternatives(rule);
  const first = memo.get(rule) ?? 0;
  let lastError: unknown;
  for (let i = 0; i < alternatives.length; i++) {
    const index = (first + i) % alternatives.length;
    const scopes = alternatives[index]!;
    try {
      const token = await tokens.get(rule.audience, scopes);
      memo.set(rule, index);
      return { token, scopes };
    } catch (err) {
      if (!(err instanceof InvalidScopeError)) throw withRequirement(err, rule);
      lastError = err;
    }
  }
  throw withRequirement(lastError, rule);
}

/** A grant refusal (PERMISSION_DENIED invalid_scope / invalid_target) with the rule's requirement attached. */
function withRequirement(err: unknown, rule: BearerRule): unknown {
  const required = { scopes: describeRequiredScopes(rule), audience: rule.audience };
  if (err instanceof InvalidScopeError && err.grpcCode === GrpcCode.PERMISSION_DENIED) return new InvalidScopeError(err.message, { required });
  if (err instanceof InvalidTargetError && err.grpcCode === GrpcCode.PERMISSION_DENIED) return new InvalidTargetError(err.message, { required });
  return err;
}
