export { scopesSatisfy, leastPrivilegeScopes, scopeAlternatives, describeRequiredScopes, type ResolvedAuthRule, type RuleSource } from "./auth-rule.js";
export { findAuthRule, authRulesOf, AuthRuleError, PUBLIC_SERVICES } from "./read-auth-rules.js";
export { rulesByPath, servicesFromDescriptorSet, type RulesByPath } from "./rules-by-path.js";
