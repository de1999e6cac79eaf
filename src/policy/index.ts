export { scopesSatisfy, leastPrivilegeScopes, describeRequiredScopes, type ResolvedAuthRule, type RuleSource } from "./auth-rule.js";
export { findAuthRule, authRulesOf, AuthRuleError, PUBLIC_SERVICES } from "./read-auth-rules.js";
